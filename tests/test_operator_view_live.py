"""The operator's view of the live stack (tests/harnesses/live_stack.py: gunicorn, Celery workers with beat,
PostgreSQL, Redis), scraped by a real Prometheus (Debian's) on loopback with the shipped alert rules.

One deployment, in steps an operator would live through: customers file requests; a reviewer approves
two while the provider's firewall API is down (its changes pile up in the outbox, /readyz says the
target is not reconciled), then the API comes back; an abuse desk's feedback loop sends a burst of
spam-trap reports about one account; the worker stops. After each step PromQL through Prometheus's
HTTP API returns what happened. Then: every query of the Grafana dashboard runs, every alert rule evaluates without
error, the JSON log lines carry the request id into the tasks the request queued, and no token or
report body is in any log.
"""

import json
import re
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from tests.egress_support import API_TOKEN, FakeNetworkAPI
from tests.harnesses.fault_support import file_request, wait_until_reviewable
from tests.harnesses.live_services import Service, missing_for_stack, wait_for
from tests.harnesses.live_stack import Client, request_answers
from tests.loopback import free_port
from tests.parts import first_missing, missing, need_commands

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "deploy" / "prometheus" / "portal.rules.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "portal.json"

pytestmark = [
    missing(first_missing(missing_for_stack(), need_commands(["prometheus"], "Debian: prometheus"))),
    pytest.mark.slow,
]


class FirewallAPI(FakeNetworkAPI):
    """The provider's API, down (503 to everything) while `down` is set."""

    down = False

    def handle(self, method: str, path: str, headers, body: dict) -> tuple[int, dict]:
        if self.down:
            return 503, {"error": "down for maintenance"}
        return super().handle(method, path, headers, body)


