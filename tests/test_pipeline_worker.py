"""The whole pipeline on a real Celery worker, with PostgreSQL and Redis (run by scripts/test)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from requests_app.check_flow import subject_key
from requests_app.models import Status, UnblockRequest
from requests_app.services import submit_request
from tests.conftest import answers
from tests.harnesses.live_services import log_tail, wait_for
from tests.parts import first_missing, missing, need_postgres, need_redis
from tests.smtp_servers import LOCAL_DOMAIN, SERVER_NAME, ClosedRelay, smtp_server
from verification.models import CheckRun, ResultStatus

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    missing(first_missing(need_redis(), need_postgres("a database the worker shares"))),
    pytest.mark.usefixtures("checks_env"),
]


def _database_url() -> str:
    db = connection.settings_dict
    user, password = quote(db["USER"], safe=""), quote(db["PASSWORD"], safe="")
    return f"postgres://{user}:{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture
def worker(tmp_path, settings, check_zone):
    """A `celery -A portal worker` subprocess on the test database; yields a function setting nothing else."""
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "PORTAL_BROKER_URL": os.environ.get("PORTAL_BROKER_URL", os.environ["PORTAL_REDIS_URL"]),
        "PORTAL_TASKS_EAGER": "false",
        "PORTAL_DNS_NAMESERVERS": check_zone.nameserver,
        "PORTAL_DNS_TIMEOUT": "1",
        "PORTAL_CHECK_ALLOW_NETWORKS": "127.0.0.0/8",
        "PORTAL_DNSBL_ZONES": "zen.spamhaus.org,bl.spamcop.net",
        "PORTAL_DOMAIN_BLOCKLIST_ZONES": "dbl.spamhaus.org,multi.uribl.com",
        "PORTAL_SMTP_PROBE_PORT": str(settings.PORTAL_SMTP_PROBE_PORT),
        "PORTAL_SMTP_PROBE_TIMEOUT": "1",
        "PORTAL_SMTP_PROBE_DEADLINE": "5",
        "PORTAL_HTTP_TIMEOUT": "1",
        "PORTAL_CHECK_TIMEOUT": "8",
        "PORTAL_LOG_LEVEL": "INFO",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo", "--purge",
         "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel=INFO"],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while "ready." not in log.read_text() and time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        time.sleep(0.1)
    assert "ready." in log.read_text(), log.read_text()
    yield log
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.mark.django_db(transaction=True)
def test_a_submitted_request_is_checked_on_the_worker_and_queued_for_review(settings, account, customer, request):
    with smtp_server(ClosedRelay()) as port:
        settings.PORTAL_SMTP_PROBE_PORT = port
        log = request.getfixturevalue("worker")
        unblock_request = submit_request(
            account,
            customer,
            answers(
                mail_server_ip="127.0.0.1",
                mail_server_hostname=SERVER_NAME,
                sending_domain=LOCAL_DOMAIN,
                company_website=f"https://www.{LOCAL_DOMAIN}/",
            ),
        )
        wait_for(
            lambda: UnblockRequest.objects.get(pk=unblock_request.pk).status == Status.AWAITING_REVIEW,
            60,
            log_tail(log),
        )
    run = CheckRun.objects.get(subject=subject_key(unblock_request.pk))
    assert run.is_finished and run.attempts == 1
    results = {r.check_name: r for r in run.results.all()}
    assert results["relay_probe"].evidence["verdict"] == "closed"
    assert results["domain_auth"].status == ResultStatus.PASS
    assert all(r.is_decided and r.duration_ms is not None for r in results.values())
    assert [e.to_status for e in unblock_request.events.all()] == [
        Status.SUBMITTED,
        Status.CHECKING,
        Status.AWAITING_REVIEW,
    ]
