"""The load test's users, for Locust run headless as a subprocess (tests/test_load.py, bench/load.py).

Locust patches the process with gevent on import, so it never runs inside pytest. Input and output
are JSON files named by the environment:

- LOAD_DATA: what tests.harnesses.live_stack seeded (customers with their addresses and API tokens, reviewers,
  reporters' tokens); the first LOAD_FILERS customers file requests, the rest are the accounts the
  reporters report.
- LOAD_SECONDS and LOAD_AT_LEAST: the run stops once it has lasted LOAD_SECONDS and acknowledged at
  least so many of each kind of write (JSON, {"approved": 5}, say); `--run-time` at the latest.
- LOAD_OUT: written when Locust quits: every response's time and status per endpoint, and the writes
  the portal acknowledged (requests filed, approvals, abuse reports), for the test to find in the database.
"""

import itertools
import json
import os
import random
import re
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import gevent
from locust import HttpUser, between, events, task

DATA = json.loads(Path(os.environ["LOAD_DATA"]).read_text())
FILERS = int(os.environ.get("LOAD_FILERS", len(DATA["customers"])))
POLLS = int(os.environ.get("LOAD_POLLS", "4"))
PASSWORD = os.environ["LOAD_PASSWORD"]
SECONDS = float(os.environ.get("LOAD_SECONDS", "0"))
AT_LEAST = json.loads(os.environ.get("LOAD_AT_LEAST", "{}"))

_accounts = iter(DATA["customers"][:FILERS])  # each account files once: one open request per account
_reported = DATA["customers"][FILERS:]
_reviewers = iter(DATA["reviewers"])
_reporters = itertools.cycle(DATA.get("reporters") or [""])
_report_numbers = itertools.count()
_claimed: set[int] = set()  # requests a reviewer took: two reviewers never approve the same one

samples: dict[str, list[float]] = defaultdict(list)
statuses: dict[str, Counter] = defaultdict(Counter)
acknowledged = {"filed": [], "approved": [], "conflicts": [], "reports": []}
clock = {"start": None, "stop": None}

QUEUE_ROW = re.compile(r"/admin/requests_app/unblockrequest/(\d+)/change/")
DETAIL = re.compile(r"/requests/(\d+)/$")


@events.request.add_listener
def _record(request_type, name, response_time, response, exception, **kwargs) -> None:
    key = f"{request_type} {name}"
    samples[key].append(response_time)
    statuses[key][response.status_code if response is not None and not exception else 0] += 1


@events.test_start.add_listener
def _started(environment, **kwargs) -> None:
    clock["start"] = time.time()
    if SECONDS:
        gevent.spawn(_stop_when_enough, environment)


def _stop_when_enough(environment) -> None:
    gevent.sleep(SECONDS)
    while any(len(acknowledged[kind]) < count for kind, count in AT_LEAST.items()):
        gevent.sleep(0.5)
    environment.runner.quit()


@events.test_stop.add_listener
def _stopped(**kwargs) -> None:
    clock["stop"] = time.time()


@events.quitting.add_listener
def _write(**kwargs) -> None:
    out = {
        "clock": clock,
        "samples": samples,
        "statuses": {key: dict(counter) for key, counter in statuses.items()},
        **acknowledged,
    }
    Path(os.environ["LOAD_OUT"]).write_text(json.dumps(out))


def answers(ipv4: str) -> dict:
    return {
        "company_name": "Load Test Mail",
        "company_website": "https://www.acme-mail.example.org/",
        "sending_domain": "acme-mail.example.org",
        "daily_volume": 20,
        "use_case": "personal",
        "use_case_description": "Family mail server for five people.",
        "mail_software": "postfix",
        "mail_server_hostname": "mail.acme-mail.example.org",
        "mail_server_ip": ipv4,
        "threat_mitigation": "ClamAV on all mail, rspamd outbound, fail2ban on SASL.",
    }


class PortalUser(HttpUser):
    abstract = True

    def csrf(self) -> str:
        return self.client.cookies.get("csrftoken", "")

    def post_form(self, path: str, data: dict, name: str | None = None, **kwargs):
        data = {**data, "csrfmiddlewaretoken": self.csrf()}
        headers = {"Referer": self.host + path}
        return self.client.post(path, data=data, headers=headers, name=name or path, **kwargs)

    def sign_in(self, email: str, path: str) -> bool:
        self.client.get(path, name=path)
        response = self.post_form(path, {"username": email, "password": PASSWORD}, allow_redirects=False)
        return response.status_code == 302


