"""The policy: instant categories revoke at once, N complaints in T hours revoke, fewer warn; each decision
names its reports, and a revocation reaches the (simulated) firewall through egress."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from abuse import backlog, intake, policy, tasks
from abuse.models import AbuseEvent, AbuseReport, EventKind, PolicyDecision, PolicyOutcome, Revocation
from abuse.reports import ReportInput
from abuse.revocations import reinstate
from accounts.models import Account
from egress.models import EgressSource, EgressState, SimulatedAllowance
from egress.selectors import desired_egress
from egress.services import set_desired_state
from tests.abuse_samples import backdate_addresses
from tests.conftest import CUSTOMER_IPS, OTHER_IPS


@pytest.fixture(autouse=True)
def _policy(settings):
    settings.PORTAL_EGRESS_TARGETS = {"default": {"backend": "simulated"}}
    settings.PORTAL_ABUSE_INSTANT_CATEGORIES = ["spamtrap", "malware", "compromised"]
    settings.PORTAL_ABUSE_REVOKE_AFTER = 3
    settings.PORTAL_ABUSE_WARN_AFTER = 1
    settings.PORTAL_ABUSE_WINDOW_HOURS = 24


@pytest.fixture
def held_account(account):
    """The customer has held their addresses for a month (reports refer to the recent past)."""
    backdate_addresses(account, timezone.now() - timedelta(days=30))
    return account


@pytest.fixture
def open_account(held_account, run_after_commit):
    account = held_account
    run_after_commit(lambda: set_desired_state(account, EgressState.ALLOWED, source=EgressSource.REQUEST, reason="ok"))
    assert firewall() == set(CUSTOMER_IPS)
    mail.outbox.clear()
    return account


def egress_of(account: Account):
    return desired_egress(Account.objects.get(pk=account.pk))


def firewall() -> set[str]:
    return set(SimulatedAllowance.objects.values_list("ip", flat=True))


def submit(run, category="spam", ip=CUSTOMER_IPS[0], hours_ago: float = 0.01, n: int = 1) -> list[intake.Result]:
    def take_in():
        return [
            intake.accept(
                ReportInput(
                    category=category,
                    source_ip=ip,
                    occurred_at=timezone.now() - timedelta(hours=hours_ago),
                    reference=f"{category}-{i}-{timezone.now().timestamp()}",
                    evidence={"i": i, "category": category, "at": timezone.now().isoformat()},
                ),
                raw=b"{}",
                channel="json",
            )
            for i in range(n)
        ]

    return run(take_in)


@pytest.mark.parametrize("category", ["spamtrap", "malware", "compromised"])
def test_one_high_confidence_report_revokes_at_once_and_the_firewall_follows(open_account, run_after_commit, category):
    [result] = submit(run_after_commit, category)

    egress = egress_of(open_account)
    assert (egress.desired, egress.source) == (EgressState.BLOCKED, EgressSource.ABUSE)
    assert CUSTOMER_IPS[0] in egress.reason
    assert firewall() == set(), "no address of the account may reach port 25"
    decision = PolicyDecision.objects.get()
    assert decision.outcome == PolicyOutcome.REVOKE
    assert [r.pk for r in decision.reports.all()] == [result.report_id]
    revocation = Revocation.objects.get()
    assert (revocation.ordinal, revocation.state, revocation.decision) == (1, "active", decision)
    assert AbuseEvent.objects.get().kind == EventKind.REVOKED
    [message] = mail.outbox
    assert message.to == ["alice@acme.test"] and "closed" in message.subject
    assert egress.reason in message.body and "/abuse/" in message.body


def test_the_rule_of_an_instant_report_names_it(open_account, run_after_commit):
    submit(run_after_commit, "spamtrap")

    assert PolicyDecision.objects.get().rule == "1 spamtrap report within 24 h: revokes at once."


def test_instant_reports_taken_in_together_are_named_together(open_account, run_after_commit):
    def in_one_transaction():
        at_once = lambda take_in: take_in()  # noqa: E731 - the policy runs once both are in
        return submit(at_once, "spamtrap") + submit(at_once, "malware")

    run_after_commit(in_one_transaction)

    assert PolicyDecision.objects.get().rule == "2 malware/spamtrap reports within 24 h: revoke at once."


def test_a_closed_port_blocked_for_a_while_on_top_is_flagged_not_revoked(held_account, run_after_commit):
    """A temporary block over a closed port returns to closed: a revocation would have nothing to close."""
    run_after_commit(
        lambda: set_desired_state(
            held_account, EgressState.BLOCKED, source=EgressSource.TRAFFIC, reason="burst",
            until=timezone.now() + timedelta(hours=1),
        )
    )  # fmt: skip

    submit(run_after_commit, "spamtrap")

    assert not Revocation.objects.exists()
    assert PolicyDecision.objects.get().outcome == PolicyOutcome.WARN


def test_fewer_complaints_warn_once_and_flag_the_account(open_account, run_after_commit):
    submit(run_after_commit)
    submit(run_after_commit)

    assert egress_of(open_account).desired == EgressState.ALLOWED
    assert firewall() == set(CUSTOMER_IPS)
    [warning] = PolicyDecision.objects.all()
    assert warning.outcome == PolicyOutcome.WARN and warning.acknowledged_at is None
    assert len(mail.outbox) == 1 and "Abuse reports" in mail.outbox[0].subject
    [event] = AbuseEvent.objects.filter(kind=EventKind.WARNED)
    assert (event.account_id, event.decision, event.message) == (open_account.pk, warning, warning.rule)


def test_the_nth_complaint_in_the_window_revokes_and_the_decision_names_all_of_them(open_account, run_after_commit):
    results = submit(run_after_commit, n=2) + submit(run_after_commit)

    assert firewall() == set()
    revoke = PolicyDecision.objects.get(outcome=PolicyOutcome.REVOKE)
    assert sorted(r.pk for r in revoke.reports.all()) == sorted(r.report_id for r in results)
    assert "3 complaints within 24 h" in revoke.rule


def test_complaints_outside_the_window_do_not_count(open_account, run_after_commit):
    submit(run_after_commit, hours_ago=30, n=5)

    assert firewall() == set(CUSTOMER_IPS)
    assert not PolicyDecision.objects.exists()


def test_a_closed_port_is_not_revoked_but_flagged_for_the_desk(held_account, run_after_commit):
    account = held_account
    submit(run_after_commit, "spamtrap")

    egress = egress_of(account)
    assert (egress.desired, egress.source) == (EgressState.BLOCKED, EgressSource.DEFAULT)
    assert not Revocation.objects.exists()
    assert PolicyDecision.objects.get(outcome=PolicyOutcome.WARN).rule == (
        "1 spamtrap report within 24 h: revokes at once. Port 25 is not open: flagged for the abuse desk."
    )


def test_reports_about_a_revoked_account_wait_for_the_desk(open_account, run_after_commit):
    submit(run_after_commit, "spamtrap")
    submit(run_after_commit, "malware", n=2)

    assert PolicyDecision.objects.count() == 1
    assert policy.evaluate(open_account.pk) is None, "evaluating again is harmless"


def test_after_reinstatement_only_new_reports_count(open_account, run_after_commit, abuse_desk):
    submit(run_after_commit, "spamtrap")
    run_after_commit(lambda: reinstate(Revocation.objects.get(), abuse_desk, "Removed the infected plugin."))
    assert firewall() == set(CUSTOMER_IPS)

    assert policy.evaluate(open_account.pk) is None, "the old spam-trap hit does not revoke again"
    submit(run_after_commit, "compromised", hours_ago=0)

    assert firewall() == set()
    assert list(Revocation.objects.order_by("ordinal").values_list("ordinal", "state")) == [
        (1, "reinstated"),
        (2, "active"),
    ]
    second = Revocation.objects.get(ordinal=2).decision
    assert [report.category for report in second.reports.all()] == ["compromised"], "the decision names the new one"


def test_accounts_are_weighed_separately(open_account, other_customer, run_after_commit):
    backdate_addresses(other_customer.membership.account, timezone.now() - timedelta(days=30))
    submit(run_after_commit, "spamtrap", ip=OTHER_IPS[0])

    assert firewall() == set(CUSTOMER_IPS)
    assert not Revocation.objects.filter(account=open_account).exists()


def test_the_sweep_takes_in_and_weighs_reports_whose_task_was_lost(open_account, run_after_commit):
    """As if the broker was down when the API received the report: its take-in task was never queued."""
    report = ReportInput(category="malware", source_ip=CUSTOMER_IPS[0], occurred_at=timezone.now())
    intake.receive(report, raw=b"{}", channel="json", reporter=None)  # its on-commit take-in never runs here
    assert firewall() == set(CUSTOMER_IPS)
    assert AbuseReport.objects.waiting().exists()

    run_after_commit(tasks.sweep.delay)

    assert firewall() == set()


def test_the_sweep_decides_for_reports_matched_by_a_worker_that_died_before_deciding(open_account, run_after_commit):
    """The take-in commits the match, then decides: a worker killed in between leaves matched reports undecided."""
    report = ReportInput(category="spamtrap", source_ip=CUSTOMER_IPS[0], occurred_at=timezone.now())
    intake.receive(report, raw=b"{}", channel="json", reporter=None)
    backlog._match_batch()  # what the dead worker got done
    assert not AbuseReport.objects.waiting().exists() and firewall() == set(CUSTOMER_IPS)

    run_after_commit(tasks.sweep.delay)

    assert firewall() == set()
    assert Revocation.objects.get(account=open_account).decision.reports.get().category == "spamtrap"
