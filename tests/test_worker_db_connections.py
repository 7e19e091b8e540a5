"""A Celery worker keeps its database connection from task to task, as a web process does from
request to request, and a connection the server dropped is replaced before a task uses it."""

import uuid
from datetime import datetime
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from abuse.models import AbuseReport, Category, Channel
from portal.celery import app
from tests.harnesses.celery_workers import celery_worker, worker_env
from tests.harnesses.live_services import log_tail, wait_for
from tests.parts import first_missing, missing, need_postgres, need_redis

APPLICATION = "worker-under-test"  # how the server names the worker's connections

pytestmark = [
    missing(first_missing(need_redis(), need_postgres("a database the worker shares"))),
    pytest.mark.django_db(transaction=True),
]


def take_in_by_the_worker(log: Path) -> None:
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


def worker_backends() -> list[tuple[int, datetime]]:
    """(pid, start) of the server's backends serving the worker."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid, backend_start FROM pg_stat_activity WHERE application_name = %s", [APPLICATION])
        return cursor.fetchall()


def named_worker_env() -> dict[str, str]:
    """worker_env(), its database connections named APPLICATION (a libpq parameter in DATABASE_URL)."""
    env = worker_env()
    separator = "&" if "?" in env["DATABASE_URL"] else "?"
    return {**env, "DATABASE_URL": f"{env['DATABASE_URL']}{separator}application_name={APPLICATION}"}


def server_now() -> datetime:
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        return cursor.fetchone()[0]


def test_a_worker_keeps_its_connection_and_replaces_one_the_server_dropped(tmp_path):
    with celery_worker(tmp_path / "worker.log", named_worker_env(), "--concurrency=1") as log:
        take_in_by_the_worker(log)
        before_second_task = server_now()
        take_in_by_the_worker(log)

        # The second task ran on the connection the first one opened (one process, tasks in turn).
        [(pid, started)] = worker_backends()
        assert started < before_second_task

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        wait_for(lambda: pid not in dict(worker_backends()), 10)
        take_in_by_the_worker(log)  # checked before use, the dropped connection is replaced: no task fails

        [(replacement, _started)] = worker_backends()
        assert replacement != pid
        assert "OperationalError" not in log.read_text(errors="replace")
