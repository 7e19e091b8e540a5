"""What staff see of an account's traffic: one panel (chart, per-address table, events) on the
reviewer's request page and the account's egress page, and the abuse desk's list of flagged accounts.

Traffic goes through the simulated backend, the real collector and the traffic policy (tasks inline).
"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from abuse import desk
from abuse.models import AbuseEvent, EventKind, PolicyDecision, PolicyOutcome
from egress.adapters.simulated import simulate_connections
from egress.models import EgressState, TrafficEvent
from egress.tasks import collect_traffic
from tests.conftest import CUSTOMER_IPS, OTHER_IPS
from tests.egress_support import decide, eager_tasks
from tests.review_fixtures import abuse_desk, awaiting, reviewer, staff_in

__all__ = ["abuse_desk", "decide", "reviewer"]  # fixtures

TODAY = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(TODAY - timedelta(days=2), tick=False) as traveller:
        yield traveller


@pytest.fixture
def burst(clock, settings, account, customer, decide, django_capture_on_commit_callbacks):
    """A request under review; the account opened, a quiet day from one address, then a burst from another."""
    settings.PORTAL_EGRESS_TARGETS = {"edge": {"backend": "simulated"}}
    settings.PORTAL_TRAFFIC_BURST_PER_MINUTE = 60
    settings.PORTAL_TRAFFIC_BLOCK_SECONDS = 3600
    request = awaiting(account, customer)
    decide(account, EgressState.ALLOWED, expected_daily_volume=250)

    def collect() -> None:
        with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
            collect_traffic.delay()

    simulate_connections("edge", CUSTOMER_IPS[1], 12)
    collect()
    clock.shift(timedelta(days=1))
    simulate_connections("edge", CUSTOMER_IPS[0], 400, over_rate=True)
    collect()
    simulate_connections("edge", CUSTOMER_IPS[0], 0, over_rate=False)  # the kernel's over-rate entry timed out
    clock.move_to(TODAY)
    return request


def review_page(client: Client, request) -> str:
    response = client.get(reverse("admin:requests_app_unblockrequest_change", args=[request.pk]))
    assert response.status_code == 200
    return response.content.decode()


def panel_of(page: str) -> str:
    return page.split('data-testid="traffic-panel"', 1)[1]


def test_the_reviewer_sees_the_chart_the_addresses_and_the_events_on_the_request_page(
    burst, client, reviewer, other_customer
):
    simulate_connections("edge", OTHER_IPS[0], 77, over_rate=True)
    with eager_tasks():
        collect_traffic.delay()
    assert TrafficEvent.objects.filter(ip=OTHER_IPS[0], account=other_customer.membership.account).exists()
    client.force_login(reviewer)
    panel = panel_of(review_page(client, burst))

    assert panel.count("<polyline") == 2
    assert 'aria-labelledby="traffic-caption"' in panel and 'id="traffic-caption"' in panel
    assert "Declared: 250 emails a day" in panel
    assert "<td>2026-03-09</td><td>400</td><td>0</td><td>closed</td>" in panel
    assert f"<tr><td>{CUSTOMER_IPS[0]}</td><td>400</td><td>0</td><td>1</td><td>2026-03-09</td></tr>" in panel
    assert f"<tr><td>{CUSTOMER_IPS[1]}</td><td>12</td><td>0</td><td>0</td><td>2026-03-08</td></tr>" in panel
    assert "Over the rate" in panel and f"{CUSTOMER_IPS[0]} opened 400 new connections in a minute" in panel
    assert "Port 25 blocked until 2026-03-09 13:00 UTC" in panel
    assert OTHER_IPS[0] not in panel, "only the request's account"


def test_the_accounts_egress_page_shows_the_same_panel(burst, client, abuse_desk):
    client.force_login(abuse_desk)
    reviewed = panel_of(review_page(client, burst))
    egress = burst.account.egress
    page = client.get(reverse("admin:egress_accountegress_change", args=[egress.pk])).content.decode()

    assert panel_of(page).split("</div>", 1)[0] == reviewed.split("</div>", 1)[0]


def test_an_account_without_traffic_says_so(account, customer, client, reviewer):
    client.force_login(reviewer)
    panel = panel_of(review_page(client, awaiting(account, customer)))
    assert "Nothing counted." in panel and "<polyline" not in panel


def test_staff_without_a_role_and_customers_do_not_see_the_request_page(burst, customer, django_user_model):
    staff, customer_browser = Client(), Client()
    staff.force_login(staff_in(django_user_model, "nobody@provider.test", None))
    customer_browser.force_login(customer)
    url = reverse("admin:requests_app_unblockrequest_change", args=[burst.pk])

    assert staff.get(url).status_code == 403
    response = customer_browser.get(url)
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]


FLAGGED = reverse("admin:abuse_flagged_accounts")


def flagged_rows(client: Client) -> list[str]:
    return [f.account.name for f in client.get(FLAGGED).context["flagged"]]


def test_the_abuse_desk_lists_an_account_blocked_for_a_while_for_the_days_the_traffic_policy_remembers(
    burst, client, abuse_desk, clock, settings
):
    settings.PORTAL_TRAFFIC_REPEAT_DAYS = 7
    client.force_login(abuse_desk)
    page = client.get(FLAGGED).content.decode()

    assert burst.account.name in page and "Port 25 blocked for a while (a burst): 1" in page
    clock.move_to(TODAY + timedelta(days=7))
    assert flagged_rows(client) == []


def test_an_unseen_warning_flags_the_account_until_the_desk_marks_it_seen(account, client, abuse_desk):
    warning = PolicyDecision.objects.record(account, PolicyOutcome.WARN, "1 complaint(s) within 24 h", [])
    AbuseEvent.objects.create(account=account, kind=EventKind.WARNED, decision=warning)
    client.force_login(abuse_desk)

    page = client.get(FLAGGED).content.decode()
    assert flagged_rows(client) == [account.name]
    assert f"?seen=no&amp;account__id__exact={account.pk}" in page

    desk.acknowledge([warning], abuse_desk)
    assert flagged_rows(client) == []


def test_the_flagged_list_needs_the_view_of_the_abuse_timeline(client, customer, reviewer, django_user_model):
    client.force_login(customer)
    response = client.get(FLAGGED)
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]
    client.force_login(staff_in(django_user_model, "nobody@provider.test", None))
    assert client.get(FLAGGED).status_code == 403
    client.force_login(reviewer)
    assert client.get(FLAGGED).status_code == 200
    timeline = client.get(reverse("admin:abuse_abuseevent_changelist")).content.decode()
    assert f'href="{FLAGGED}"' in timeline
