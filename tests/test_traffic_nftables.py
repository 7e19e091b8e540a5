"""Traffic telemetry of the `nftables` backend for real: connections through a gateway namespace.

The lab (customer <-> gateway <-> internet) is built once for the module; each test starts from a
fresh table. Counters are read back from `nft -j` by the adapter itself.
"""

import subprocess
from datetime import timedelta

import pytest
import time_machine

from abuse.models import AbuseEvent, EventKind
from egress.models import EgressState, TrafficCount
from egress.reconcile import reconcile
from egress.targets import adapter_for
from egress.tasks import collect_traffic, sweep
from tests.conftest import CUSTOMER_IPS
from tests.egress_support import decide, eager_tasks
from tests.harnesses.netns_lab import connect, gateway_lab_context
from tests.parts import first_missing, missing, need_commands, need_root

__all__ = ["decide"]  # a fixture

pytestmark = missing(
    first_missing(need_root("build network namespaces"), need_commands(["nft", "ip"], "Debian: nftables iproute2"))
)

BURST = 5  # new connections a minute before a source is over the rate


@pytest.fixture(scope="module")
def lab():
    with gateway_lab_context() as built:
        # Neighbour discovery first, with no firewall yet: a SYN the gateway dropped while it
        # resolved a neighbour would be sent again and counted twice (a firewall counts SYNs).
        for address in CUSTOMER_IPS:
            assert connect(built, address) == "connected"
        yield built


def nft_in(lab, command: str) -> None:
    subprocess.run(["ip", "netns", "exec", lab.firewall, "nft", command], check=True, capture_output=True)


@pytest.fixture
def connect_from(lab):
    return lambda source: connect(lab, source)


@pytest.fixture
def gateway(settings, lab, db):
    settings.PORTAL_TRAFFIC_BURST_PER_MINUTE = BURST
    settings.PORTAL_TRAFFIC_OVER_RATE_HOLD = 600
    settings.PORTAL_EGRESS_TARGETS = {
        "gw": {"backend": "nftables", "netns": lab.firewall, "hook": "forward", "table": "egress25"}
    }
    subprocess.run(
        ["ip", "netns", "exec", lab.firewall, "nft", "delete", "table", "inet", "egress25"],
        capture_output=True,
        check=False,
    )
    reconcile("gw")
    return lab


def test_new_connections_of_allowed_addresses_are_counted_per_address(gateway, account, decide, connect_from):
    decide(account, EgressState.ALLOWED)
    assert [connect_from(CUSTOMER_IPS[0]) for _ in range(3)] == ["connected"] * 3
    assert connect_from(CUSTOMER_IPS[1]) == "connected"

    counters = adapter_for("gw").counters()

    assert counters.connections == {CUSTOMER_IPS[0]: 3, CUSTOMER_IPS[1]: 1}
    assert counters.blocked == {}
    assert counters.over_rate == frozenset()


def test_the_counters_of_every_shard_are_read_and_added_up(gateway):
    """The allowed addresses' counters are spread over eight sets per family: all are read, and an
    address found in two (after a change of their number) has its counts added."""
    shards = [f"conn_v4_{shard}" for shard in range(8)] + [f"conn_v6_{shard}" for shard in range(8)]
    for n, name in enumerate(shards):
        address = f"198.18.0.{n}" if "v4" in name else f"2001:db8::{n:x}"
        nft_in(gateway, f"add element inet egress25 {name} {{ {address} counter packets {n + 1} bytes 60 }}")
    nft_in(gateway, "add element inet egress25 conn_v4_7 { 198.18.0.0 counter packets 100 bytes 6000 }")

    connections = adapter_for("gw").counters().connections

    assert len(connections) == 16
    assert connections["198.18.0.0"] == 1 + 100 and connections["198.18.0.5"] == 6
    assert connections["2001:db8::f"] == 16


