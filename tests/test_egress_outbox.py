"""The outbox's own rules: backoff, what a failure does to its rows, batch keys, retrying by hand,
and what happens when its apply cannot be queued."""

import logging
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from celery import Celery

from egress import outbox
from egress.adapters import EgressError
from egress.models import ChangeStatus, EgressChange
from portal.celery import app
from tests.conftest import CUSTOMER_IPS
from tests.egress_support import API_TOKEN, FakeNetworkAPI, eager_tasks
from tests.loopback import free_port

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


def test_every_row_of_a_failed_batch_is_counted_and_fails_with_it(account):
    rows = owed(account, 3)

    outbox._record_failure(rows, EgressError("403 Forbidden", permanent=True))

    assert (
        list(EgressChange.objects.values_list("status", "attempts", "last_error"))
        == [(ChangeStatus.FAILED, 1, "403 Forbidden")] * 3
    )


def test_a_row_keeps_its_own_key_and_a_batch_one_made_from_its_rows(account):
    one, two, three = owed(account, 3)

    assert outbox._key([one]) == str(one.key)
    batch = outbox._key([one, two])
    assert batch == outbox._key([one, two]) != outbox._key([one, three])
    assert batch not in {str(one.key), str(two.key)}


def test_a_batch_key_is_derived_the_same_way_by_every_release(account):
    """A batch whose answer was lost may be retried by the next release: its key must not change
    across a deploy, or the target would take the retry for a new change."""
    one, two = owed(account, 2)
    EgressChange.objects.filter(pk=one.pk).update(key=uuid.UUID("00000000-0000-4000-8000-000000000001"))
    EgressChange.objects.filter(pk=two.pk).update(key=uuid.UUID("00000000-0000-4000-8000-000000000002"))

    assert outbox._key(list(EgressChange.objects.order_by("id"))) == "476c2ad9-547f-5887-a929-95a8671dc504"


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


@pytest.fixture
def network_api(settings):
    server = FakeNetworkAPI().start()
    settings.PORTAL_EGRESS_TARGETS = {"gw": {"backend": "http", "url": server.url, "token": API_TOKEN, "timeout": 5}}
    yield server
    server.stop()


def test_fresh_rows_due_at_different_times_go_as_one_change(account, network_api):
    rows = owed(account, 3)
    for minutes, row in enumerate(rows, start=1):
        EgressChange.objects.filter(pk=row.pk).update(next_attempt_at=NOW - timedelta(minutes=minutes))

    with time_machine.travel(NOW, tick=False):
        assert outbox.apply_due("gw") == outbox.ApplyResult(applied=3, retry_in=None)

    assert [call.key for call in network_api.posts()] == [outbox._key(sorted(rows, key=lambda row: row.pk))]


def test_each_failed_batch_goes_again_as_it_was_under_its_own_key(account, network_api):
    """Two batches failed at different times: each is retried alone, with the key the target saw."""
    first_batch, second_batch = owed(account, 2), owed(account, 1)
    for due, batch in ((NOW - timedelta(minutes=2), first_batch), (NOW - timedelta(minutes=1), second_batch)):
        EgressChange.objects.filter(pk__in=[row.pk for row in batch]).update(attempts=1, next_attempt_at=due)

    with time_machine.travel(NOW, tick=False):
        assert outbox.apply_due("gw") == outbox.ApplyResult(applied=3, retry_in=None)

    assert [call.key for call in network_api.posts()] == [outbox._key(first_batch), outbox._key(second_batch)]


def test_a_failed_apply_is_logged_with_its_target_key_and_error(account, network_api, caplog):
    [row] = owed(account)
    network_api.fail(503)

    with caplog.at_level(logging.WARNING, logger="egress.outbox"):
        outbox.apply_due("gw")

    row.refresh_from_db()
    assert [record.getMessage() for record in caplog.records] == [
        f"Egress target gw: change {row.key} failed: {row.last_error}"
    ]
    assert "503" in row.last_error


def test_without_a_broker_the_change_waits_for_the_sweep_and_the_log_says_why(caplog):
    """The web process's broker is down: queueing the apply must not fail the decision (the sweep
    finds the row), and the operator reads which target waits and why."""
    down = Celery("broker-down", broker=f"redis://127.0.0.1:{free_port()}/0", set_as_current=False)
    # No retries of the connection or the publish: kombu's defaults take 6 s to give up.
    down.conf.task_publish_retry = False
    down.conf.broker_transport_options = {"max_retries": 0}
    down.set_current()
    try:
        with caplog.at_level(logging.WARNING, logger="egress.outbox"):
            outbox.dispatch("gw")
    finally:
        app.set_current()

    [message] = [record.getMessage() for record in caplog.records]
    assert message.startswith("Egress target gw: broker unavailable (")
    assert "Connection refused" in message
    assert message.endswith("); the sweep will apply the change.")


def test_a_target_whose_apply_cannot_be_queued_does_not_hold_up_the_others(
    account, settings, django_capture_on_commit_callbacks
):
    """Staff retry rows of a target since removed from the settings beside rows of a live one: the
    first apply raises as it is queued, the second is queued and runs all the same."""
    gone, live = (
        EgressChange.objects.create(target=name, account=account, addresses=CUSTOMER_IPS) for name in ("gone", "gw")
    )
    EgressChange.objects.filter(pk__in=[gone.pk, live.pk]).update(status=ChangeStatus.FAILED)

    with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
        assert outbox.retry_now(EgressChange.objects.order_by("target")) == 2

    statuses = dict(EgressChange.objects.values_list("target", "status"))
    assert statuses == {"gone": ChangeStatus.PENDING, "gw": ChangeStatus.APPLIED}
