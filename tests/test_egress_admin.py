"""The admin: each account's egress state, history and owed changes; staff decisions by hand."""

import uuid

import pytest
from django.contrib.auth.models import Group

from accounts.models import User
from accounts.staff_groups import ABUSE_DESK, SUPPORT_REVIEWER, ensure_staff_groups
from egress.models import AccountEgress, ChangeStatus, EgressChange, EgressDecision, EgressSource, EgressState
from egress.services import set_desired_state


@pytest.fixture(autouse=True)
def _targets(settings):
    settings.PORTAL_EGRESS_TARGETS = {"edge": {"backend": "simulated"}}


def staff(client, email: str, group: str):
    ensure_staff_groups()
    user = User.objects.create_user(email=email, password="x" * 12, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    return user


def test_the_abuse_desk_blocks_by_hand_with_a_reason(client, account, django_capture_on_commit_callbacks):
    set_desired_state(account, EgressState.ALLOWED, source=EgressSource.REQUEST, reason="Request #1 approved.")
    desk = staff(client, "desk@provider.test", ABUSE_DESK)

    form = client.get(f"/admin/egress/accountegress/decide/?account={account.reference}")
    assert form.status_code == 200
    assert str(account.reference) in form.content.decode()
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            "/admin/egress/accountegress/decide/",
            {"account": str(account.reference), "state": "blocked", "reason": "Spam run from 198.51.100.7."},
        )

    egress = AccountEgress.objects.get(account=account)
    assert response.status_code == 302
    assert response["Location"] == f"/admin/egress/accountegress/{egress.pk}/change/"
    assert (egress.desired, egress.source, egress.reason) == ("blocked", "staff", "Spam run from 198.51.100.7.")
    decision = EgressDecision.objects.filter(account=account).first()
    assert (decision.actor, decision.to_state) == (desk, EgressState.BLOCKED)
    assert len(callbacks) == 1, "the same path as every decision: applied after commit"


def test_a_decision_needs_a_reason_and_a_real_account(client, account):
    staff(client, "desk@provider.test", ABUSE_DESK)
    response = client.post(
        "/admin/egress/accountegress/decide/", {"account": str(uuid.uuid4()), "state": "allowed", "reason": ""}
    )
    assert response.status_code == 200
    assert "No account has this ID." in response.content.decode()
    assert "This field is required." in response.content.decode()
    assert not EgressDecision.objects.exists()


def test_a_reviewer_without_the_permission_cannot_decide_by_hand(client, account):
    staff(client, "reviewer@provider.test", SUPPORT_REVIEWER)
    response = client.post(
        "/admin/egress/accountegress/decide/",
        {"account": str(account.reference), "state": "allowed", "reason": "please"},
    )
    assert response.status_code == 403
    assert not EgressDecision.objects.exists()


def test_the_account_page_shows_state_history_and_owed_changes_with_their_error(admin_client, account):
    egress = set_desired_state(account, EgressState.ALLOWED, source=EgressSource.REQUEST, reason="Request #7 ok.")
    EgressChange.objects.filter(account=account).update(attempts=2, last_error="POST /changes answered 503: busy")

    listing = admin_client.get("/admin/egress/accountegress/?q=Acme").content.decode()
    page = admin_client.get(f"/admin/egress/accountegress/{egress.pk}/change/").content.decode()

    assert "Acme" in listing
    assert "Block or unblock port 25" in listing
    assert "Request #7 ok." in page
    assert "answered 503: busy" in page
    assert "Pending" in page


def test_staff_retry_a_failed_change(client, account, django_capture_on_commit_callbacks):
    set_desired_state(account, EgressState.ALLOWED, source=EgressSource.REQUEST, reason="ok")
    EgressChange.objects.update(status=ChangeStatus.FAILED, attempts=10, last_error="gave up")
    staff(client, "desk@provider.test", ABUSE_DESK)

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            "/admin/egress/egresschange/",
            {"action": "retry", "_selected_action": list(EgressChange.objects.values_list("pk", flat=True))},
        )

    assert response.status_code == 302
    assert EgressChange.objects.get().status == ChangeStatus.PENDING
    assert len(callbacks) == 1
