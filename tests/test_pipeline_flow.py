"""The pipeline in-process: concurrency, per-check timeouts, idempotency, routing, recovery."""

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from requests_app import check_flow
from requests_app.models import Status, UnblockRequest
from requests_app.services import submit_request, withdraw_request
from tests.check_fixtures import make_subject
from tests.conftest import answers
from tests.smtp_servers import LOCAL_DOMAIN, SERVER_NAME, ClosedRelay, OpenRelay, smtp_server
from verification import pipeline, services
from verification.checks import Check
from verification.models import CheckRun, Recommendation
from verification.outcome import Outcome, Verdict

pytestmark = pytest.mark.usefixtures("checks_env")


def loopback_answers(**overrides) -> dict:
    return answers(
        mail_server_ip="127.0.0.1",
        mail_server_hostname=SERVER_NAME,
        sending_domain=LOCAL_DOMAIN,
        company_website=f"https://www.{LOCAL_DOMAIN}/",
        **overrides,
    )


@pytest.fixture
def file_request(account, customer):
    def file(**overrides) -> UnblockRequest:
        return submit_request(account, customer, loopback_answers(**overrides))

    return file


def latest(request: UnblockRequest) -> CheckRun:
    return CheckRun.objects.for_subject(check_flow.subject_key(request.pk)).first()


