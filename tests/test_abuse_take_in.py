"""The worker's half of the intake: a burst is matched at once, revocations decided first, warnings paced."""

import json
import logging
import os
from datetime import UTC, datetime, timedelta

import pytest
import redis
import time_machine
from django.core import mail
from django.utils import timezone

from abuse import backlog, intake, notifications, policy, tasks
from abuse.models import AbuseReport, PolicyDecision, PolicyOutcome, Revocation, SourceRule
from abuse.reports import ReportInput
from accounts.models import Account, ServerAddress
from egress.models import EgressSource, EgressState
from egress.services import set_desired_state
from tests.conftest import make_customer, redis_url
from tests.egress_support import eager_tasks
from tests.parts import missing, need_env

needs_redis = missing(
    need_env("PORTAL_REDIS_URL", "PORTAL_BROKER_URL", what="the Redis broker and cache that scripts/test starts")
)


@pytest.fixture(autouse=True)
def _policy(settings):
    settings.PORTAL_EGRESS_TARGETS = {"default": {"backend": "simulated"}}
    settings.PORTAL_ABUSE_REVOKE_AFTER, settings.PORTAL_ABUSE_WARN_AFTER = 3, 1


@pytest.fixture
def accounts(db) -> list[Account]:
    """Three customers whose port 25 is open, each with one address held for a week."""
    found = []
    for i in range(3):
        account = make_customer(f"c{i}@t.test", f"Customer {i}", f"vm-{i}", [f"203.0.113.{i + 1}"]).membership.account
        set_desired_state(account, EgressState.ALLOWED, source=EgressSource.REQUEST, reason="approved")
        found.append(account)
    ServerAddress.objects.update(assigned_at=timezone.now() - timedelta(days=7))
    return found


def receive(account: Account, category: str = "spam", number: int = 1) -> None:
    ip = ServerAddress.objects.get(server__account=account).ip
    report = ReportInput(category=category, source_ip=ip, occurred_at=timezone.now(), reference=f"{ip}-{number}")
    intake.receive(report, raw=b"{}", channel="json", reporter=None)


def decisions(account: Account) -> list[str]:
    return list(PolicyDecision.objects.filter(account=account).values_list("outcome", flat=True))


def test_a_take_in_revokes_at_once_and_leaves_warnings_for_later(accounts):
    spam_trapped, complained_about, _quiet = accounts
    receive(spam_trapped, "spamtrap")
    receive(complained_about, "spam")

    assert backlog.match_and_weigh() == (2, [complained_about.pk])

    assert Revocation.objects.filter(account=spam_trapped).open().exists()
    assert decisions(complained_about) == []
    assert backlog.warn_some([complained_about.pk]) == []
    assert decisions(complained_about) == [PolicyOutcome.WARN]


def test_deciding_again_adds_nothing_for_a_warned_a_revoked_or_a_quiet_account(accounts, caplog):
    """The sweep decides without the triage before it (and a report may race the triage): the lock's
    second look must find nothing new for an account warned already, one revoked, one with no report."""
    warned, revoked, quiet = accounts
    receive(warned)
    receive(revoked, "spamtrap")
    _matched, to_warn = backlog.match_and_weigh()
    policy.decide_each(to_warn)
    assert [decisions(account) for account in accounts] == [[PolicyOutcome.WARN], [PolicyOutcome.REVOKE], []]

    assert policy.decide_each([warned.pk, revoked.pk, quiet.pk]) == []
    assert [decisions(account) for account in accounts] == [[PolicyOutcome.WARN], [PolicyOutcome.REVOKE], []]
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR] == []


def test_an_account_with_nothing_to_decide_holds_up_none_decided_with_it(accounts):
    quiet, complained_about, _other = accounts
    receive(complained_about)
    backlog.match_and_weigh()

    [decision] = policy.decide_each([quiet.pk, complained_about.pk])

    assert (decision.account, decision.outcome) == (complained_about, PolicyOutcome.WARN)


