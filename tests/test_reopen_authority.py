"""Finding 4 of the security probe: the abuse desk could not reinstate an account's second revocation (a
support reviewer must), but its manual egress decision opened the same account, and the revocation closed
as "reopened". Who may end a revocation now holds on every path that opens port 25."""

import pytest
from django.test import Client
from django.urls import reverse

from abuse.models import AbuseEvent, EventKind, Revocation, RevocationState
from abuse.revocations import require_new_request
from egress.models import AccountEgress, EgressSource, EgressState
from egress.reopening import ReopenRefused
from egress.services import set_desired_state
from tests.review_fixtures import staff_in
from tests.test_abuse_reinstatement import _settings as _settings  # fixture: simulated firewall, the levels
from tests.test_abuse_reinstatement import revocation_number
from tests.test_abuse_reinstatement import superuser as superuser  # fixture

DECIDE = reverse("admin:egress_accountegress_decide")


def _decide_allowed(user, account) -> str:
    browser = Client()
    browser.force_login(user)
    response = browser.post(DECIDE, {"account": account.reference, "state": EgressState.ALLOWED, "reason": "fixed"})
    return response.content.decode() if response.status_code == 200 else f"redirect {response.status_code}"


def test_the_abuse_desk_cannot_open_a_second_revocation_through_the_egress_admin(account, abuse_desk, superuser):
    revocation = revocation_number(account, 2, superuser)

    page = _decide_allowed(abuse_desk, account)

    assert "Only a support reviewer may open port 25 of this account again." in page
    assert AccountEgress.objects.get(account=account).desired == EgressState.BLOCKED
    revocation.refresh_from_db()
    assert revocation.state == RevocationState.ACTIVE
    assert not AbuseEvent.objects.filter(kind=EventKind.REOPENED).exists()


def test_someone_with_the_authority_opens_it_there_and_the_revocation_ends(account, django_user_model, superuser):
    revocation_number(account, 2, superuser)
    desk_and_reviewer = staff_in(django_user_model, "both@provider.test", "Abuse desk")
    desk_and_reviewer.groups.add(*staff_in(django_user_model, "tmp@provider.test", "Support reviewer").groups.all())

    assert _decide_allowed(desk_and_reviewer, account) == "redirect 302"
    assert AccountEgress.objects.get(account=account).desired == EgressState.ALLOWED
    assert Revocation.objects.get(account=account, ordinal=2).state == RevocationState.REOPENED


def test_no_service_call_opens_it_without_the_authority(account, abuse_desk, superuser):
    revocation_number(account, 2, superuser)

    for actor in (abuse_desk, None):
        with pytest.raises(ReopenRefused, match=r"^Only a support reviewer may open port 25 of this account again\.$"):
            set_desired_state(account, EgressState.ALLOWED, source=EgressSource.STAFF, reason="x", actor=actor)
        with pytest.raises(ReopenRefused):
            set_desired_state(account, EgressState.ALLOWED, source=EgressSource.REQUEST, reason="x", actor=actor)
    assert AccountEgress.objects.get(account=account).desired == EgressState.BLOCKED


def test_once_a_new_request_is_required_its_approval_is_the_way_back(account, reviewer, superuser):
    revocation = revocation_number(account, 2, superuser)
    require_new_request(revocation, reviewer, "Explain how recipients opted in.")

    set_desired_state(account, EgressState.ALLOWED, source=EgressSource.REQUEST, reason="#9 approved", actor=None)

    revocation.refresh_from_db()
    assert revocation.state == RevocationState.REOPENED