def test_submit_queues_the_checks_after_commit(file_request, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        request = file_request()
    assert len(callbacks) == 1
    assert request.status == Status.SUBMITTED  # the worker moves it on, not the web request


def test_checks_run_and_route_the_request_to_review(settings, file_request):
    request = file_request()
    with smtp_server(ClosedRelay()) as port:
        settings.PORTAL_SMTP_PROBE_PORT = port
        check_flow.process(request.pk)
    request.refresh_from_db()
    assert request.status == Status.AWAITING_REVIEW
    assert [e.to_status for e in request.events.all()] == [Status.SUBMITTED, Status.CHECKING, Status.AWAITING_REVIEW]
    run = latest(request)
    assert run.is_finished and run.attempts == 1
    statuses = {r.check_name: r.status for r in run.results.all()}
    assert set(statuses) == {
        "relay_probe",
        "reverse_dns",
        "ip_blocklists",
        "domain_blocklists",
        "domain_auth",
        "account_signals",
    }
    assert statuses["reverse_dns"] == statuses["domain_auth"] == statuses["ip_blocklists"] == Verdict.PASS
    assert statuses["account_signals"] == Verdict.WARN  # a brand-new, unverified account
    assert all(r.duration_ms is not None and r.summary for r in run.results.all())
    assert run.recommendation == Recommendation.REVIEW
    assert 0 < run.risk < 100


def test_open_relay_is_explained_to_the_customer(settings, file_request):
    request = file_request()
    with smtp_server(OpenRelay()) as port:
        settings.PORTAL_SMTP_PROBE_PORT = port
        check_flow.process(request.pk)
    request.refresh_from_db()
    assert request.status == Status.AWAITING_REVIEW
    last = request.events.last()
    assert "found something to fix: Open relay test of your mail server." in last.message
    assert "accepted mail from" not in last.message, "the check's sentence is on the page, not repeated"
    assert latest(request).recommendation == Recommendation.FIX


def test_checks_run_concurrently(settings, monkeypatch, db, account):
    """Three checks that can only finish together (each waits at a barrier for the other two)."""
    settings.PORTAL_CHECK_TIMEOUT = 60
    together = threading.Barrier(3)

    def meets_the_others(subject, deadline):
        together.wait(timeout=30)  # run one after the other, the first waits alone and breaks the barrier
        return Outcome(Verdict.PASS, "met")

    checks = [Check(name, name, meets_the_others) for name in ("one", "two", "three")]
    monkeypatch.setattr(pipeline, "BY_NAME", {c.name: c for c in checks})
    run = services.create_run("test:1", account, checks, trigger=CheckRun.Trigger.SUBMITTED, by=None)

    pipeline.execute(run, make_subject())

    assert {r.check_name: r.status for r in run.results.all()} == dict.fromkeys(("one", "two", "three"), Verdict.PASS)


def test_a_check_past_its_timeout_is_recorded_as_error_without_waiting_for_it(settings, monkeypatch, db, account):
    released, returned = threading.Event(), threading.Event()

    def stuck(subject, deadline):
        released.wait(timeout=60)  # until the test is done with it
        returned.set()
        return Outcome(Verdict.PASS, "too late")

    def quick(subject, deadline):
        return Outcome(Verdict.PASS, "fine")

    settings.PORTAL_CHECK_TIMEOUT = 0.3
    checks = [Check("stuck", "Stuck", stuck), Check("quick", "Quick", quick)]
    monkeypatch.setattr(pipeline, "BY_NAME", {c.name: c for c in checks})
    run = services.create_run("test:1", account, checks, trigger=CheckRun.Trigger.SUBMITTED, by=None)
    try:
        pipeline.execute(run, make_subject())
        assert not returned.is_set(), "the pipeline returned while the stuck check was still running"
    finally:
        released.set()
    results = {r.check_name: r for r in run.results.all()}
    assert results["quick"].status == Verdict.PASS
    assert results["stuck"].status == Verdict.ERROR
    assert "did not finish" in results["stuck"].summary


def test_running_twice_changes_nothing(settings, file_request):
    request = file_request()
    with smtp_server(ClosedRelay()) as port:
        settings.PORTAL_SMTP_PROBE_PORT = port
        check_flow.process(request.pk)
        check_flow.process(request.pk)
    assert CheckRun.objects.count() == 1
    assert request.events.count() == 3


def test_redelivery_resumes_only_undecided_checks(settings, file_request):
    request = file_request()
    check_flow.start_checks(request, CheckRun.Trigger.SUBMITTED, None)  # the first worker died right after this...
    run = latest(request)
    services.record_result(run, "reverse_dns", Outcome(Verdict.WARN, "from the first attempt"), 5)
    with smtp_server(ClosedRelay()) as port:
        settings.PORTAL_SMTP_PROBE_PORT = port
        check_flow.process(request.pk)  # ...and the message came back
    run.refresh_from_db()
    assert run.results.get(check_name="reverse_dns").summary == "from the first attempt"
    assert run.is_finished
    assert UnblockRequest.objects.get(pk=request.pk).status == Status.AWAITING_REVIEW


def test_withdrawn_meanwhile_stays_withdrawn(file_request, customer):
    request = file_request()
    check_flow.start_checks(request, CheckRun.Trigger.SUBMITTED, None)
    withdraw_request(request, customer)
    check_flow.finish(latest(request), request.pk)  # a worker finishing after the withdrawal
    check_flow.process(request.pk)
    request.refresh_from_db()
    assert request.status == Status.WITHDRAWN
    assert latest(request).is_finished


def test_a_run_that_keeps_killing_workers_is_given_up(settings, file_request):
    request = file_request()
    check_flow.start_checks(request, CheckRun.Trigger.SUBMITTED, None)
    CheckRun.objects.update(attempts=settings.PORTAL_CHECK_MAX_ATTEMPTS)
    check_flow.process(request.pk)
    request.refresh_from_db()
    assert request.status == Status.AWAITING_REVIEW
    assert {r.status for r in latest(request).results.all()} == {Verdict.ERROR}


def test_sweep_finds_requests_without_progress(settings, file_request, account, other_customer):
    lost = file_request()  # its message was lost: still submitted
    stalled = submit_request(other_customer.membership.account, other_customer, loopback_answers())
    check_flow.start_checks(stalled, CheckRun.Trigger.SUBMITTED, None)  # the worker died mid-run
    assert check_flow.stuck_requests() == []
    past = timezone.now() - timedelta(seconds=settings.PORTAL_CHECK_STUCK_AFTER + 5)
    UnblockRequest.objects.update(updated_at=past)
    CheckRun.objects.update(updated_at=past)
    assert sorted(check_flow.stuck_requests()) == sorted([lost.pk, stalled.pk])


def test_sweep_task_recovers_them(settings, file_request):
    from portal.celery import app
    from requests_app.tasks import sweep_stuck_checks

    request = file_request()
    UnblockRequest.objects.update(updated_at=timezone.now() - timedelta(hours=1))
    eager, app.conf.task_always_eager = app.conf.task_always_eager, True
    try:
        with smtp_server(ClosedRelay()) as port:
            settings.PORTAL_SMTP_PROBE_PORT = port
            assert sweep_stuck_checks() == 1
    finally:
        app.conf.task_always_eager = eager
    assert UnblockRequest.objects.get(pk=request.pk).status == Status.AWAITING_REVIEW


def test_unknown_request_is_ignored(db, django_assert_num_queries):
    with django_assert_num_queries(1):  # it looks the request up, finds none, and writes nothing
        check_flow.process(987654)
