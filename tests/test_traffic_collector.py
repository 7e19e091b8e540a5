"""The traffic collector over the `simulated` and `http` backends alike, with the clock controlled.

Each backend is fed traffic the way its firewall would count it (allowed addresses' connections,
the others' attempts, sources over the rate), and the collector turns the cumulative counters into
buckets. The `nftables` backend's counters are tested for real in tests/test_traffic_nftables.py.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from egress.adapters.simulated import reset_counters, simulate_connections
from egress.models import BucketSize, EgressState, SimulatedTraffic, TrafficCount, TrafficEvent, TrafficReading
from egress.reconcile import reconcile
from egress.selectors import traffic_of
from egress.traffic import collect
from tests.conftest import CUSTOMER_IPS, OTHER_IPS
from tests.egress_support import API_TOKEN, FakeNetworkAPI, decide

__all__ = ["decide"]  # a fixture

NOON = datetime(2026, 3, 2, 12, 0, 30, tzinfo=UTC)
MINUTE, HOUR, DAY = NOON.replace(second=0), NOON.replace(minute=0, second=0), NOON.replace(hour=0, minute=0, second=0)


class Simulated:
    targets = {"edge": {"backend": "simulated"}}

    def count(self, ip: str, connections: int, *, over_rate: bool = False) -> None:
        simulate_connections("edge", ip, connections, over_rate=over_rate)

    def reset(self) -> None:
        reset_counters("edge")

    @contextmanager
    def missing(self, ip: str) -> Iterator[None]:
        """Readings taken meanwhile leave the address out, its counter kept (a listing that missed it)."""
        row = SimulatedTraffic.objects.get(target="edge", ip=ip)
        row.delete()
        yield
        row.save()


class Http:
    def __init__(self, api: FakeNetworkAPI) -> None:
        self.api = api
        self.targets = {"edge": {"backend": "http", "url": api.url, "token": API_TOKEN, "timeout": 5}}

    def count(self, ip: str, connections: int, *, over_rate: bool = False) -> None:
        self.api.count(ip, connections, over_rate=over_rate)

    def reset(self) -> None:
        self.api.reset_counters()

    @contextmanager
    def missing(self, ip: str) -> Iterator[None]:
        kept = self.api.connections.pop(ip)
        yield
        self.api.connections[ip] = kept


@pytest.fixture(params=["simulated", "http"])
def firewall(request, settings, db):
    settings.PORTAL_TRAFFIC_OVER_RATE_HOLD = 600
    if request.param == "simulated":
        backend = Simulated()
    else:
        api = FakeNetworkAPI().start()
        request.addfinalizer(api.stop)
        backend = Http(api)
    settings.PORTAL_EGRESS_TARGETS = backend.targets
    reconcile("edge")
    return backend


@pytest.fixture
def clock():
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


def counts(size: str) -> dict[tuple[datetime, str], tuple[int, int, int]]:
    rows = TrafficCount.objects.filter(size=size)
    return {(r.start, r.ip): (r.connections, r.blocked, r.over_rate) for r in rows}


def test_cumulative_counters_become_counts_per_minute_hour_and_day(firewall, clock, account, decide):
    decide(account, EgressState.ALLOWED)
    firewall.count(CUSTOMER_IPS[0], 3)
    collect()
    clock.shift(timedelta(minutes=1))
    firewall.count(CUSTOMER_IPS[0], 2)
    firewall.count(CUSTOMER_IPS[1], 1)
    collect()

    assert counts(BucketSize.MINUTE) == {
        (MINUTE, CUSTOMER_IPS[0]): (3, 0, 0),
        (MINUTE + timedelta(minutes=1), CUSTOMER_IPS[0]): (2, 0, 0),
        (MINUTE + timedelta(minutes=1), CUSTOMER_IPS[1]): (1, 0, 0),
    }
    assert counts(BucketSize.HOUR) == {(HOUR, CUSTOMER_IPS[0]): (5, 0, 0), (HOUR, CUSTOMER_IPS[1]): (1, 0, 0)}
    assert counts(BucketSize.DAY) == {(DAY, CUSTOMER_IPS[0]): (5, 0, 0), (DAY, CUSTOMER_IPS[1]): (1, 0, 0)}
    assert set(TrafficCount.objects.values_list("account", flat=True)) == {account.pk}


def test_attempts_from_a_blocked_account_are_counted_as_blocked(firewall, clock, account):
    firewall.count(CUSTOMER_IPS[0], 4)
    collect()
    assert counts(BucketSize.DAY) == {(DAY, CUSTOMER_IPS[0]): (0, 4, 0)}


def test_a_counter_that_starts_again_from_zero_is_neither_negative_nor_counted_twice(firewall, clock, account, decide):
    decide(account, EgressState.ALLOWED)
    firewall.count(CUSTOMER_IPS[0], 5)
    collect()
    firewall.reset()  # e.g. the table re-created by a reconciliation
    firewall.count(CUSTOMER_IPS[0], 2)
    collect()
    firewall.count(CUSTOMER_IPS[0], 1)
    collect()

    (total,) = counts(BucketSize.DAY).values()
    assert total == (8, 0, 0)


def test_an_address_left_out_of_one_reading_is_not_counted_twice_when_it_is_back(firewall, clock, account, decide):
    """The kernel can leave elements out of a listing made while it resizes a set."""
    decide(account, EgressState.ALLOWED)
    firewall.count(CUSTOMER_IPS[0], 5)
    collect()
    with firewall.missing(CUSTOMER_IPS[0]):
        collect()
    firewall.count(CUSTOMER_IPS[0], 2)
    collect()

    assert counts(BucketSize.DAY) == {(DAY, CUSTOMER_IPS[0]): (7, 0, 0)}


def test_readings_that_have_not_moved_for_two_days_are_forgotten(firewall, clock, account, decide):
    decide(account, EgressState.ALLOWED)
    firewall.count(CUSTOMER_IPS[0], 5)
    firewall.count(CUSTOMER_IPS[1], 1)
    collect()
    clock.shift(timedelta(days=2) - timedelta(minutes=1))
    firewall.count(CUSTOMER_IPS[1], 1)
    collect()
    assert TrafficReading.objects.count() == 2

    clock.shift(timedelta(minutes=2))
    collect()

    assert list(TrafficReading.objects.values_list("ip", "value")) == [(CUSTOMER_IPS[1], 2)]


def test_counters_that_did_not_move_write_nothing(firewall, clock, account, decide):
    decide(account, EgressState.ALLOWED)
    firewall.count(CUSTOMER_IPS[0], 5)
    collect()
    before = (counts(BucketSize.MINUTE), list(TrafficReading.objects.values_list("pk", "value")))
    clock.shift(timedelta(minutes=1))

    assert collect().addresses == {"edge": 0}
    assert (counts(BucketSize.MINUTE), list(TrafficReading.objects.values_list("pk", "value"))) == before


def test_a_source_over_the_rate_is_one_event_while_it_stays_listed(firewall, clock, account, decide):
    decide(account, EgressState.ALLOWED)
    firewall.count(CUSTOMER_IPS[0], 90, over_rate=True)
    (event_id,) = collect().events
    clock.shift(timedelta(minutes=5))
    firewall.count(CUSTOMER_IPS[0], 1, over_rate=True)
    assert collect().events == [], "still in the set from the same burst"

    event = TrafficEvent.objects.get(pk=event_id)
    assert (event.ip, event.account, event.connections) == (CUSTOMER_IPS[0], account, 90)
    clock.shift(timedelta(minutes=10))
    firewall.count(CUSTOMER_IPS[0], 1, over_rate=True)
    assert len(collect().events) == 1, "listed again after the hold: a new burst"


def test_buckets_past_their_retention_are_deleted_the_coarser_ones_kept(firewall, clock, account, decide, settings):
    settings.PORTAL_TRAFFIC_KEEP_MINUTES_HOURS = 1
    settings.PORTAL_TRAFFIC_KEEP_HOURS_DAYS = 1
    decide(account, EgressState.ALLOWED)
    firewall.count(CUSTOMER_IPS[0], 3)
    collect()
    clock.shift(timedelta(hours=2))
    collect()
    assert (len(counts(BucketSize.MINUTE)), len(counts(BucketSize.HOUR))) == (0, 1)
    clock.shift(timedelta(days=2))
    collect()
    assert (len(counts(BucketSize.HOUR)), len(counts(BucketSize.DAY))) == (0, 1)


def test_addresses_of_nobody_are_counted_without_an_account(firewall, clock, db):
    firewall.count(OTHER_IPS[0], 2)
    collect()
    assert list(TrafficCount.objects.values_list("account", flat=True).distinct()) == [None]


@pytest.fixture
def api_and_table(settings, account, decide):
    """A provider API beside a simulated target, the account allowed on both."""
    api = FakeNetworkAPI().start()
    settings.PORTAL_EGRESS_TARGETS = {
        "edge": {"backend": "simulated"},
        "api": {"backend": "http", "url": api.url, "token": API_TOKEN, "timeout": 5},
    }
    decide(account, EgressState.ALLOWED)
    yield api
    api.stop()


def test_the_account_series_sums_its_addresses_over_every_target(api_and_table, clock, account):
    simulate_connections("edge", CUSTOMER_IPS[0], 3)
    api_and_table.count(CUSTOMER_IPS[0], 4)
    collect()
    (row,) = traffic_of(account, since=DAY, size=BucketSize.DAY)
    assert (row["ip"], row["connections"], row["blocked"]) == (CUSTOMER_IPS[0], 7, 0)


def test_a_target_that_cannot_be_read_does_not_hold_up_the_others(api_and_table, clock, account):
    simulate_connections("edge", CUSTOMER_IPS[0], 3)
    api_and_table.fail(503)
    collected = collect()
    assert "503" in collected.errors["api"]
    assert collected.addresses == {"edge": 1}
