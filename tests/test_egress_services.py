"""Desired state, history, outbox and reconciliation, on the `simulated` backend (a table)."""

import pytest
from django.db import transaction

from accounts.models import Server
from accounts.services import delete_server, record_server
from egress.models import (
    AccountEgress,
    ChangeStatus,
    EgressChange,
    EgressDecision,
    EgressSource,
    EgressState,
    EgressTarget,
    SimulatedAllowance,
)
from egress.outbox import apply_due
from egress.reconcile import reconcile
from egress.services import deciding_together, set_desired_state
from egress.tasks import reconcile_all
from tests.conftest import CUSTOMER_IPS, OTHER_IPS
from tests.egress_support import eager_tasks

TWO_TARGETS = {"gw-a": {"backend": "simulated"}, "gw-b": {"backend": "simulated"}}


@pytest.fixture(autouse=True)
def _two_targets(settings):
    settings.PORTAL_EGRESS_TARGETS = TWO_TARGETS


@pytest.fixture
def decide(django_capture_on_commit_callbacks):
    """Decide as the portal does: commit, then the apply task runs (inline here)."""

    def _decide(account, state, source=EgressSource.REQUEST, reason="Request #1 approved.", actor=None):
        with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
            return set_desired_state(account, state, source=source, reason=reason, actor=actor)

    return _decide


def allowed_on(target: str) -> set[str]:
    return set(SimulatedAllowance.objects.filter(target=target).values_list("ip", flat=True))


