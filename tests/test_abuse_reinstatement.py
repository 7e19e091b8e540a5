"""The way back: reinstate with a note or require a new request; each revocation makes it stricter."""

from contextlib import contextmanager

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from abuse import intake
from abuse.models import AbuseEvent, AbuseReport, EventKind, Revocation, RevocationState
from abuse.reports import ReportInput
from abuse.revocations import NotAllowed, reinstate, report_fix, require_new_request, revoke
from accounts.models import Account
from egress.models import EgressDecision, EgressSource, EgressState
from egress.reopening import ReopenRefused
from egress.selectors import desired_egress
from egress.services import set_desired_state
from tests.conftest import CUSTOMER_IPS
from tests.egress_support import eager_tasks
from tests.review_fixtures import staff_in


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.PORTAL_EGRESS_TARGETS = {"default": {"backend": "simulated"}}
    settings.PORTAL_ABUSE_REINSTATEMENT = ["abuse_desk", "reviewer", "superuser"]


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root@provider.test", "pw-not-used")


@pytest.fixture
def plain_staff(django_user_model):
    return staff_in(django_user_model, "pat@provider.test", None)


@pytest.fixture
def after_commit(django_capture_on_commit_callbacks):
    """Commit, then run what waits for it (mail, the egress apply task) inline."""

    @contextmanager
    def run():
        with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
            yield

    return run


def revocation_number(account: Account, n: int, superuser) -> Revocation:
    """The account's n-th revocation, the earlier ones reinstated by a superuser."""
    for i in range(1, n + 1):
        set_desired_state(account, EgressState.ALLOWED, source=EgressSource.REQUEST, reason="approved")
        report = ReportInput(category="spamtrap", source_ip=CUSTOMER_IPS[0], occurred_at=timezone.now())
        result = intake.receive(report, raw=b"{}", channel="json", reporter=None)  # stored, not weighed
        with transaction.atomic():
            revoke(account, [AbuseReport.objects.get(pk=result.report_id)], "spam-trap hit")
        revocation = Revocation.objects.get(account=account, ordinal=i)
        if i < n:
            reinstate(revocation, superuser, f"fixed, round {i}")
    return revocation


def egress_of(account: Account):
    return desired_egress(Account.objects.get(pk=account.pk))


def test_the_abuse_desk_reinstates_a_first_revocation_with_a_note(account, abuse_desk, superuser, after_commit):
    revocation = revocation_number(account, 1, superuser)
    mail.outbox.clear()

    with after_commit():
        reinstate(revocation, abuse_desk, "The compromised mailbox password was reset; outbound is rate-limited.")

    egress = egress_of(account)
    assert (egress.desired, egress.source) == (EgressState.ALLOWED, EgressSource.STAFF)
    assert EgressDecision.objects.filter(account=account).first().actor == abuse_desk
    revocation.refresh_from_db()
    assert (revocation.state, revocation.decided_by) == (RevocationState.REINSTATED, abuse_desk)
    assert revocation.closed_at is not None
    event = AbuseEvent.objects.filter(kind=EventKind.REINSTATED).get()
    assert (event.actor, event.revocation) == (abuse_desk, revocation)
    assert "open again" in mail.outbox[0].subject and "password was reset" in mail.outbox[0].body


@pytest.mark.parametrize(
    ("number", "allowed"),
    [
        (1, {"abuse_desk", "reviewer", "superuser"}),
        (2, {"reviewer", "superuser"}),
        (3, {"superuser"}),
        (4, {"superuser"}),
    ],
)
def test_each_revocation_makes_the_way_back_stricter(
    account, abuse_desk, reviewer, superuser, plain_staff, number, allowed
):
    revocation = revocation_number(account, number, superuser)
    people = {"abuse_desk": abuse_desk, "reviewer": reviewer, "superuser": superuser, "plain_staff": plain_staff}

    may = set()
    for name, person in people.items():
        try:
            with transaction.atomic():
                reinstate(revocation, person, "fixed")
                transaction.set_rollback(True)  # try the next person on the same revocation
            may.add(name)
        except NotAllowed as refused:
            assert "only" in str(refused)
    assert may == allowed
    assert Revocation.objects.get(pk=revocation.pk).state == RevocationState.ACTIVE


def test_requiring_a_new_request_obeys_the_same_rule(account, abuse_desk, superuser):
    revocation = revocation_number(account, 2, superuser)

    with pytest.raises(NotAllowed, match="a support reviewer"):
        require_new_request(revocation, abuse_desk, "Explain your opt-in.")


def test_the_desk_may_require_a_new_request_and_its_approval_ends_the_revocation(
    account, customer, abuse_desk, reviewer, superuser, after_commit
):
    revocation = revocation_number(account, 1, superuser)
    mail.outbox.clear()

    with after_commit():
        require_new_request(revocation, abuse_desk, "Explain how recipients opted in.")

    assert egress_of(account).desired == EgressState.BLOCKED
    revocation.refresh_from_db()
    assert revocation.state == RevocationState.NEW_REQUEST and revocation.is_open
    assert "new request" in mail.outbox[0].subject and "opted in" in mail.outbox[0].body
    with pytest.raises(NotAllowed, match="already"):
        require_new_request(revocation, abuse_desk, "again")

    set_desired_state(account, EgressState.ALLOWED, source=EgressSource.REQUEST, reason="#9 approved", actor=reviewer)

    revocation.refresh_from_db()
    assert (revocation.state, revocation.decided_by) == (RevocationState.REOPENED, reviewer)
    event = AbuseEvent.objects.get(kind=EventKind.REOPENED)
    assert event.message == "Unblock request: #9 approved"


def test_a_final_revocation_cannot_be_reopened_by_a_request_without_a_superuser(account, reviewer, superuser):
    revocation_number(account, 3, superuser)

    with pytest.raises(ReopenRefused):
        set_desired_state(
            account, EgressState.ALLOWED, source=EgressSource.REQUEST, reason="#12 approved", actor=reviewer
        )
    assert not AbuseEvent.objects.filter(kind=EventKind.REOPENED).exists()


def test_a_reinstatement_needs_a_note_and_happens_once(account, abuse_desk, superuser):
    revocation = revocation_number(account, 1, superuser)

    with pytest.raises(NotAllowed, match="Say why"):
        reinstate(revocation, abuse_desk, "  ")
    reinstate(revocation, abuse_desk, "fixed")
    with pytest.raises(NotAllowed, match="closed already"):
        reinstate(revocation, abuse_desk, "fixed again")


def test_the_customer_reports_a_fix_on_the_timeline(account, customer, superuser):
    revocation = revocation_number(account, 1, superuser)

    report_fix(revocation, customer, "Removed the contact-form script that relayed spam.")

    revocation.refresh_from_db()
    assert revocation.customer_note.startswith("Removed") and revocation.customer_note_at
    assert AbuseEvent.objects.get(kind=EventKind.FIX_REPORTED).actor == customer
