"""The `http` backend against a provider API on loopback that fails on command; the outbox under faults."""

from datetime import timedelta

import pytest
import time_machine
from celery.exceptions import Retry
from django.utils import timezone

from egress.adapters import Change, EgressError
from egress.adapters.http import HttpAdapter
from egress.models import ChangeStatus, EgressChange, EgressSource, EgressState
from egress.outbox import apply_due
from egress.reconcile import reconcile
from egress.services import set_desired_state
from egress.tasks import apply_changes
from tests.conftest import CUSTOMER_IPS
from tests.egress_support import API_TOKEN, FakeNetworkAPI, eager_tasks


@pytest.fixture
def api():
    server = FakeNetworkAPI().start()
    yield server
    server.stop()


def adapter(api: FakeNetworkAPI, **options) -> HttpAdapter:
    options = {"timeout": 0.5, **options}
    return HttpAdapter(name="api", url=api.url, token=API_TOKEN, **options)


@pytest.fixture
def targets(settings, api):
    """An API target beside a simulated one: the API being down must not hold the other up."""
    settings.PORTAL_EGRESS_TARGETS = {
        "api": {"backend": "http", "url": api.url, "token": API_TOKEN, "timeout": 0.5},
        "local": {"backend": "simulated"},
    }
    settings.PORTAL_EGRESS_RETRY_DELAY = 0.5
    settings.PORTAL_EGRESS_MAX_ATTEMPTS = 3


def test_a_change_carries_the_token_the_key_and_the_addresses(api):
    adapter(api).apply(Change(key="k-1", allow=frozenset({"198.51.100.7"}), deny=frozenset({"198.51.100.8"})))
    (call,) = api.calls
    assert (call.method, call.path, call.key, call.status) == ("POST", "/v1/port25/changes", "k-1", 200)
    assert call.body == {"allow": ["198.51.100.7"], "deny": ["198.51.100.8"]}
    assert adapter(api).allowed() == {"198.51.100.7"}


def test_addresses_read_back_are_compared_in_the_form_the_portal_stores(api):
    api.allowed = {"2001:DB8:0:0::7", "198.51.100.7"}
    assert adapter(api).allowed() == {"2001:db8::7", "198.51.100.7"}
    api.allowed = {"not-an-address"}
    with pytest.raises(EgressError, match="malformed"):
        adapter(api).allowed()


def test_traffic_counters_are_read_in_the_portals_form_and_malformed_ones_refused(api):
    api.connections, api.blocked, api.over_rate = {"2001:DB8::7": 12}, {"198.51.100.9": 4}, {"2001:DB8::7"}
    counters = adapter(api).counters()
    assert (counters.connections, counters.blocked) == ({"2001:db8::7": 12}, {"198.51.100.9": 4})
    assert counters.over_rate == {"2001:db8::7"}
    for connections in ({"198.51.100.7": -1}, {"not-an-address": 1}, {"198.51.100.7": "many"}, ["198.51.100.7"]):
        api.connections = connections
        with pytest.raises(EgressError, match="malformed"):
            adapter(api).counters()


def test_a_5xx_is_one_attempt_reported_as_worth_retrying(api):
    api.fail(503, times=2)
    with pytest.raises(EgressError) as raised:
        adapter(api).apply(Change(key="k-2", allow=frozenset({"198.51.100.7"})))
    assert not raised.value.permanent
    assert "503" in str(raised.value)
    assert [(c.key, c.status) for c in api.posts()] == [("k-2", 503)], "the adapter itself does not retry"
    assert api.effects == []


def test_a_timeout_is_reported_and_the_retry_with_the_same_key_does_not_apply_the_change_twice(api):
    api.hang()  # takes the change, answers only after the client gave up
    with pytest.raises(EgressError) as raised:
        adapter(api, timeout=0.3).apply(Change(key="k-3", allow=frozenset({"198.51.100.7"})))
    assert not raised.value.permanent
    api.release.set()
    adapter(api).apply(Change(key="k-3", allow=frozenset({"198.51.100.7"})))  # as the outbox retries it
    assert [c.key for c in api.posts()] == ["k-3", "k-3"]
    assert api.effects == ["k-3"], "the retry was recognised by its key"
    assert api.allowed == {"198.51.100.7"}


def test_nobody_listening_is_reported_as_worth_retrying(api):
    url = api.url
    api.stop()
    with pytest.raises(EgressError, match="failed") as raised:
        HttpAdapter(name="api", url=url, token=API_TOKEN, timeout=0.5).allowed()
    assert not raised.value.permanent


def test_4xx_is_final_and_not_retried(api):
    api.fail(422)
    with pytest.raises(EgressError) as raised:
        adapter(api).apply(Change(key="k-4", allow=frozenset({"198.51.100.7"})))
    assert raised.value.permanent
    assert "422" in str(raised.value)
    assert len(api.posts()) == 1


