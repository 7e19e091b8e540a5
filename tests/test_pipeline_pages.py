"""What the customer sees of the checks: the page, its JSON progress, re-running, the API."""

import pytest
from django.urls import reverse

from requests_app import check_flow
from requests_app.models import Status
from requests_app.services import submit_request
from tests.conftest import answers
from verification import services
from verification.models import CheckRun, ResultStatus
from verification.outcome import Outcome, Verdict

pytestmark = pytest.mark.usefixtures("checks_env")


@pytest.fixture
def checked_request(account, customer):
    """A request whose checks ran: the relay probe failed, the others passed."""
    request = submit_request(account, customer, answers())
    run = check_flow.start_checks(request, CheckRun.Trigger.SUBMITTED, None)
    for result in run.results.all():
        verdict = Verdict.FAIL if result.check_name == "relay_probe" else Verdict.PASS
        services.record_result(run, result.check_name, Outcome(verdict, f"{result.check_name} said so", {"n": 1}), 7)
    check_flow.finish(run, request.pk)
    request.refresh_from_db()
    return request


def test_detail_page_lists_each_check_with_its_summary(customer_client, checked_request):
    body = customer_client.get(reverse("request_detail", args=[checked_request.pk])).content.decode()
    assert 'data-testid="checks"' in body
    assert "Open relay test of your mail server" in body
    assert "relay_probe said so" in body
    assert "6 of 6 checks done" in body
    assert 'src="/static/js/check_progress.js"' in body
    assert "<script>" not in body  # no inline script: a CSP comes later
    assert 'data-role="rerun"' in body and "Re-run the checks" in body


def test_progress_endpoint_shows_each_result(customer_client, checked_request, settings):
    settings.PORTAL_CHECK_RERUN_INTERVAL = 0  # the wait after a run: tests/test_review_buttons.py
    response = customer_client.get(reverse("request_checks", args=[checked_request.pk]))
    data = response.json()
    assert data["status"] == Status.AWAITING_REVIEW
    assert data["can_rerun"] is True
    assert data["run"]["finished"] is True
    assert (data["run"]["done"], data["run"]["total"]) == (6, 6)
    relay = data["run"]["checks"][0]
    assert relay["name"] == "relay_probe"
    assert (relay["status"], relay["status_label"], relay["summary"]) == ("fail", "Failed", "relay_probe said so")


def test_progress_while_waiting(customer_client, account, customer):
    request = submit_request(account, customer, answers())
    run = check_flow.start_checks(request, CheckRun.Trigger.SUBMITTED, None)
    services.mark_running(run, ["relay_probe"])
    data = customer_client.get(reverse("request_checks", args=[request.pk])).json()
    assert data["status"] == Status.CHECKING
    assert data["run"]["done"] == 0
    assert data["run"]["checks"][0]["status"] == ResultStatus.RUNNING
    assert data["can_rerun"] is False


def test_other_accounts_get_404(client, other_customer, checked_request):
    client.force_login(other_customer)
    assert client.get(reverse("request_checks", args=[checked_request.pk])).status_code == 404
    assert client.post(reverse("request_rerun_checks", args=[checked_request.pk])).status_code == 404


def test_progress_needs_a_login(client, checked_request):
    response = client.get(reverse("request_checks", args=[checked_request.pk]))
    assert response.status_code == 302


def test_rerun_starts_a_new_run_once_per_interval(customer_client, checked_request, django_capture_on_commit_callbacks):
    url = reverse("request_rerun_checks", args=[checked_request.pk])
    CheckRun.objects.update(created_at=CheckRun.objects.get().created_at.replace(year=2020))
    with django_capture_on_commit_callbacks() as callbacks:
        customer_client.post(url)
    checked_request.refresh_from_db()
    assert checked_request.status == Status.CHECKING
    assert CheckRun.objects.count() == 2
    assert CheckRun.objects.first().trigger == CheckRun.Trigger.RERUN
    assert len(callbacks) == 1
    check_flow.finish(CheckRun.objects.first(), checked_request.pk)
    response = customer_client.post(url, follow=True)
    assert "you can re-run them in 5 minutes" in response.content.decode()
    assert CheckRun.objects.count() == 2


def test_rerun_is_refused_while_checking(customer_client, account, customer):
    request = submit_request(account, customer, answers())
    check_flow.start_checks(request, CheckRun.Trigger.SUBMITTED, None)
    response = customer_client.post(reverse("request_rerun_checks", args=[request.pk]), follow=True)
    assert "once they have finished" in response.content.decode()
    assert CheckRun.objects.count() == 1


def test_rerun_needs_post(customer_client, checked_request):
    assert customer_client.get(reverse("request_rerun_checks", args=[checked_request.pk])).status_code == 405


def test_api_exposes_the_checks_read_only(api_client, checked_request):
    data = api_client.get(f"/api/v1/requests/{checked_request.pk}/").json()
    assert data["checks"]["finished"] is True
    assert data["checks"]["checks"][0] == {
        "name": "relay_probe",
        "label": "Open relay test of your mail server",
        "status": "fail",
        "status_label": "Failed",
        "summary": "relay_probe said so",
        "evidence": {"n": 1},
        "duration_ms": 7,
    }


def test_api_shows_null_before_the_checks(api_client, account, customer):
    request = submit_request(account, customer, answers())
    assert api_client.get(f"/api/v1/requests/{request.pk}/").json()["checks"] is None