def test_a_decision_keeps_history_and_owes_each_target_one_change(
    account, customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        egress = set_desired_state(
            account, EgressState.ALLOWED, source=EgressSource.STAFF, reason="Checked by hand.", actor=customer
        )
    assert (egress.desired, egress.source, egress.reason) == (
        EgressState.ALLOWED,
        EgressSource.STAFF,
        "Checked by hand.",
    )
    decision = EgressDecision.objects.get(account=account)
    assert (decision.from_state, decision.to_state, decision.actor) == (
        EgressState.BLOCKED,
        EgressState.ALLOWED,
        customer,
    )
    changes = EgressChange.objects.filter(account=account).order_by("target")
    assert [(c.target, c.status, sorted(c.addresses)) for c in changes] == [
        ("gw-a", ChangeStatus.PENDING, sorted(CUSTOMER_IPS)),
        ("gw-b", ChangeStatus.PENDING, sorted(CUSTOMER_IPS)),
    ]
    assert len(callbacks) == 2, "one apply task per target, queued after commit"
    assert allowed_on("gw-a") == set(), "nothing reaches a firewall before commit"


def test_accounts_decided_together_queue_one_apply_per_target_that_applies_them_all(
    account, other_customer, django_capture_on_commit_callbacks
):
    accounts = [account, other_customer.membership.account]
    capture = django_capture_on_commit_callbacks(execute=True)
    with eager_tasks(), capture as callbacks, transaction.atomic(), deciding_together():
        for each in accounts:
            set_desired_state(each, EgressState.ALLOWED, source=EgressSource.STAFF, reason="Checked by hand.")

    assert len(callbacks) == 2, "one apply task per target for both accounts"
    assert allowed_on("gw-a") == allowed_on("gw-b") == set(CUSTOMER_IPS) | set(OTHER_IPS)
    assert not EgressChange.objects.exclude(status=ChangeStatus.APPLIED).exists()


def test_accounts_decided_together_queue_nothing_when_the_block_fails(account, django_capture_on_commit_callbacks):
    failing = pytest.raises(RuntimeError)
    with django_capture_on_commit_callbacks() as callbacks, failing, transaction.atomic(), deciding_together():
        set_desired_state(account, EgressState.ALLOWED, source=EgressSource.STAFF, reason="Checked by hand.")
        raise RuntimeError("the rest of the decision failed")

    assert callbacks == [] and not EgressChange.objects.exists()

    with django_capture_on_commit_callbacks() as callbacks:
        set_desired_state(account, EgressState.ALLOWED, source=EgressSource.STAFF, reason="Checked by hand.")
    assert len(callbacks) == 2, "a failed block leaves later decisions their own tasks"


def test_after_commit_every_target_allows_the_accounts_addresses(account, decide):
    decide(account, EgressState.ALLOWED)
    assert allowed_on("gw-a") == allowed_on("gw-b") == set(CUSTOMER_IPS)
    assert not EgressChange.objects.exclude(status=ChangeStatus.APPLIED).exists()

    decide(account, EgressState.BLOCKED, source=EgressSource.ABUSE, reason="Spam reported.")
    assert allowed_on("gw-a") == allowed_on("gw-b") == set()
    assert AccountEgress.objects.get(account=account).source == EgressSource.ABUSE


def test_deciding_the_same_state_again_is_harmless(account, decide):
    decide(account, EgressState.ALLOWED)
    decide(account, EgressState.ALLOWED, source=EgressSource.STAFF, reason="Again.")
    assert allowed_on("gw-a") == set(CUSTOMER_IPS)
    assert list(EgressDecision.objects.filter(account=account).values_list("from_state", "to_state")) == [
        (EgressState.ALLOWED, EgressState.ALLOWED),
        (EgressState.BLOCKED, EgressState.ALLOWED),
    ]


def test_an_old_change_applied_late_still_ends_with_the_current_state(account):
    set_desired_state(account, EgressState.ALLOWED, source=EgressSource.REQUEST, reason="ok")
    set_desired_state(account, EgressState.BLOCKED, source=EgressSource.ABUSE, reason="spam")
    assert apply_due("gw-a").applied == 2
    assert allowed_on("gw-a") == set()


@pytest.mark.parametrize(("state", "source"), [("open", EgressSource.STAFF), (EgressState.ALLOWED, "default")])
def test_unknown_states_and_sources_are_refused(account, state, source):
    with pytest.raises(ValueError):
        set_desired_state(account, state, source=source, reason="x")


def test_a_server_added_to_an_allowed_account_is_allowed_and_removed_when_deleted(
    account, decide, django_capture_on_commit_callbacks
):
    decide(account, EgressState.ALLOWED)
    with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
        server = record_server(account, "vm-acme-2", "vm2.example.com", ["198.51.100.20"])
    assert allowed_on("gw-a") == {*CUSTOMER_IPS, "198.51.100.20"}
    with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
        delete_server(server)
    assert allowed_on("gw-b") == set(CUSTOMER_IPS)
    with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
        record_server(account, "vm-acme-1", "vm.example.com", [CUSTOMER_IPS[0]])  # the other address released
    assert allowed_on("gw-a") == {CUSTOMER_IPS[0]}


def test_an_address_follows_the_account_it_moves_to(
    account, other_customer, decide, django_capture_on_commit_callbacks
):
    other = other_customer.membership.account
    decide(account, EgressState.ALLOWED)
    with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
        record_server(other, "vm-globex-2", "vm2.example.com", [CUSTOMER_IPS[0]])  # moves to a blocked account
    assert allowed_on("gw-a") == {CUSTOMER_IPS[1]}

    decide(account, EgressState.BLOCKED, source=EgressSource.STAFF, reason="x")
    decide(other, EgressState.ALLOWED)
    with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
        record_server(account, "vm-acme-3", "vm3.example.com", [OTHER_IPS[0]])  # moves to a blocked account
    assert allowed_on("gw-a") == {CUSTOMER_IPS[0]}


def test_inventory_changes_of_blocked_accounts_owe_nothing(account):
    record_server(account, "vm-acme-2", "vm2.example.com", ["198.51.100.21"])
    delete_server(Server.objects.get(external_id="vm-acme-2"))
    assert not EgressChange.objects.exists()


def test_reconciliation_repairs_drift_both_ways_and_settles_owed_changes(account, other_customer, decide):
    decide(account, EgressState.ALLOWED)
    SimulatedAllowance.objects.filter(target="gw-a", ip=CUSTOMER_IPS[0]).delete()  # lost by the firewall
    SimulatedAllowance.objects.create(target="gw-a", ip=OTHER_IPS[0])  # added by hand
    set_desired_state(account, EgressState.ALLOWED, source=EgressSource.STAFF, reason="nudge")  # not applied

    drift = reconcile("gw-a")

    assert (drift.added, drift.removed, drift.settled, drift.error) == ({CUSTOMER_IPS[0]}, {OTHER_IPS[0]}, 1, "")
    assert allowed_on("gw-a") == set(CUSTOMER_IPS)
    assert not EgressChange.objects.filter(target="gw-a").exclude(status=ChangeStatus.APPLIED).exists()
    assert EgressChange.objects.filter(target="gw-b", status=ChangeStatus.PENDING).count() == 1, "gw-b is its own"
    target = EgressTarget.objects.get(name="gw-a")
    assert (target.last_added, target.last_removed, target.last_error) == (1, 1, "")
    assert reconcile("gw-a").added == set()


def test_the_periodic_reconciliation_covers_every_target(account, decide):
    decide(account, EgressState.ALLOWED)
    SimulatedAllowance.objects.all().delete()
    with eager_tasks():
        reconcile_all.delay()
    assert allowed_on("gw-a") == allowed_on("gw-b") == set(CUSTOMER_IPS)