def test_attempts_from_addresses_not_allowed_are_counted_and_refused(gateway, account, connect_from):
    assert [connect_from(CUSTOMER_IPS[0]) for _ in range(2)] == ["refused"] * 2
    assert connect_from(CUSTOMER_IPS[1]) == "refused"

    counters = adapter_for("gw").counters()

    assert counters.blocked == {CUSTOMER_IPS[0]: 2, CUSTOMER_IPS[1]: 1}
    assert counters.connections == {}


def test_a_burst_above_the_rate_puts_the_source_in_the_over_rate_set(gateway, account, decide, connect_from):
    decide(account, EgressState.ALLOWED)
    for _ in range(BURST):  # within the rate (and nft's burst allowance)
        connect_from(CUSTOMER_IPS[1])
    assert adapter_for("gw").counters().over_rate == frozenset()

    for _ in range(2 * BURST + 2):
        connect_from(CUSTOMER_IPS[0])
    counters = adapter_for("gw").counters()

    assert counters.over_rate == {CUSTOMER_IPS[0]}
    assert counters.connections[CUSTOMER_IPS[0]] == 2 * BURST + 2, "connections are counted whatever the rate"


def test_re_applying_keeps_the_counters_and_a_recreated_table_starts_them_again(
    gateway, account, decide, connect_from
):
    decide(account, EgressState.ALLOWED)
    connect_from(CUSTOMER_IPS[0])
    reconcile("gw")  # the same batch again: the sets exist, their elements stay
    connect_from(CUSTOMER_IPS[0])
    assert adapter_for("gw").counters().connections == {CUSTOMER_IPS[0]: 2}

    subprocess.run(["ip", "netns", "exec", gateway.firewall, "nft", "delete", "table", "inet", "egress25"], check=True)
    reconcile("gw")
    connect_from(CUSTOMER_IPS[0])
    assert adapter_for("gw").counters().connections == {CUSTOMER_IPS[0]: 1}


@pytest.fixture
def run_task(django_capture_on_commit_callbacks):
    """Run a beat task as the worker would (inline), with what it queues after commit."""

    def _run(task) -> None:
        with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
            task.delay()

    return _run


def test_a_burst_is_blocked_for_its_cooldown_then_the_account_sends_again(
    gateway, account, decide, connect_from, run_task, settings
):
    settings.PORTAL_TRAFFIC_BLOCK_SECONDS = 30
    decide(account, EgressState.ALLOWED)
    for _ in range(2 * BURST + 2):
        assert connect_from(CUSTOMER_IPS[0]) == "connected"

    run_task(collect_traffic)

    assert [connect_from(address) for address in CUSTOMER_IPS] == ["refused", "refused"], "account-wide"
    account.egress.refresh_from_db()
    assert account.egress.until is not None
    run_task(sweep)
    assert connect_from(CUSTOMER_IPS[0]) == "refused", "not before the cooldown ends"
    with time_machine.travel(account.egress.until + timedelta(seconds=1)):
        run_task(sweep)
    assert [connect_from(address) for address in CUSTOMER_IPS] == ["connected", "connected"]


def test_attempts_from_a_blocked_address_are_counted_and_the_customer_told_once(
    gateway, account, connect_from, run_task, settings, mailoutbox
):
    settings.PORTAL_TRAFFIC_BLOCKED_TRIES_PER_HOUR = 3
    for _ in range(4):
        assert connect_from(CUSTOMER_IPS[0]) == "refused"
    run_task(collect_traffic)
    for _ in range(4):
        connect_from(CUSTOMER_IPS[0])
    run_task(collect_traffic)

    counted = TrafficCount.objects.filter(ip=CUSTOMER_IPS[0], size="day", account=account).values_list("blocked")
    assert list(counted) == [(8,)]
    assert AbuseEvent.objects.filter(account=account, kind=EventKind.TOLD_BLOCKED_TRIES).count() == 1
    assert len(mailoutbox) == 1 and "may be compromised" in mailoutbox[0].body
