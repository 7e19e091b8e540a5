"""The customer's home says what is left to do: a question to answer, failed checks, missing verifications;
after a rejection, that it was rejected, why, and what to do next. Once port 25 is open, no more "why blocked"."""

from django.urls import reverse

from egress.models import EgressState
from requests_app import review
from requests_app.models import Status
from tests.review_fixtures import awaiting, finished_run
from tests.test_abuse_reinstatement import egress_of
from verification.models import CheckResult

FIX = "Your mail server is an open relay; allow relaying only for authenticated users, then re-run the checks."


def home(client) -> str:
    return client.get(reverse("port25")).content.decode()


def test_the_headline_lists_what_is_left_to_do(customer_client, reviewer, account, customer):
    request = awaiting(account, customer, verified=False)
    run = finished_run(request, [], [])
    CheckResult.objects.create(run=run, check_name="relay_probe", status="fail", summary=FIX)
    CheckResult.objects.create(run=run, check_name="reverse_dns", status="pass", position=1)
    run.finished_at = run.created_at
    run.save()
    review.ask_for_information(request.pk, reviewer, expected_status=Status.AWAITING_REVIEW, question="Who sends?")

    body = home(customer_client)
    todo = body[body.index('data-testid="left-to-do"') :]
    todo = todo[: todo.index("</ul>")]
    assert "Answer the reviewer&#x27;s question." in todo
    assert "Fix: Open relay test of your mail server." in todo and FIX in todo
    assert "Reverse DNS" not in todo
    assert "Complete the identity verification in the control panel." in todo
    assert "Complete the payment method verification in the control panel." in todo


def test_after_a_rejection_the_headline_says_so_and_what_to_do(customer_client, reviewer, account, customer):
    request = awaiting(account, customer)
    review.reject(request.pk, reviewer, expected_status=Status.AWAITING_REVIEW, reason=None, text="Publish SPF.")

    body = home(customer_client)
    assert f"Your request #{request.pk} was rejected" in body
    assert "Publish SPF." in body
    assert "File a new request" in body
    assert "Every new account starts this way" not in body


def test_an_open_account_is_not_told_why_port_25_is_blocked(customer_client, reviewer, account, customer, settings):
    settings.PORTAL_EGRESS_TARGETS = {"default": {"backend": "simulated"}}
    request = awaiting(account, customer)
    review.approve(request.pk, reviewer, expected_status=Status.AWAITING_REVIEW)
    assert egress_of(account).desired == EgressState.ALLOWED
    body = home(customer_client)
    assert "Why port 25 is blocked" not in body
    assert 'data-testid="left-to-do"' not in body
