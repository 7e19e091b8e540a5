"""The request page offers only what the state and the viewer's role allow, asked of the rule that refuses it."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from requests_app import review
from requests_app.models import Status
from tests.review_fixtures import awaiting, finished_run
from tests.test_review_actions import act, page_messages


def offered(client, request) -> set[str]:
    """The actions the request page offers: its action links, and the "Take it" button."""
    body = client.get(reverse("admin:requests_app_unblockrequest_change", args=[request.pk])).content.decode()
    names = set(re.findall(r'data-action="(\w+)"', body))
    if re.search(r"<button[^>]*>Take it</button>", body):
        names.add("take")
    return names


def test_after_a_first_of_two_approvals_the_same_reviewer_is_not_offered_approve(
    client, reviewer, second_reviewer, marketing_request
):
    client.force_login(reviewer)
    assert "approve" in offered(client, marketing_request)
    response = act(client, marketing_request, "approve", note="looks fine")
    assert "a second reviewer must approve too" in page_messages(response)

    assert "approve" not in offered(client, marketing_request)
    page = client.get(reverse("admin:requests_app_unblockrequest_review", args=[marketing_request.pk, "approve"]))
    assert page.status_code == 409 and "You approved this request already" in page.content.decode()
    client.force_login(second_reviewer)
    assert "approve" in offered(client, marketing_request)


@pytest.mark.parametrize("decided", [Status.REJECTED, Status.WITHDRAWN])
def test_a_decided_request_offers_no_take_and_no_assign(client, reviewer, awaiting_request, decided):
    client.force_login(reviewer)
    act(client, awaiting_request, "reject" if decided == Status.REJECTED else "withdraw", text="no", note="asked")
    awaiting_request.refresh_from_db()
    assert awaiting_request.status == decided

    assert offered(client, awaiting_request) == set()
    assert (
        "Nothing is left to do on this request."
        in client.get(reverse("admin:requests_app_unblockrequest_change", args=[awaiting_request.pk])).content.decode()
    )
    with pytest.raises(review.ReviewConflict, match="there is nothing left to assign"):
        review.assign(awaiting_request.pk, reviewer, reviewer)


def test_an_open_request_offers_take_until_the_reviewer_has_it(client, reviewer, awaiting_request):
    client.force_login(reviewer)
    assert offered(client, awaiting_request) == {"take", "assign", "approve", "ask", "reject", "withdraw", "rerun"}
    act(client, awaiting_request, "take")
    assert "take" not in offered(client, awaiting_request)


def test_a_question_pending_offers_no_second_question(client, reviewer, awaiting_request):
    client.force_login(reviewer)
    act(client, awaiting_request, "ask", question="Which domains?")
    assert offered(client, awaiting_request) == {"take", "assign", "reject", "withdraw", "rerun"}


def test_an_approved_request_is_rejected_only_by_reversing_a_policy_decision(client, reviewer, awaiting_request):
    client.force_login(reviewer)
    act(client, awaiting_request, "approve")
    awaiting_request.refresh_from_db()
    assert offered(client, awaiting_request) == set()
    with pytest.raises(review.ReviewConflict, match="cannot be rejected"):
        review.reject(awaiting_request.pk, reviewer, expected_status=Status.APPROVED, reason=None, text="no")


def test_the_override_box_is_shown_to_a_superuser_only_when_a_verification_is_missing(
    client, admin_user, account, customer
):
    client.force_login(admin_user)
    unverified = awaiting(account, customer, verified=False)
    url = reverse("admin:requests_app_unblockrequest_review", args=[unverified.pk, "approve"])
    assert "Approve although a required verification is missing" in client.get(url).content.decode()

    account.record_verification("identity", None)
    account.record_verification("payment", None)
    assert "Approve although a required verification is missing" not in client.get(url).content.decode()


def test_a_reviewer_is_not_offered_approve_while_a_verification_is_missing(client, reviewer, account, customer):
    client.force_login(reviewer)
    unverified = awaiting(account, customer, verified=False)
    assert "approve" not in offered(client, unverified)


def test_decided_by_the_policy_reads_as_words_not_an_error_icon(client, reviewer, awaiting_request):
    client.force_login(reviewer)
    url = reverse("admin:requests_app_unblockrequest_change", args=[awaiting_request.pk])
    body = client.get(url).content.decode()
    assert "not decided yet" in body and "icon-no.svg" not in body
    review.approve(awaiting_request.pk, None, expected_status=Status.AWAITING_REVIEW, auto=True)
    assert "the automatic policy" in client.get(url).content.decode()


def test_the_admin_index_names_the_sign_in_apps_in_words(client, admin_user):
    client.force_login(admin_user)
    body = client.get(reverse("admin:index")).content.decode()
    for label in ("Sign-in lockouts", "Two-factor recovery codes", "Two-factor authenticator apps"):
        assert label in body
    for raw in (">Otp_Static<", ">Otp_Totp<", ">Axes<"):
        assert raw.lower() not in body.lower()


def test_the_customer_is_not_offered_a_rerun_before_the_interval(customer_client, awaiting_request, settings):
    settings.PORTAL_CHECK_RERUN_INTERVAL = 600
    finished_run(awaiting_request, ["pass"])
    url = reverse("request_detail", args=[awaiting_request.pk])
    body = customer_client.get(url).content.decode()
    assert re.search(r'data-role="rerun"\s+hidden', body)
    assert "you can re-run them in 10 minutes" in body
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        body = customer_client.get(url).content.decode()
    assert not re.search(r'data-role="rerun"\s+hidden', body)
    assert "you can re-run them in" not in body
