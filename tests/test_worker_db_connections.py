"""A Celery worker keeps its database connection from task to task, as a web process does from
request to request, and a connection the server dropped is replaced before a task uses it."""

import uuid
from datetime import datetime

import pytest
from django.db import connection
from django.utils import timezone

from abuse.models import AbuseReport, Category, Channel
from portal.celery import app
from tests.live_services import log_tail, wait_for
from tests.parts import first_missing, missing, need_postgres, need_redis
from tests.test_abuse_worker import celery_worker, worker_env

pytestmark = [
    missing(first_missing(need_redis(), need_postgres("a database the worker shares"))),
    pytest.mark.django_db(transaction=True),
]


def taken_in_by_the_worker(log) -> AbuseReport:
    """A report waiting for the worker, and the worker's take-in of it, matched: a task that used the database."""
    report = AbuseReport.objects.create(
        channel=Channel.JSON,
        fingerprint=uuid.uuid4().hex,
        category=Category.SPAM,
        source_ip="192.0.2.7",  # reserved: never matched to an account, only marked as taken in
        occurred_at=timezone.now(),
        raw=b"{}",
    )
    app.send_task("abuse.tasks.take_in_reports")
    wait_for(lambda: AbuseReport.objects.filter(pk=report.pk, matched_at__isnull=False).exists(), 30, log_tail(log))
    return report


def worker_backends() -> list[tuple[int, datetime]]:
    """(pid, start) of the server's backends for this database other than this test's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, backend_start FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        return cursor.fetchall()


def server_now() -> datetime:
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        return cursor.fetchone()[0]


def test_a_worker_keeps_its_connection_and_replaces_one_the_server_dropped(tmp_path):
    with celery_worker(tmp_path / "worker.log", worker_env(), "--concurrency=1") as log:
        taken_in_by_the_worker(log)
        before_second_task = server_now()
        taken_in_by_the_worker(log)

        # The second task ran on the connection the first one opened (one process, tasks in turn).
        [(pid, started)] = worker_backends()
        assert started < before_second_task

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        wait_for(lambda: pid not in dict(worker_backends()), 10)
        taken_in_by_the_worker(log)  # checked before use, the dropped connection is replaced: no task fails

        [(replacement, _started)] = worker_backends()
        assert replacement != pid
        assert "OperationalError" not in log.read_text(errors="replace")