class BrowserCustomer(PortalUser):
    """Signs in, opens the port-25 page, files a request with the form, watches its page and checks."""

    wait_time = between(0.3, 1.0)

    @task
    def file_by_form(self) -> None:
        customer = next(_accounts, None)
        if customer is None:
            self.client.get("/healthz", name="/healthz (accounts used up)")
            return
        self.client.cookies.clear()
        if not self.sign_in(customer["email"], "/accounts/login/"):
            return
        self.client.get("/", name="/ (port-25 page)")
        self.client.get("/requests/new/")
        fields = {**answers(customer["ips"][0]), "accept_aup": "on"}
        response = self.post_form("/requests/new/", fields, allow_redirects=False)
        found = DETAIL.search(response.headers.get("Location", ""))
        if response.status_code != 302 or not found:
            return
        request_id = int(found.group(1))
        acknowledged["filed"].append({"id": request_id, "account": customer["account"], "via": "form"})
        for _ in range(POLLS):
            time.sleep(random.uniform(0.4, 1.0))
            self.client.get(f"/requests/{request_id}/checks/", name="/requests/<id>/checks/")
        self.client.get(f"/requests/{request_id}/", name="/requests/<id>/")


class ApiCustomer(PortalUser):
    """A program with the customer's API token: status, file, poll."""

    wait_time = between(0.3, 1.0)

    @task
    def file_by_api(self) -> None:
        customer = next(_accounts, None)
        if customer is None:
            self.client.get("/healthz", name="/healthz (accounts used up)")
            return
        headers = {"Authorization": f"Token {customer['token']}"}
        self.client.get("/api/v1/port25/", headers=headers)
        response = self.client.post("/api/v1/requests/", json={**answers(customer["ips"][0]), "accept_aup": True},
                                    headers=headers)  # fmt: skip
        if response.status_code != 201:
            return
        request_id = response.json()["id"]
        acknowledged["filed"].append({"id": request_id, "account": customer["account"], "via": "api"})
        for _ in range(POLLS):
            time.sleep(random.uniform(0.4, 1.0))
            self.client.get(f"/api/v1/requests/{request_id}/", headers=headers, name="/api/v1/requests/<id>/")
            self.client.get("/api/v1/port25/", headers=headers)


class Reviewer(PortalUser):
    """Works the admin's review queue: list, open the oldest request nobody took, approve it."""

    fixed_count = 2
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.email = next(_reviewers)
        self.signed_in = self.sign_in(self.email, "/admin/login/") and self.second_factor()

    def second_factor(self) -> bool:
        """A recovery code seeded for this reviewer (the last one: the harness uses them from the first)."""
        self.client.get("/admin/two-factor/", name="/admin/two-factor/")
        code = DATA["staff_codes"][self.email][-1]
        response = self.post_form("/admin/two-factor/", {"code": code, "next": "/admin/"}, allow_redirects=False)
        return response.status_code == 302

    @task
    def review(self) -> None:
        if not self.signed_in:
            return
        queue = self.client.get("/admin/requests_app/unblockrequest/", name="/admin/…/unblockrequest/ (queue)")
        waiting = [int(pk) for pk in dict.fromkeys(QUEUE_ROW.findall(queue.text)) if int(pk) not in _claimed]
        if not waiting:
            return
        request_id = waiting[0]
        _claimed.add(request_id)
        page = f"/admin/requests_app/unblockrequest/{request_id}/change/"
        self.client.get(page, name="/admin/…/unblockrequest/<id>/change/ (review page)")
        # The browser follows the redirect back to the page, which shows what happened.
        response = self.post_form(
            f"/admin/requests_app/unblockrequest/{request_id}/review/approve/",
            {"expected_status": "awaiting_review", "note": ""},
            name="/admin/…/<id>/review/approve/ (+ redirect)",
        )
        if response.status_code == 200 and "port 25 is being opened" in response.text:
            acknowledged["approved"].append(request_id)
        else:
            acknowledged["conflicts"].append(request_id)


class Reporter(PortalUser):
    """A feedback loop posting complaints (JSON) about the other accounts' addresses."""

    fixed_count = 1
    wait_time = between(0.1, 0.4)

    @task
    def report(self) -> None:
        if not _reported:
            return
        number = next(_report_numbers)
        target = _reported[number % len(_reported)]
        body = {
            "source_ip": random.choice(target["ips"]),
            "category": "spam",
            "time": datetime.now(UTC).isoformat(),
            "reference": f"load-{os.getpid()}-{number}",
            "evidence": {"text": f"Complaint number {number} from the load test."},
        }
        response = self.client.post("/api/v1/abuse/reports/", json=body,
                                    headers={"Authorization": f"Bearer {next(_reporters)}"})  # fmt: skip
        if response.status_code == 202 and response.json().get("report"):
            acknowledged["reports"].append({"id": response.json()["report"], "source_ip": body["source_ip"]})