def test_the_triage_names_only_accounts_asked_about_whose_counting_reports_may_decide(accounts, settings):
    """Its counts pick the accounts to decide: a report weighing too little, one older than the
    window, and a complaint about an account not asked about are none."""
    settings.PORTAL_ABUSE_DERIVED_WEIGHT, settings.PORTAL_ABUSE_WINDOW_HOURS = 0.5, 24
    derived, old, not_asked = accounts
    derived_ip = ServerAddress.objects.get(server__account=derived).ip
    trap = ReportInput(
        category="spamtrap", source_ip=derived_ip, occurred_at=timezone.now(), reference="derived",
        source_rule=SourceRule.OUTSIDE_HOP,
    )  # fmt: skip
    intake.receive(trap, raw=b"{}", channel="json", reporter=None)
    old_ip = ServerAddress.objects.get(server__account=old).ip
    stale = ReportInput(
        category="spam", source_ip=old_ip, occurred_at=timezone.now() - timedelta(hours=30), reference="old"
    )
    intake.receive(stale, raw=b"{}", channel="json", reporter=None)
    receive(not_asked)
    assert backlog.match_and_weigh() == (3, [not_asked.pk])

    assert policy.triage([derived.pk, old.pk]) == ([], [])


def test_revocations_decided_together_queue_one_firewall_apply(
    accounts, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    receive(accounts[0], "spamtrap")
    receive(accounts[1], "malware")

    # Matching, two revocations and their events and mail (46 queries): no report's field fetched on its own.
    with django_capture_on_commit_callbacks() as callbacks, django_assert_max_num_queries(46):
        backlog.match_and_weigh()

    assert Revocation.objects.open().count() == 2
    applies = [callback for callback in callbacks if getattr(callback, "__name__", "") == "dispatch_after_commit"]
    assert len(applies) == 1, "an apply takes every due change of its target"


def test_a_burst_about_one_account_makes_one_decision(accounts):
    for number in range(3):
        receive(accounts[0], "spam", number)

    assert backlog.match_and_weigh() == (3, [])
    assert decisions(accounts[0]) == [PolicyOutcome.REVOKE]
    assert Revocation.objects.get().decision.reports.count() == 3


def test_warnings_are_decided_a_few_at_a_time(accounts, monkeypatch):
    monkeypatch.setattr(backlog, "WARNINGS_AT_ONCE", 2)
    for account in accounts:
        receive(account)
    _matched, to_warn = backlog.match_and_weigh()

    assert backlog.warn_some(to_warn) == [accounts[2].pk]
    assert [decisions(account) for account in accounts] == [[PolicyOutcome.WARN], [PolicyOutcome.WARN], []]


def test_accounts_decided_together_share_their_queries(
    accounts, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    for account in accounts:
        receive(account)

    receive(accounts[2], number=2)  # the third account's second complaint
    _matched, to_warn = backlog.match_and_weigh()

    # Savepoint and release, lock, revocations, reports, traffic blocks, earlier warnings, three inserts,
    # the mails' recipients.
    with django_assert_max_num_queries(11), django_capture_on_commit_callbacks(execute=True):
        assert backlog.warn_some(to_warn) == []

    assert [decisions(account) for account in accounts] == [[PolicyOutcome.WARN]] * 3
    assert [decision.reports.count() for decision in PolicyDecision.objects.order_by("account")] == [1, 1, 2]
    assert {tuple(message.to): message.body.splitlines()[0] for message in mail.outbox} == {
        ("c0@t.test",): "We received an abuse report about mail sent from your servers.",
        ("c1@t.test",): "We received an abuse report about mail sent from your servers.",
        ("c2@t.test",): "We received 2 abuse reports about mail sent from your servers.",
    }


def test_an_account_that_cannot_be_decided_costs_the_others_decided_with_it_nothing(accounts, monkeypatch, caplog):
    for account in accounts:
        receive(account)
    _matched, to_warn = backlog.match_and_weigh()
    mail_to = notifications.warned

    def warned(warnings):
        if any(decision.account_id == accounts[1].pk for decision, _reports in warnings):
            raise RuntimeError("this account's mail cannot be written")
        mail_to(warnings)

    monkeypatch.setattr(notifications, "warned", warned)

    decided = policy.decide_each(to_warn)

    assert [decisions(account) for account in accounts] == [[PolicyOutcome.WARN], [], [PolicyOutcome.WARN]]
    assert [decision.account_id for decision in decided] == [accounts[0].pk, accounts[2].pk]
    assert [record.getMessage() for record in caplog.records if record.name == "abuse.policy"] == [
        f"Could not weigh accounts {to_warn} together; weighing each alone",
        f"Could not weigh account {accounts[1].pk}",
    ]


def test_evaluating_an_account_returns_its_decision_and_nothing_new_costs_only_the_triage(
    accounts, django_assert_max_num_queries
):
    receive(accounts[0])
    _matched, to_warn = backlog.match_and_weigh()
    assert to_warn == [accounts[0].pk]

    decision = policy.evaluate(accounts[0].pk)

    assert decision == PolicyDecision.objects.get(account=accounts[0])
    assert decision.outcome == PolicyOutcome.WARN
    # Revocations, reports weighed, traffic blocks, earlier warnings: read without a lock, none taken.
    with django_assert_max_num_queries(4):
        assert policy.evaluate(accounts[0].pk) is None


def test_accounts_are_decided_a_group_at_a_time_and_every_decision_is_returned(accounts, monkeypatch):
    monkeypatch.setattr(policy, "DECIDED_TOGETHER", 2)
    for account in accounts:
        receive(account)
    _matched, to_warn = backlog.match_and_weigh()

    decided = policy.decide_each(to_warn)

    assert sorted(decision.account_id for decision in decided) == sorted(account.pk for account in accounts)
    assert [decisions(account) for account in accounts] == [[PolicyOutcome.WARN]] * 3


def test_the_tasks_warn_every_account_in_the_end(accounts, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(backlog, "WARNINGS_AT_ONCE", 2)
    for account in accounts:
        receive(account)

    with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
        assert tasks.take_in_reports.delay().get() == 3

    assert [decisions(account) for account in accounts] == [[PolicyOutcome.WARN]] * 3
    assert not AbuseReport.objects.waiting().exists()


@pytest.fixture
def broker() -> redis.Redis:
    """The Redis broker's default queue, emptied before and after: no worker of these tests takes from it."""
    queue = redis.Redis.from_url(os.environ["PORTAL_BROKER_URL"])
    queue.delete("celery")
    yield queue
    queue.delete("celery")


def queued_take_ins(queue: redis.Redis) -> list[dict]:
    messages = [json.loads(message)["headers"] for message in queue.lrange("celery", 0, -1)]
    assert {headers["task"] for headers in messages} <= {"abuse.tasks.take_in_reports"}
    return messages


@needs_redis
def test_a_burst_queues_one_take_in_for_all_web_processes_and_the_next_report_another(db, settings, broker):
    """The mark is in the shared cache: fifty reports (of any process) queue one take-in, due after the
    interval; once it has started, the next report queues the next one."""
    settings.CACHES = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": redis_url(1)}}
    settings.PORTAL_ABUSE_TAKE_IN_INTERVAL = 60.0  # due long after this test: nothing expires meanwhile

    for _ in range(50):
        intake.take_in_soon()
    queued = queued_take_ins(broker)
    tasks.take_in_reports.apply()  # the queued take-in starting (here, in this process)
    intake.take_in_soon()

    assert len(queued) == 1
    assert datetime.fromisoformat(queued[0]["eta"]) > timezone.now() + timedelta(seconds=50)
    assert len(queued_take_ins(broker)) == 2


@needs_redis
def test_with_a_cache_of_its_own_the_mark_expires_when_the_take_in_is_due(settings, broker):
    """The embedded default: the worker cannot clear the web process's mark, its expiry does."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.PORTAL_ABUSE_TAKE_IN_INTERVAL = 0.1

    with time_machine.travel(datetime(2026, 12, 1, 12, 0, tzinfo=UTC), tick=False) as clock:
        intake.take_in_soon()
        intake.take_in_soon()
        clock.shift(timedelta(seconds=0.099))
        intake.take_in_soon()
        assert len(queued_take_ins(broker)) == 1
        clock.shift(timedelta(seconds=0.002))
        intake.take_in_soon()
        assert len(queued_take_ins(broker)) == 2