def test_a_wrong_token_is_a_4xx(api):
    with pytest.raises(EgressError) as raised:
        HttpAdapter(name="api", url=api.url, token="wrong").allowed()
    assert raised.value.permanent
    assert len(api.calls) == 1


def test_a_failing_target_keeps_its_change_pending_and_retries_it_later(targets, api, account, admin_client):
    set_desired_state(account, EgressState.ALLOWED, source=EgressSource.REQUEST, reason="ok")
    api.fail(500)
    with eager_tasks():
        with pytest.raises(Retry) as retry:
            apply_changes.delay("api")
        assert apply_changes.delay("local").get() == 1, "the other target is not held up"
    assert retry.value.when == pytest.approx(0.5), "the task comes back when the backoff ends"

    change = EgressChange.objects.get(target="api")
    assert (change.status, change.attempts) == (ChangeStatus.PENDING, 1)
    assert "500" in change.last_error
    # Just before the backoff ends, not "now": on a loaded machine half a second may already be gone.
    with time_machine.travel(change.next_attempt_at - timedelta(milliseconds=1), tick=False):
        assert apply_due("api").applied == 0, "not due before its backoff"
    page = admin_client.get("/admin/egress/egresschange/?status__exact=pending").content.decode()
    assert "answered 500" in page

    assert len(api.posts()) == 1, "one attempt per apply: nothing retries while the target is locked"
    with time_machine.travel(change.next_attempt_at, tick=False):
        assert apply_due("api").applied == 1
    change.refresh_from_db()
    assert (change.status, change.attempts) == (ChangeStatus.APPLIED, 1)
    assert api.allowed == set(CUSTOMER_IPS)
    assert len(api.effects) == 1


def test_a_refused_change_fails_at_once_and_reconciliation_settles_it(targets, api, account):
    set_desired_state(account, EgressState.ALLOWED, source=EgressSource.REQUEST, reason="ok")
    api.fail(400)
    apply_due("api")
    change = EgressChange.objects.get(target="api")
    assert (change.status, change.attempts) == (ChangeStatus.FAILED, 1)
    assert len(api.posts()) == 1

    drift = reconcile("api")
    assert drift.added == set(CUSTOMER_IPS)
    change.refresh_from_db()
    assert change.status == ChangeStatus.APPLIED
    assert api.allowed == set(CUSTOMER_IPS)


def test_a_change_that_keeps_failing_is_marked_failed_after_the_last_attempt(targets, api, account):
    set_desired_state(account, EgressState.ALLOWED, source=EgressSource.REQUEST, reason="ok")
    api.fail(500, times=100)
    for _ in range(3):
        EgressChange.objects.filter(target="api").update(next_attempt_at=timezone.now())
        apply_due("api")
    change = EgressChange.objects.get(target="api")
    assert (change.status, change.attempts) == (ChangeStatus.FAILED, 3)


def test_a_target_that_cannot_be_read_reports_the_error(targets, api, account):
    api.fail(503, times=2)
    drift = reconcile("api")
    assert "503" in drift.error
    assert drift.added == set()


def test_a_retried_change_goes_again_alone_under_its_key_and_fresh_ones_batch_together(targets, api, account):
    rows = [EgressChange.objects.create(target="api", account=account, addresses=CUSTOMER_IPS) for _ in range(3)]
    EgressChange.objects.filter(target="api").update(next_attempt_at=timezone.now())  # all due at one moment
    EgressChange.objects.filter(pk=rows[0].pk).update(attempts=1)  # failed once before

    assert apply_due("api").applied == 3

    keys = [call.key for call in api.posts()]
    assert keys[0] == str(rows[0].key), "the retry is recognised by its key"
    assert len(keys) == 2 and keys[1] not in {str(row.key) for row in rows}, "the two fresh rows, one batch"


def test_an_apply_that_fails_half_way_reports_what_it_applied_and_when_to_come_back(targets, api, account, caplog):
    rows = [EgressChange.objects.create(target="api", account=account, addresses=CUSTOMER_IPS) for _ in range(3)]
    EgressChange.objects.filter(target="api").update(next_attempt_at=timezone.now())
    EgressChange.objects.filter(pk=rows[0].pk).update(attempts=1)
    api.stall(0)  # the retried row goes through
    api.fail(503)  # the fresh batch does not

    result = apply_due("api")

    assert (result.applied, result.retry_in) == (1, pytest.approx(0.5))
    assert dict(EgressChange.objects.values_list("pk", "status")) == {
        rows[0].pk: ChangeStatus.APPLIED,
        rows[1].pk: ChangeStatus.PENDING,
        rows[2].pk: ChangeStatus.PENDING,
    }
    assert f"Egress target api: change {api.posts()[1].key} failed" in caplog.text
