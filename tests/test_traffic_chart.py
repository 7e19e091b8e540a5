"""The customer's traffic page: an SVG chart drawn on the server and the same figures as a table."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from egress.adapters.simulated import simulate_connections
from egress.models import EgressSource, EgressState
from egress.traffic import collect
from tests.conftest import CUSTOMER_IPS
from tests.egress_support import decide

__all__ = ["decide"]  # a fixture

TODAY = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def history(settings, customer, account, decide):
    """Three days of traffic from two addresses, a declared volume, and a block two days ago."""
    settings.PORTAL_EGRESS_TARGETS = {"edge": {"backend": "simulated"}}
    with time_machine.travel(TODAY - timedelta(days=3), tick=False) as clock:
        decide(account, EgressState.ALLOWED, expected_daily_volume=250)
        for day, (first, second) in enumerate(((100, 5), (300, 0), (40, 7))):
            simulate_connections("edge", CUSTOMER_IPS[0], first)
            simulate_connections("edge", CUSTOMER_IPS[1], second)
            collect()
            if day == 1:
                decide(account, EgressState.BLOCKED, source=EgressSource.STAFF)
                decide(account, EgressState.ALLOWED, source=EgressSource.STAFF)
            clock.shift(timedelta(days=1))
        yield account


def test_the_page_draws_each_address_the_declared_line_and_the_blocked_day(history, customer_client):
    with time_machine.travel(TODAY, tick=False):
        page = customer_client.get("/port25/traffic/").content.decode()

    assert page.count("<polyline") == 2
    assert 'stroke-dasharray="6 4"><title>Declared: 250 emails a day</title>' in page
    assert page.count("<title>Port 25 closed on") == 1 and "Port 25 closed on 2026-03-08" in page
    content = page.split("<main", 1)[-1]
    assert "<script" not in content and "style=" not in content, "nothing the CSP would refuse"


def test_the_table_says_the_same_for_screen_readers(history, customer_client):
    with time_machine.travel(TODAY, tick=False):
        page = customer_client.get("/port25/traffic/?days=30").content.decode()

    assert 'aria-labelledby="traffic-caption"' in page and 'id="traffic-caption"' in page
    assert "the last 30 days" in page
    assert page.count('<th scope="row">') == 30
    assert '<th scope="row">2026-03-08</th><td>300</td><td>0</td><td>closed</td>' in page
    assert '<th scope="row">2026-03-09</th><td>40</td><td>7</td><td>—</td>' in page


def test_another_account_sees_only_its_own_traffic(history, client, other_customer):
    client.force_login(other_customer)
    with time_machine.travel(TODAY, tick=False):
        page = client.get("/port25/traffic/").content.decode()
    assert "Nothing counted in this period." in page
    assert CUSTOMER_IPS[0] not in page


def test_staff_see_the_same_chart_and_table_on_the_accounts_egress_page(history, admin_client):
    with time_machine.travel(TODAY, tick=False):
        page = admin_client.get(f"/admin/egress/accountegress/{history.egress.pk}/change/").content.decode()
    assert page.count("<polyline") == 2
    assert "<td>2026-03-08</td><td>300</td><td>0</td><td>closed</td>" in page
    assert "expected emails a day" in page.lower()
