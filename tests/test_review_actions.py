"""Reviewer buttons in the admin: each goes through the lifecycle, checks permission and what was seen."""

import re

import pytest
from django.core import mail
from django.test import TestCase
from django.urls import reverse

from egress.models import AccountEgress, EgressState
from requests_app.models import ReasonTemplate, RequestEvent, RequestMessage, Status
from tests.egress_support import eager_tasks
from tests.review_fixtures import awaiting


def act(client, request, action, **data):
    """Press a reviewer's button; what runs after commit (mail, egress apply) runs too."""
    url = reverse("admin:requests_app_unblockrequest_review", args=[request.pk, action])
    data.setdefault("expected_status", request.status)
    with eager_tasks(), TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(url, data, follow=True)


def page_messages(response) -> str:
    """What the reviewer is told: the admin's messages, and the errors of an action page shown again."""
    texts = [str(m) for m in response.context["messages"]]
    form = response.context.get("form")
    if form is not None:
        texts += [str(e) for errors in form.errors.values() for e in errors]
    return " ".join(texts)


def test_approval_opens_port_25_for_the_account_and_mails_the_customer(client, reviewer, awaiting_request):
    client.force_login(reviewer)
    response = act(client, awaiting_request, "approve", note="Welcome aboard")
    awaiting_request.refresh_from_db()
    assert awaiting_request.status == Status.APPROVED
    assert awaiting_request.decided_at is not None
    egress = AccountEgress.objects.get(account=awaiting_request.account)
    assert egress.desired == EgressState.ALLOWED
    assert egress.expected_daily_volume == awaiting_request.daily_volume, "for the traffic policy"
    assert "port 25 is being opened" in page_messages(response)
    assert len(mail.outbox) == 1 and "Port 25 is open" in mail.outbox[0].subject
    assert mail.outbox[0].to == ["alice@acme.test"]


def test_rejection_needs_a_reason_and_tells_the_customer(client, reviewer, awaiting_request):
    template = ReasonTemplate.objects.create(title="No SPF", text="Publish an SPF record for your domain.")
    client.force_login(reviewer)
    response = act(client, awaiting_request, "reject", reason="", text="")
    assert "Pick a reason" in page_messages(response)
    awaiting_request.refresh_from_db()
    assert awaiting_request.status == Status.AWAITING_REVIEW

    act(client, awaiting_request, "reject", reason=template.pk, text="Also fix your PTR.")
    awaiting_request.refresh_from_db()
    assert awaiting_request.status == Status.REJECTED
    assert awaiting_request.decision_reason == "Publish an SPF record for your domain.\n\nAlso fix your PTR."
    assert not AccountEgress.objects.filter(account=awaiting_request.account, desired=EgressState.ALLOWED).exists()
    assert "Publish an SPF record" in mail.outbox[0].body


def test_question_waits_on_the_customer_whose_answer_returns_it_to_the_queue(
    reviewer_client, customer_client, awaiting_request
):
    act(reviewer_client, awaiting_request, "ask", question="Which domain sends the newsletter?")
    awaiting_request.refresh_from_db()
    assert awaiting_request.status == Status.NEEDS_INFO
    assert "Which domain sends" in mail.outbox[0].body

    page = customer_client.get(reverse("request_detail", args=[awaiting_request.pk])).content.decode()
    assert "Which domain sends the newsletter?" in page and "Send your answer" in page
    customer_client.post(reverse("request_answer", args=[awaiting_request.pk]), {"answer": "news.example.net"})
    awaiting_request.refresh_from_db()
    assert awaiting_request.status == Status.AWAITING_REVIEW
    assert list(RequestMessage.objects.values_list("from_staff", "body")) == [
        (True, "Which domain sends the newsletter?"),
        (False, "news.example.net"),
    ]


def test_empty_answer_is_refused(customer_client, reviewer_client, awaiting_request):
    act(reviewer_client, awaiting_request, "ask", question="Why?")
    response = customer_client.post(reverse("request_answer", args=[awaiting_request.pk]), {"answer": ""}, follow=True)
    assert "Write your answer" in response.content.decode()
    awaiting_request.refresh_from_db()
    assert awaiting_request.status == Status.NEEDS_INFO


def test_answer_when_not_asked_is_refused(customer_client, awaiting_request):
    response = customer_client.post(
        reverse("request_answer", args=[awaiting_request.pk]), {"answer": "hello"}, follow=True
    )
    assert "not waiting for an answer" in response.content.decode()
    assert not RequestMessage.objects.exists()


def test_take_and_assign_are_recorded(client, reviewer, second_reviewer, awaiting_request):
    client.force_login(reviewer)
    act(client, awaiting_request, "take")
    awaiting_request.refresh_from_db()
    assert awaiting_request.assignee == reviewer
    act(client, awaiting_request, "assign", assignee=second_reviewer.pk)
    awaiting_request.refresh_from_db()
    assert awaiting_request.assignee == second_reviewer
    assert awaiting_request.events.filter(kind=RequestEvent.Kind.ASSIGNMENT).count() == 2