class Prometheus:
    """Debian's Prometheus on a loopback port, scraping the portal every 2 s with the shipped rules."""

    def __init__(self, folder: Path, portal_port: int) -> None:
        self.port = free_port()
        config = folder / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 2s, scrape_timeout: 2s, evaluation_interval: 1s}\n"
            f"rule_files: ['{RULES}']\n"
            "scrape_configs:\n"
            "  - job_name: portal\n"
            f"    static_configs: [{{targets: ['127.0.0.1:{portal_port}']}}]\n"
        )
        argv = [shutil.which("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={folder / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}"]  # fmt: skip
        self.service = Service("prometheus", argv, {"PATH": "/usr/bin:/bin"}, folder / "prometheus.log")
        wait_for(self.ready, 60, self.service.output)

    def ready(self) -> bool:
        assert self.service.alive(), self.service.output()
        try:
            return requests.get(f"http://127.0.0.1:{self.port}/-/ready", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def api(self, path: str, **params) -> dict:
        answer = requests.get(f"http://127.0.0.1:{self.port}/api/v1/{path}", params=params, timeout=10).json()
        assert answer["status"] == "success", answer
        return answer["data"]

    def query(self, promql: str) -> dict[tuple, float]:
        """Instant query: {labels (sorted, without __name__): value}."""
        result = self.api("query", query=promql)["result"]
        return {
            tuple(sorted((k, v) for k, v in row["metric"].items() if k not in ("__name__", "instance", "job"))): float(
                row["value"][1]
            )
            for row in result
        }

    def value(self, promql: str) -> float | None:
        values = list(self.query(promql).values())
        assert len(values) <= 1, f"{promql}: {values}"
        return values[0] if values else None

    def until(self, promql: str, expected: float, explain, seconds: float = 90) -> None:
        wait_for(lambda: self.value(promql) == expected, seconds,
                 lambda: f"{promql} = {self.query(promql)}, expected {expected}\n{explain()}", step=0.5)  # fmt: skip


def spamtrap_report(ip: str, marker: str, n: int) -> dict:
    return {
        "source_ip": ip,
        "category": "spamtrap",
        "time": datetime.now(UTC).isoformat(),
        "reference": f"{marker}-{n}",
        "evidence": {"text": f"Trap hit {n}: {marker}"},
    }


def json_lines(log: Path) -> list[dict]:
    """The log's JSON lines (Celery's banner and gunicorn's own lines are plain text, printed outside logging)."""
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.startswith("{")]
    return [json.loads(line) for line in lines]  # each must parse


def test_prometheus_sees_filing_approval_a_firewall_outage_and_an_abuse_burst(deploy, tmp_path):
    api = FirewallAPI().start()
    targets = {
        "default": {"backend": "simulated"},
        "api": {"backend": "http", "url": api.url, "token": API_TOKEN, "timeout": 1},
    }
    portal = deploy(
        "operator",
        PORTAL_EGRESS_TARGETS=json.dumps(targets),
        PORTAL_EGRESS_RECONCILE_SECONDS="1",
        PORTAL_READY_RECONCILE_AGE="4",
        PORTAL_LOG_FORMAT="json",
        PORTAL_METRICS_INSPECT_TIMEOUT="0.3",
    )
    prometheus = None
    try:
        with portal.starting():
            portal.start_web(workers=2, threads=4)
            worker = portal.start_worker("worker")
            prometheus = Prometheus(tmp_path, portal.web_port)
            data = portal.seed(customers=3, reviewers=1, reporters=1)
        customers = data["customers"]

        def explain() -> str:
            return portal.output() + prometheus.service.output(2000)

        # Scraped, both queues consumed, the broker up, every target reconciled: ready.
        prometheus.until('up{job="portal"}', 1, explain)
        prometheus.until("min(portal_celery_queue_consumers)", 1, explain)
        assert prometheus.value("portal_broker_up") == 1
        wait_for(lambda: requests.get(portal.url + "/readyz", timeout=5).status_code == 200, 30, explain)

        # --- customers file: the requests reach the review queue, their checks are counted ---------------
        filing_id = f"filing-{uuid.uuid4().hex[:12]}"
        first = Client(portal.url, token=customers[0]["token"]).post(
            "/api/v1/requests/", json=request_answers(customers[0]["ips"][0]), headers={"X-Request-ID": filing_id}
        )
        assert first.status_code == 201 and first.headers["X-Request-ID"] == filing_id, first.text[:500]
        ids = [first.json()["id"], *(file_request(portal, c) for c in customers[1:])]
        wait_until_reviewable(portal, ids)
        prometheus.until('portal_unblock_requests{status="awaiting_review"}', 3, explain)
        finished = portal.scalar(
            "SELECT count(*) FROM verification_checkresult WHERE status NOT IN ('pending', 'running')"
        )
        timed = portal.scalar("SELECT count(*) FROM verification_checkresult WHERE duration_ms IS NOT NULL")
        assert finished >= 3 and timed >= 3
        prometheus.until("sum(portal_check_results_total)", finished, explain)
        prometheus.until("sum(portal_check_duration_seconds_count)", timed, explain)
        assert prometheus.value("portal_review_queue_oldest_age_seconds") > 0

        # --- two approvals while the firewall API is down -------------------------------------------------
        api.down = True
        reviewer = Client(portal.url)
        reviewer.login(data["reviewers"][0], admin=True)
        approval_id = f"approval-{uuid.uuid4().hex[:12]}"
        reviewer.http.headers["X-Request-ID"] = approval_id
        for request_id in ids[:2]:
            answer = reviewer.approve(request_id)
            assert answer.status_code == 302, answer.text[-3000:]
        prometheus.until('portal_egress_outbox_pending{target="api"}', 2, explain)
        prometheus.until('portal_egress_outbox_pending{target="default"}', 0, explain)
        wait_for(lambda: prometheus.value('portal_egress_apply_failures_total{target="api"}') >= 2, 60, explain)
        assert prometheus.value('portal_egress_outbox_oldest_age_seconds{target="api"}') > 0
        assert prometheus.value('portal_review_decisions_total{decision="approved",auto="false"}') == 2
        prometheus.until('portal_egress_reconcile_error{target="api"}', 1, explain)
        not_ready = wait_for(lambda: _unready(portal), 30, explain)
        assert any("enforcement target api" in problem for problem in not_ready["problems"]), not_ready

        # ... then back: the outbox drains, the target is reconciled again, the portal ready.
        api.down = False
        prometheus.until('portal_egress_outbox_pending{target="api"}', 0, explain)
        prometheus.until('portal_egress_reconcile_error{target="api"}', 0, explain)
        assert prometheus.value('time() - portal_egress_last_reconcile_timestamp_seconds{target="api"}') < 30
        wait_for(lambda: requests.get(portal.url + "/readyz", timeout=5).status_code == 200, 30, explain)
        wait_for(lambda: set(customers[0]["ips"]) | set(customers[1]["ips"]) <= api.allowed, 30, explain)

        # --- an abuse burst about the first account: one revocation, every report counted ---------------
        marker = f"REPORT-BODY-{uuid.uuid4().hex}"
        loop = Client(portal.url)
        loop.http.headers["Authorization"] = f"Bearer {data['reporters'][0]}"
        for n in range(6):
            # Its IPv6 address: 2001:db8::/32 counts as public for reports (127/8 is never anyone's).
            answer = loop.post("/api/v1/abuse/reports/", json=spamtrap_report(customers[0]["ips"][1], marker, n))
            assert answer.status_code == 202, answer.text[:500]
        prometheus.until('portal_abuse_reports_total{source="json",status="accepted"}', 6, explain)
        prometheus.until('portal_revocations_total{source="abuse"}', 1, explain)
        prometheus.until("portal_abuse_time_to_revoke_seconds_count", 1, explain)
        assert prometheus.value("portal_abuse_time_to_revoke_seconds_sum") < 60
        prometheus.until("portal_abuse_reports_waiting", 0, explain)
        prometheus.until("sum(portal_egress_outbox_pending)", 0, explain)
        wait_for(lambda: not set(customers[0]["ips"]) & api.allowed, 30, explain)

        # --- the dashboard's queries and the alert rules run on what Prometheus holds ---------------------
        panels = json.loads(DASHBOARD.read_text())["panels"]
        for target in (t for panel in panels for t in panel.get("targets", [])):
            prometheus.api("query", query=target["expr"])  # a query Prometheus refuses fails here
        wait_for(lambda: _rules_evaluated(prometheus), 30, explain)
        bad = [(r["name"], r.get("lastError")) for r in _rules(prometheus) if r["health"] != "ok"]
        assert bad == []

        # --- the worker goes away: no consumer on either queue, and what is queued waits in Redis ---------
        worker.stop()
        prometheus.until("max(portal_celery_queue_consumers)", 0, explain)
        answer = loop.post("/api/v1/abuse/reports/", json=spamtrap_report(customers[1]["ips"][1], marker, 99))
        assert answer.status_code == 202, answer.text[:500]
        wait_for(lambda: (prometheus.value('portal_celery_queue_length{queue="celery"}') or 0) >= 1, 60, explain)
        web_log, worker_log = portal.web.log, worker.log
    finally:
        if prometheus is not None:
            prometheus.service.stop()
        api.stop()

    # --- the logs: JSON lines, the request id carried into the tasks, nothing secret -------------------
    filed = [line for line in json_lines(worker_log) if line.get("request_id") == filing_id]
    assert any(line.get("task") == "requests_app.tasks.run_request_checks" and line.get("task_id")
               and line.get("unblock_request") == str(ids[0]) for line in filed), json.dumps(filed)  # fmt: skip
    approved = [line for line in json_lines(worker_log) if line.get("request_id") == approval_id]
    assert {line.get("target") for line in approved if line.get("task") == "egress.tasks.apply_changes"} >= {
        "default",
        "api",
    }, approved
    Client(portal.url).get("/no-such-page/", headers={"X-Request-ID": "lost-visitor"})
    wait_for(lambda: any(line.get("request_id") == "lost-visitor" for line in json_lines(web_log)), 10, explain)
    secrets = [c["token"] for c in customers] + data["reporters"] + [marker, API_TOKEN]
    for log in portal.folder.glob("*.log"):
        text = log.read_text(errors="replace")
        leaked = [secret for secret in secrets if secret in text]
        assert leaked == [], f"{log.name} holds {leaked}"
    assert re.search(r'"level": "INFO"', worker_log.read_text())


def _unready(portal) -> dict | None:
    answer = requests.get(portal.url + "/readyz", timeout=5)
    return answer.json() if answer.status_code == 503 else None


def _rules(prometheus: Prometheus) -> list[dict]:
    return [rule for group in prometheus.api("rules")["groups"] for rule in group["rules"]]


def _rules_evaluated(prometheus: Prometheus) -> bool:
    """Every alert of the rules file loaded, and each evaluated at least once."""
    rules = _rules(prometheus)
    shipped = len(re.findall(r"^\s*- alert: ", RULES.read_text(), re.MULTILINE))
    return len(rules) == shipped and all(rule.get("lastEvaluation", "").startswith("20") for rule in rules)
