"""Checks run on a queue of their own: two requests whose mail servers hold the relay probe (a tarpit)
occupy the checks worker's two slots, and a spam-trap report still revokes at once, on the worker
that takes in reports (issue 23, finding 4: it took 101.9 s instead of 1.2-1.4 s). Real Celery
workers as docker-compose.yml runs them, on PostgreSQL and Redis as scripts/test starts them."""

import socket
import threading

import pytest
from rest_framework.test import APIClient

from egress.models import EgressSource, EgressState
from egress.services import set_desired_state
from requests_app.services import submit_request
from tests.abuse_samples import report_json, reporter_with_token
from tests.conftest import CUSTOMER_IPS, answers, make_customer
from tests.harnesses.celery_workers import TARGETS, celery_workers, worker_env
from tests.harnesses.live_services import log_tail, wait_for
from tests.parts import first_missing, missing, need_postgres, need_redis
from tests.smtp_servers import LOCAL_DOMAIN, SERVER_NAME, raw_server
from tests.test_abuse_worker import allowed
from verification.models import CheckResult, ResultStatus

pytestmark = [
    missing(first_missing(need_redis(), need_postgres("a database the workers share"))),
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("checks_env"),
]
HOLD_SECONDS = 90  # how long the tarpit holds a probe: far beyond the revocation's bound
REVOKED_WITHIN = 20


class Tarpit:
    """Greets, then answers nothing until `release` is set; `held` counts the probes it holds now."""

    def __init__(self) -> None:
        self.held = 0
        self.lock = threading.Lock()
        self.release = threading.Event()

    def __call__(self, connection: socket.socket, stop: threading.Event) -> None:
        with self.lock:
            self.held += 1
        try:
            connection.sendall(f"220 {SERVER_NAME} ESMTP\r\n".encode())
            self.release.wait(HOLD_SECONDS)
        finally:
            with self.lock:
                self.held -= 1


def checks_env_for_workers(check_zone, port: int) -> dict[str, str]:
    return {
        **worker_env(),
        "PORTAL_DNS_NAMESERVERS": check_zone.nameserver,
        "PORTAL_DNS_TIMEOUT": "1",
        "PORTAL_CHECK_ALLOW_NETWORKS": "127.0.0.0/8",
        "PORTAL_DNSBL_ZONES": "zen.spamhaus.org",
        "PORTAL_DOMAIN_BLOCKLIST_ZONES": "dbl.spamhaus.org",
        "PORTAL_SMTP_PROBE_PORT": str(port),
        "PORTAL_SMTP_PROBE_TIMEOUT": str(HOLD_SECONDS * 2),
        "PORTAL_SMTP_PROBE_DEADLINE": str(HOLD_SECONDS * 2),
        "PORTAL_CHECK_TIMEOUT": str(HOLD_SECONDS * 2),
        "PORTAL_HTTP_TIMEOUT": "1",
    }


def test_two_tarpitted_check_runs_do_not_delay_a_revocation(tmp_path, settings, check_zone, customer_networks_allowed):
    settings.PORTAL_EGRESS_TARGETS = TARGETS
    tarpit = Tarpit()
    with raw_server(tarpit) as port:
        env = checks_env_for_workers(check_zone, port)
        beat = ["--beat", "--schedule", str(tmp_path / "beat-schedule")]
        with celery_workers(
            (tmp_path / "checks.log", env, ("-Q", "checks", "--hostname", "checks@%h")),
            (tmp_path / "abuse.log", env, ("-Q", "celery,egress", *beat, "--hostname", "abuse@%h")),
        ) as (checks_log, log):
            try:
                revoke_while_two_checks_are_held(tarpit, log, checks_log)
            finally:
                tarpit.release.set()  # the checks end, and their worker can stop


def revoke_while_two_checks_are_held(tarpit: Tarpit, log, checks_log) -> None:
    victim = make_customer("spam@victim.test", "Victim", "vm-victim-1", CUSTOMER_IPS).membership.account
    set_desired_state(victim, EgressState.ALLOWED, source=EgressSource.REQUEST, reason="Request #1 approved.")
    wait_for(lambda: allowed() == set(CUSTOMER_IPS), 30, log_tail(log))
    for n in (1, 2):
        user = make_customer(f"c{n}@tarpit.test", f"Tarpit {n}", f"vm-tarpit-{n}", [f"203.0.113.{20 + n}"])
        details = answers(mail_server_ip="127.0.0.1", mail_server_hostname=SERVER_NAME)
        submit_request(user.membership.account, user, {**details, "sending_domain": LOCAL_DOMAIN})
    wait_for(lambda: tarpit.held == 2, 30, log_tail(checks_log))

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {reporter_with_token()[1]}")
    answer = api.post("/api/v1/abuse/reports/", report_json(category="spamtrap"), format="json")
    assert answer.status_code == 202
    wait_for(lambda: not allowed(), REVOKED_WITHIN, log_tail(log))

    assert tarpit.held == 2, "the revocation came while both probes were still held"
    probes = CheckResult.objects.filter(check_name="relay_probe")
    assert list(probes.values_list("status", flat=True)) == [ResultStatus.RUNNING] * 2
