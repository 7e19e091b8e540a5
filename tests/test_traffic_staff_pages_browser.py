"""axe-core finds no serious or critical violation on the staff pages of traffic: the reviewer's
request page with the traffic panel drawn, and the abuse desk's list of flagged accounts."""

import pytest

from egress.adapters.simulated import simulate_connections
from egress.models import AccountEgress, EgressSource, EgressState
from egress.services import set_desired_state
from egress.tasks import collect_traffic
from tests.browser_fixtures import sign_in
from tests.conftest import CUSTOMER_IPS
from tests.egress_support import eager_tasks
from tests.parts import missing
from tests.review_fixtures import abuse_desk, awaiting, reviewer
from tests.test_accessibility_browser import AXE, axe_page, severe_violations

__all__ = ["abuse_desk", "axe_page", "reviewer"]  # fixtures

pytestmark = [
    pytest.mark.browser,
    missing(None if AXE.exists() else "needs axe-core in node_modules (npm ci; scripts/test runs it)"),
]


def test_the_traffic_panel_and_the_flagged_accounts(
    axe_page, live_server, settings, reviewer, abuse_desk, customer, account
):
    settings.PORTAL_EGRESS_TARGETS = {"edge": {"backend": "simulated"}}
    request = awaiting(account, customer)
    with eager_tasks():
        set_desired_state(account, EgressState.ALLOWED, source=EgressSource.REQUEST, reason="approved")
        simulate_connections("edge", CUSTOMER_IPS[1], 12)
        simulate_connections("edge", CUSTOMER_IPS[0], 400, over_rate=True)
        collect_traffic.delay()
    assert AccountEgress.objects.get(account=account).source == EgressSource.TRAFFIC, "the burst blocked it"

    sign_in(axe_page, reviewer, live_server)
    review = f"/admin/requests_app/unblockrequest/{request.pk}/change/"
    found = severe_violations(axe_page, review, "staff-review-traffic")
    assert axe_page.locator("[data-testid=traffic-panel] polyline").count() == 2
    sign_in(axe_page, abuse_desk, live_server)
    found += severe_violations(axe_page, "/admin/abuse/abuseevent/flagged/", "staff-flagged-accounts")
    assert axe_page.get_by_text(account.name).count() >= 1
    assert found == [], "\n".join(found)
