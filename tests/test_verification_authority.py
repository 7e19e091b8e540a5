"""Finding 5 of issue 23: a reviewer held change_account and could mark an account's identity and payment
verified, then approve its request alone, which made the superuser-only override pointless.

Who may record a verification now: the platform's integration (its bearer token, recorded by nobody in
person) or a *Verification officer*, a role reviewers do not hold. Whoever recorded a verification of an
account never approves that account's request, superusers included."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import CustomerToken, PlatformToken
from accounts.staff_groups import VERIFICATION_OFFICER
from requests_app.models import Status
from tests.review_fixtures import awaiting, staff_in
from tests.test_review_actions import act, page_messages


def mark(client, account, kind: str):
    action = {"identity": "mark_identity_verified", "payment": "mark_payment_verified"}[kind]
    return client.post(
        reverse("admin:accounts_account_changelist"), {"action": action, "_selected_action": [account.pk]}
    )


@pytest.fixture
def officer(django_user_model):
    return staff_in(django_user_model, "vera@provider.test", VERIFICATION_OFFICER)


def test_a_reviewer_cannot_record_a_verification(client, reviewer, account):
    assert reviewer.has_perm("accounts.change_account"), "reviewers still edit accounts"
    client.force_login(reviewer)

    mark(client, account, "identity")
    mark(client, account, "payment")

    account.refresh_from_db()
    assert account.identity_verified_at is None
    assert account.payment_verified_at is None
    changelist = client.get(reverse("admin:accounts_account_changelist")).content.decode()
    assert "mark_identity_verified" not in changelist


def test_a_verification_officer_records_and_a_reviewer_then_approves(client, officer, reviewer, account, customer):
    request = awaiting(account, customer, verified=False)
    client.force_login(officer)
    mark(client, account, "identity")
    mark(client, account, "payment")
    account.refresh_from_db()
    assert (account.identity_verified_by, account.payment_verified_by) == (officer, officer)

    client.force_login(reviewer)
    act(client, request, "approve")

    request.refresh_from_db()
    assert request.status == Status.APPROVED


def test_who_recorded_a_verification_cannot_approve_that_account(
    client, admin_user, second_reviewer, account, customer
):
    """A superuser may do both, but never for the same account: the four eyes hold for them too."""
    request = awaiting(account, customer, verified=False)
    client.force_login(admin_user)
    mark(client, account, "payment")
    account.refresh_from_db()
    account.record_verification("identity", None)

    response = act(client, request, "approve")

    assert "You recorded this account's verification yourself" in page_messages(response)
    request.refresh_from_db()
    assert request.status == Status.AWAITING_REVIEW
    client.force_login(second_reviewer)
    act(client, request, "approve")
    request.refresh_from_db()
    assert request.status == Status.APPROVED


def verification_url(account, kind: str) -> str:
    return f"/api/v1/platform/accounts/{account.reference}/verifications/{kind}/"


def test_the_platform_records_a_verification_by_nobody_in_person(account, db):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {PlatformToken.issue(name='cloud platform')[1]}")

    assert api.put(verification_url(account, "identity")).status_code == 204
    assert api.put(verification_url(account, "payment")).status_code == 204
    assert api.put(verification_url(account, "mood")).status_code == 404

    account.refresh_from_db()
    assert account.identity_verified and account.payment_verified
    assert account.identity_verified_by is None and account.payment_verified_by is None


def test_a_customer_token_cannot_record_a_verification(account, customer):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {CustomerToken.issue(user=customer, name='mine')[1]}")

    assert api.put(verification_url(account, "identity")).status_code in (401, 403)
    account.refresh_from_db()
    assert not account.identity_verified