def test_withdraw_on_behalf_of_the_customer(client, reviewer, awaiting_request):
    client.force_login(reviewer)
    act(client, awaiting_request, "withdraw", note="Customer called, no longer needed")
    awaiting_request.refresh_from_db()
    assert awaiting_request.status == Status.WITHDRAWN
    assert awaiting_request.events.last().message == "Customer called, no longer needed"


def test_stale_page_is_refused_with_a_clear_message(client, reviewer, awaiting_request):
    client.force_login(reviewer)
    response = act(client, awaiting_request, "approve", expected_status=Status.NEEDS_INFO)
    assert "Someone else changed this request" in page_messages(response)
    awaiting_request.refresh_from_db()
    assert awaiting_request.status == Status.AWAITING_REVIEW


def test_decided_request_cannot_be_decided_again(client, reviewer, awaiting_request):
    client.force_login(reviewer)
    act(client, awaiting_request, "approve")
    response = act(client, awaiting_request, "reject", expected_status=Status.AWAITING_REVIEW, text="late")
    awaiting_request.refresh_from_db()
    assert awaiting_request.status == Status.APPROVED
    assert "Someone else changed" in page_messages(response)


def test_marketing_needs_two_different_reviewers(client, reviewer, second_reviewer, marketing_request):
    client.force_login(reviewer)
    response = act(client, marketing_request, "approve")
    assert "second reviewer must approve" in page_messages(response)
    marketing_request.refresh_from_db()
    assert marketing_request.status == Status.AWAITING_REVIEW

    response = act(client, marketing_request, "approve")
    assert "approved this request already" in page_messages(response)
    assert not AccountEgress.objects.filter(desired=EgressState.ALLOWED).exists()

    client.force_login(second_reviewer)
    act(client, marketing_request, "approve")
    marketing_request.refresh_from_db()
    assert marketing_request.status == Status.APPROVED
    assert AccountEgress.objects.get(account=marketing_request.account).desired == EgressState.ALLOWED


def test_large_volume_needs_two_reviewers(client, reviewer, account, customer, settings):
    settings.PORTAL_FOUR_EYES_VOLUME = 100
    request = awaiting(account, customer, use_case="transactional", daily_volume=101, email_template="Receipt")
    client.force_login(reviewer)
    act(client, request, "approve")
    request.refresh_from_db()
    assert request.status == Status.AWAITING_REVIEW


@pytest.mark.parametrize("action", ["take", "assign", "approve", "reject", "ask", "withdraw"])
def test_staff_outside_the_reviewer_group_cannot_act(client, abuse_desk, awaiting_request, action):
    client.force_login(abuse_desk)
    response = act(client, awaiting_request, action, text="x", question="x", note="x")
    assert response.status_code == 403
    awaiting_request.refresh_from_db()
    assert awaiting_request.status == Status.AWAITING_REVIEW and awaiting_request.assignee is None


def test_customer_cannot_reach_review_actions(customer_client, awaiting_request):
    response = act(customer_client, awaiting_request, "approve")
    assert reverse("admin:login") in response.redirect_chain[0][0]
    awaiting_request.refresh_from_db()
    assert awaiting_request.status == Status.AWAITING_REVIEW


def test_reviewers_cannot_edit_what_the_customer_entered(client, reviewer, awaiting_request):
    client.force_login(reviewer)
    url = reverse("admin:requests_app_unblockrequest_change", args=[awaiting_request.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert not page.context["adminform"].form.fields
    client.post(url, {"company_name": "Changed"})
    awaiting_request.refresh_from_db()
    assert awaiting_request.company_name == "Acme"


def test_review_page_shows_profile_timeline_and_conversation(client, reviewer, account, customer):
    request = awaiting(account, customer, verified=False)
    client.force_login(reviewer)
    act(client, request, "ask", question="What is <b>your</b> MTA?")
    body = client.get(reverse("admin:requests_app_unblockrequest_change", args=[request.pk])).content.decode()
    assert "198.51.100.7" in body
    assert "not verified" in body
    assert "What is &lt;b&gt;your&lt;/b&gt; MTA?" in body
    assert "checks done" in body


def test_audit_log_is_read_only_even_for_superusers(client, admin_user, awaiting_request):
    client.force_login(admin_user)
    event = awaiting_request.events.first()
    assert client.get(reverse("admin:requests_app_requestevent_changelist")).status_code == 200
    client.post(reverse("admin:requests_app_requestevent_delete", args=[event.pk]), {"post": "yes"})
    client.post(reverse("admin:requests_app_requestevent_change", args=[event.pk]), {"message": "edited"})
    event.refresh_from_db()
    assert event.message == "Request submitted."


def test_review_page_links_to_the_accounts_abuse_reports(client, admin_user, awaiting_request, other_customer):
    client.force_login(admin_user)
    page = client.get(reverse("admin:requests_app_unblockrequest_change", args=[awaiting_request.pk]))
    link = re.search(r'href="([^"]+)" data-testid="abuse-reports"', page.content.decode()).group(1)
    response = client.get(link.replace("&amp;", "&"))
    assert response.status_code == 200
    assert response.context["cl"].queryset.query.where  # filtered to the account, not the whole list
