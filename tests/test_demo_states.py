"""The demo fills the staff side: a request in each state with its checks, conversation and traffic,
and an account revoked after abuse, so the queue, the request page and the abuse desk show content."""

import pytest
from django.core.management import call_command
from django.test import Client

from abuse.management.commands.seed_demo_abuse import REVOKED_EMAIL
from abuse.models import Revocation
from accounts.management.commands.seed_demo import REVIEWER_EMAIL
from accounts.models import User
from egress.models import AccountEgress, EgressState, TrafficCount
from requests_app.management.commands.seed_demo_requests import DEMO_REQUESTS
from requests_app.models import Status, UnblockRequest
from verification.models import CheckRun

STATES = {"review": Status.AWAITING_REVIEW, "needs_info": Status.NEEDS_INFO, "approved": Status.APPROVED,
          "rejected": Status.REJECTED}  # fmt: skip


@pytest.fixture
def demo(db, settings, django_capture_on_commit_callbacks):
    settings.DEBUG = True
    settings.PORTAL_AUTO_APPROVE = False
    settings.PORTAL_CHECK_ALLOW_NETWORKS = ["203.0.113.0/24", "2001:db8::/32"]
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo")
        call_command("seed_demo_abuse")
        call_command("seed_demo_requests")
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo_requests")  # idempotent


def test_a_request_in_each_state_with_finished_checks(demo):
    for email, _name, _ip, _domain, state in DEMO_REQUESTS:
        request = UnblockRequest.objects.get(account__memberships__user__email=email)
        assert request.status == STATES[state]
        run = CheckRun.objects.get(subject=f"unblock_request:{request.pk}")
        assert run.is_finished and run.results.exclude(summary="").count() == run.results.count()
    assert UnblockRequest.objects.count() == len(DEMO_REQUESTS)
    approved = UnblockRequest.objects.get(status=Status.APPROVED)
    assert AccountEgress.objects.get(account=approved.account).desired == EgressState.ALLOWED
    assert TrafficCount.objects.filter(account=approved.account).count() == 30
    asked = UnblockRequest.objects.get(status=Status.NEEDS_INFO)
    assert asked.messages.filter(from_staff=True).exists()


def test_an_account_revoked_after_abuse(demo):
    revocation = Revocation.objects.get(account__memberships__user__email=REVOKED_EMAIL)
    assert revocation.is_open and "Spam-trap hit" in revocation.reason


def test_the_reviewer_sees_the_queue_and_a_request_page_full(demo):
    reviewer = Client()
    reviewer.force_login(User.objects.get(email=REVIEWER_EMAIL))
    queue = reviewer.get("/admin/requests_app/unblockrequest/").content.decode()
    assert "Lindqvist Consulting AB" in queue
    waiting = UnblockRequest.objects.get(status=Status.AWAITING_REVIEW)
    page = reviewer.get(f"/admin/requests_app/unblockrequest/{waiting.pk}/change/").content.decode()
    assert "refuses to relay" in page and "ends neutrally" in page
