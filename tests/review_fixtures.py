"""Requests in the states reviewers act on, and the people who act."""

import pytest
from django.test import Client

from accounts.models import Account, User
from accounts.staff_groups import ABUSE_DESK, SUPPORT_REVIEWER, ensure_staff_groups
from requests_app import check_flow
from requests_app.lifecycle import transition
from requests_app.models import Status, UnblockRequest
from requests_app.services import submit_request
from tests.conftest import answers, marketing_answers
from verification.models import CheckResult, CheckRun


def staff_in(django_user_model, email: str, group: str | None) -> User:
    groups = {g.name: g for g in ensure_staff_groups()}
    user = django_user_model.objects.create_user(email, "pw-not-used", is_staff=True)
    if group:
        user.groups.add(groups[group])
    return user


@pytest.fixture
def reviewer(django_user_model):
    return staff_in(django_user_model, "rita@provider.test", SUPPORT_REVIEWER)


@pytest.fixture
def reviewer_client(reviewer) -> Client:
    """A browser of its own, so a test can have a customer and a reviewer at once."""
    browser = Client()
    browser.force_login(reviewer)
    return browser


@pytest.fixture
def second_reviewer(django_user_model):
    return staff_in(django_user_model, "sam@provider.test", SUPPORT_REVIEWER)


@pytest.fixture
def abuse_desk(django_user_model):
    return staff_in(django_user_model, "abe@provider.test", ABUSE_DESK)


def verify(account: Account) -> Account:
    """Identity and payment method verified, as the provider's control panel would record them."""
    account.record_verification("identity", None)
    account.record_verification("payment", None)
    return account


def awaiting(account: Account, customer: User, *, verified: bool = True, **overrides: object) -> UnblockRequest:
    """A request in the review queue; its account verified unless told otherwise, so it can be approved."""
    if verified:
        verify(account)
    request = submit_request(account, customer, answers(**overrides))
    return transition(request.pk, Status.AWAITING_REVIEW, actor=None, message="checks done")


@pytest.fixture
def awaiting_request(account, customer):
    return awaiting(account, customer)


@pytest.fixture
def marketing_request(account, customer):
    verify(account)
    request = submit_request(account, customer, marketing_answers())
    return transition(request.pk, Status.AWAITING_REVIEW, actor=None)


def finished_run(request: UnblockRequest, statuses: list[str], names: list[str] | None = None) -> CheckRun:
    """A run of the request's checks with these results, as if a worker had run them."""
    run = CheckRun.objects.create(
        subject=check_flow.subject_key(request.pk), account=request.account, trigger=CheckRun.Trigger.SUBMITTED
    )
    for i, status in enumerate(statuses):
        name = names[i] if names else f"check_{i}"
        CheckResult.objects.create(run=run, check_name=name, position=i, status=status)
    return run
