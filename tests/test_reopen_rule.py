"""Who may open port 25 again after a revocation: one rule (egress.reopening), every level on every path.

The levels are those of PORTAL_ABUSE_REINSTATEMENT (first revocation: the abuse desk; second: a support
reviewer; third and later: a superuser). Each revocation is either still active, or someone with its
authority required a new request, whose approval is then the way back.
"""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from abuse import revocations
from abuse.models import Revocation, RevocationState
from accounts.models import Account
from accounts.services import record_server
from egress.models import AccountEgress, EgressSource, EgressState, SimulatedAllowance
from egress.reopening import ReopenRefused
from egress.services import set_desired_state
from requests_app import review
from requests_app.models import Status
from tests.egress_support import eager_tasks
from tests.review_fixtures import awaiting, staff_in
from tests.test_abuse_reinstatement import _settings as _settings  # fixture: simulated firewall, the levels
from tests.test_abuse_reinstatement import revocation_number
from tests.test_abuse_reinstatement import superuser as superuser  # fixture

NEW_ADDRESS = "198.51.100.77"


@pytest.fixture
def decider(django_user_model):
    """Staff who may block and unblock by hand, but holds no authority over a revocation's hold."""
    user = staff_in(django_user_model, "dee@provider.test", None)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="egress", codename__in=["decide_accountegress", "view_accountegress"]
        )
    )
    return user


def test_after_a_third_revocation_an_approved_new_request_reopens_port_25(
    account, customer, reviewer, superuser, django_capture_on_commit_callbacks
):
    """The customer was told to file a new request: a reviewer's approval of it is the way back."""
    revocation = revocation_number(account, 3, superuser)
    revocations.require_new_request(revocation, superuser, "Explain how the recipients opted in.")
    request = awaiting(Account.objects.get(pk=account.pk), customer)  # not the cached egress

    with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
        assert review.approve(request.pk, reviewer, expected_status=Status.AWAITING_REVIEW)

    assert AccountEgress.objects.get(account=account).desired == EgressState.ALLOWED
    revocation.refresh_from_db()
    assert revocation.state == RevocationState.REOPENED


def _approve(account: Account, actor) -> None:
    account = Account.objects.get(pk=account.pk)  # not the cached egress
    request = awaiting(account, account.memberships.get().user)
    try:
        review.approve(request.pk, actor, expected_status=Status.AWAITING_REVIEW)
    except review.ReviewConflict as exc:
        raise ReopenRefused(str(exc)) from exc


def _reinstate(account: Account, actor) -> None:
    try:
        revocations.reinstate(Revocation.objects.open().get(account=account), actor, "fixed")
    except revocations.NotAllowed as exc:
        raise ReopenRefused(str(exc)) from exc


def _egress_admin(account: Account, actor) -> None:
    browser = Client()
    browser.force_login(actor)
    page = browser.post(
        reverse("admin:egress_accountegress_decide"),
        {"account": account.reference, "state": EgressState.ALLOWED, "reason": "fixed"},
    )
    if page.status_code != 302:
        raise ReopenRefused(page.content.decode())


def _platform(account: Account, actor) -> None:
    """The platform reports a new server of the account; the system itself opens nothing."""
    with eager_tasks():
        record_server(account, "vm-new", "new.example.com", [NEW_ADDRESS])
    assert not SimulatedAllowance.objects.filter(ip=NEW_ADDRESS).exists()
    set_desired_state(account, EgressState.ALLOWED, source=EgressSource.STAFF, reason="system", actor=actor)


PATHS = {"approval": _approve, "reinstatement": _reinstate, "egress admin": _egress_admin, "platform": _platform}
OPEN, REFUSED = True, False
# (path, who) -> (level 1, level 2, level 3) while the revocation is active; the same once a new
# request is required, except that an approval then reopens at every level.
EXPECTED = {
    ("approval", "reviewer"): (OPEN, OPEN, REFUSED),
    ("approval", "superuser"): (OPEN, OPEN, OPEN),
    ("reinstatement", "abuse_desk"): (OPEN, REFUSED, REFUSED),
    ("reinstatement", "reviewer"): (OPEN, OPEN, REFUSED),
    ("reinstatement", "superuser"): (OPEN, OPEN, OPEN),
    ("egress admin", "abuse_desk"): (OPEN, REFUSED, REFUSED),
    ("egress admin", "superuser"): (OPEN, OPEN, OPEN),
    ("egress admin", "decider"): (REFUSED, REFUSED, REFUSED),
    ("platform", None): (REFUSED, REFUSED, REFUSED),
}
CASES = [
    pytest.param(path, who, level, new_request, id=f"{path}-{who}-{level}-{'new request' if new_request else 'active'}")
    for (path, who) in EXPECTED
    for level in (1, 2, 3)
    for new_request in (False, True)
]


@pytest.mark.parametrize(("path", "who", "level", "new_request"), CASES)
def test_every_level_on_every_opening_path(path, who, level, new_request, account, request, superuser):
    revocation = revocation_number(account, level, superuser)
    if new_request:
        revocations.require_new_request(revocation, superuser, "Tell us what changed.")
    actor = request.getfixturevalue(who) if who else None
    expected = EXPECTED[path, who][level - 1] or (new_request and path == "approval")

    try:
        PATHS[path](account, actor)
        opened = True
    except ReopenRefused:
        opened = False

    assert opened == expected
    egress = AccountEgress.objects.get(account=account)
    assert egress.desired == (EgressState.ALLOWED if expected else EgressState.BLOCKED)
    revocation.refresh_from_db()
    assert revocation.is_open != expected
