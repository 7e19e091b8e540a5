"""`manage.py egress_traffic`: an account's counted traffic beside its declared volume."""

import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from egress.adapters.simulated import simulate_connections
from egress.models import EgressState
from egress.targets import adapter_for
from egress.traffic import collect
from tests.conftest import CUSTOMER_IPS
from tests.egress_support import decide

__all__ = ["decide"]  # a fixture

NOON = datetime(2026, 3, 2, 12, 0, 30, tzinfo=UTC)


@pytest.fixture
def counted(settings, customer, account, decide):
    settings.PORTAL_EGRESS_TARGETS = {"edge": {"backend": "simulated"}}
    settings.PORTAL_TRAFFIC_OVER_RATE_HOLD = 600
    with time_machine.travel(NOON - timedelta(hours=2), tick=False) as clock:
        decide(account, EgressState.ALLOWED, expected_daily_volume=200)
        simulate_connections("edge", CUSTOMER_IPS[0], 120)
        collect()
        clock.shift(timedelta(hours=1))
        simulate_connections("edge", CUSTOMER_IPS[0], 900, over_rate=True)
        collect()
        clock.move_to(NOON)
        yield account


def run(*args: str) -> str:
    out = StringIO()
    call_command("egress_traffic", *args, stdout=out)
    return out.getvalue()


def test_json_has_buckets_per_address_and_target_events_and_the_declared_volume(counted):
    report = json.loads(run(str(counted.reference), "--hours", "3", "--json"))

    assert report["declared_daily_volume"] == 200
    assert report["bucket"] == "minute"
    (address,) = report["addresses"]
    assert (address["ip"], address["target"]) == (CUSTOMER_IPS[0], "edge")
    assert [b["connections"] for b in address["buckets"]] == [120, 900]
    assert report["per_day"] == [{"day": "2026-03-02", "connections": 1020, "blocked": 0}]
    (event,) = report["over_rate_events"]
    assert (event["ip"], event["connections_in_minute"]) == (CUSTOMER_IPS[0], 900)


def test_text_puts_declared_beside_observed(counted):
    out = run("Acme", "--hours", "24")
    assert "Declared: 200 emails a day" in out
    assert "2026-03-02: 1020 connections, 0 blocked attempts" in out
    assert "per hour" in out
    assert f"Over the rate: {CUSTOMER_IPS[0]}" in out


def test_an_unknown_account_or_a_bad_window_is_a_clear_error(counted):
    with pytest.raises(CommandError, match="No account"):
        run("nobody")
    with pytest.raises(CommandError, match="at least 1"):
        run("Acme", "--hours", "0")


def test_simulated_traffic_is_fed_by_command_and_counted_as_its_firewall_would(settings, account, decide):
    settings.PORTAL_EGRESS_TARGETS = {"edge": {"backend": "simulated"}, "gw": {"backend": "nftables"}}
    out = StringIO()
    call_command("simulate_traffic", "edge", "2001:DB8:0::7", "3", stdout=out)
    assert "3 blocked attempts from 2001:DB8:0::7" in out.getvalue()
    settings.PORTAL_EGRESS_TARGETS = {"edge": {"backend": "simulated"}}
    decide(account, EgressState.ALLOWED)
    call_command("simulate_traffic", "edge", CUSTOMER_IPS[0], "5", "--over-rate", stdout=out)
    collect()
    counters = adapter_for("edge").counters()
    assert (counters.connections, counters.blocked) == ({CUSTOMER_IPS[0]: 5}, {"2001:db8::7": 3})
    assert counters.over_rate == {CUSTOMER_IPS[0]}

    for bad, message in ((("gw", CUSTOMER_IPS[0], "1"), "simulated backend"), (("edge", "mail", "1"), "not an IP")):
        settings.PORTAL_EGRESS_TARGETS = {"edge": {"backend": "simulated"}, "gw": {"backend": "nftables"}}
        with pytest.raises(CommandError, match=message):
            call_command("simulate_traffic", *bad)
