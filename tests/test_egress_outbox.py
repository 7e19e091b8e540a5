"""The outbox's own rules: backoff, what a failure does to its rows, batch keys, retrying by hand."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from egress import outbox
from egress.adapters import EgressError
from egress.models import ChangeStatus, EgressChange
from tests.conftest import CUSTOMER_IPS

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _one_target(settings):
    settings.PORTAL_EGRESS_TARGETS = {"gw": {"backend": "simulated"}}
    settings.PORTAL_EGRESS_RETRY_DELAY = 2.0
    settings.PORTAL_EGRESS_MAX_ATTEMPTS = 3


def owed(account, n: int = 1) -> list[EgressChange]:
    return [EgressChange.objects.create(target="gw", account=account, addresses=CUSTOMER_IPS) for _ in range(n)]


def test_the_backoff_doubles_from_the_first_delay_up_to_an_hour():
    assert [outbox.backoff(attempts) for attempts in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]
    assert outbox.backoff(11) == 2048.0
    assert outbox.backoff(12) == outbox.backoff(40) == 3600.0


def test_a_failure_counts_an_attempt_keeps_the_error_and_says_when_to_come_back(account):
    first, second = owed(account, 2)
    second.attempts = 1

    with time_machine.travel(NOW, tick=False):
        retry_in = outbox._record_failure([first, second], RuntimeError("connection refused"))

    rows = {row.pk: row for row in EgressChange.objects.all()}
    assert (rows[first.pk].attempts, rows[second.pk].attempts) == (1, 2)
    assert {row.status for row in rows.values()} == {ChangeStatus.PENDING}
    assert {row.last_error for row in rows.values()} == {"connection refused"}
    assert rows[first.pk].next_attempt_at == NOW + timedelta(seconds=2)
    assert rows[second.pk].next_attempt_at == NOW + timedelta(seconds=4)
    assert retry_in == 2.0, "the earliest row due again"


def test_an_error_without_words_is_named_by_its_type_and_a_long_one_is_cut(account):
    quiet, loud = owed(account, 2)

    outbox._record_failure([quiet], TimeoutError())
    outbox._record_failure([loud], RuntimeError("x" * 5000))

    assert EgressChange.objects.get(pk=quiet.pk).last_error == "TimeoutError"
    assert EgressChange.objects.get(pk=loud.pk).last_error == "x" * 4000


def test_a_refusal_fails_at_once_and_the_last_attempt_fails_too(account):
    refused, worn_out, fresh = owed(account, 3)
    worn_out.attempts = 2  # the third attempt is the last (PORTAL_EGRESS_MAX_ATTEMPTS)

    assert outbox._record_failure([refused], EgressError("403 Forbidden", permanent=True)) is None
    assert outbox._record_failure([worn_out], EgressError("503")) is None
    assert outbox._record_failure([fresh], EgressError("503")) == 2.0

    statuses = dict(EgressChange.objects.values_list("pk", "status"))
    assert statuses == {
        refused.pk: ChangeStatus.FAILED,
        worn_out.pk: ChangeStatus.FAILED,
        fresh.pk: ChangeStatus.PENDING,
    }


def test_a_row_keeps_its_own_key_and_a_batch_one_made_from_its_rows(account):
    one, two, three = owed(account, 3)

    assert outbox._key([one]) == str(one.key)
    batch = outbox._key([one, two])
    assert batch == outbox._key([one, two]) != outbox._key([one, three])
    assert batch not in {str(one.key), str(two.key)}


def test_retrying_by_hand_makes_open_rows_due_now_and_leaves_applied_ones(account, django_capture_on_commit_callbacks):
    failed, pending, applied = owed(account, 3)
    later = NOW + timedelta(hours=1)
    EgressChange.objects.filter(pk=failed.pk).update(status=ChangeStatus.FAILED, next_attempt_at=later)
    EgressChange.objects.filter(pk=pending.pk).update(next_attempt_at=later)
    EgressChange.objects.filter(pk=applied.pk).update(status=ChangeStatus.APPLIED, next_attempt_at=later)

    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks() as queued:
        assert outbox.retry_now(EgressChange.objects.all()) == 2

    rows = {row.pk: row for row in EgressChange.objects.all()}
    assert [(rows[pk].status, rows[pk].next_attempt_at) for pk in (failed.pk, pending.pk)] == [
        (ChangeStatus.PENDING, NOW),
        (ChangeStatus.PENDING, NOW),
    ]
    assert (rows[applied.pk].status, rows[applied.pk].next_attempt_at) == (ChangeStatus.APPLIED, later)
    assert len(queued) == 1, "one apply queued for the target"


def test_an_apply_takes_due_rows_only_and_marks_them_applied(account):
    due, not_yet = owed(account, 2)
    EgressChange.objects.filter(pk=due.pk).update(next_attempt_at=NOW - timedelta(minutes=1))
    EgressChange.objects.filter(pk=not_yet.pk).update(next_attempt_at=NOW + timedelta(hours=1))

    with time_machine.travel(NOW, tick=False):
        result = outbox.apply_due("gw")

    assert result == outbox.ApplyResult(applied=1, retry_in=None)
    rows = {row.pk: row for row in EgressChange.objects.all()}
    assert (rows[due.pk].status, rows[due.pk].applied_at) == (ChangeStatus.APPLIED, NOW)
    assert (rows[not_yet.pk].status, rows[not_yet.pk].applied_at) == (ChangeStatus.PENDING, None)


def test_nested_blocks_queue_each_target_once_when_the_outermost_ends(account, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as queued, outbox.one_apply_per_target():
        outbox.record([account.pk], [])
        with outbox.one_apply_per_target():
            outbox.record([account.pk], [])
        assert queued == [], "nothing queued before the outermost block ends"
        outbox.record([account.pk], ["192.0.2.99"])

    assert len(queued) == 1
    assert EgressChange.objects.filter(account=account).count() == 3
    assert EgressChange.objects.filter(addresses=["192.0.2.99"]).count() == 1
