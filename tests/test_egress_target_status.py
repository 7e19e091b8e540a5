"""Each enforcement target (a gateway of a fleet) as staff and the operator see it: in sync, behind or
failing; addresses desired and applied; the oldest owed change's age; the last error in words."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from egress.models import ChangeStatus, EgressChange, EgressSource, EgressState, EgressTarget
from egress.outbox import apply_due
from egress.services import set_desired_state
from egress.target_status import BEHIND, FAILING, IN_SYNC, explain, target_status
from tests.conftest import CUSTOMER_IPS
from tests.test_metrics import scrape, value


@pytest.fixture
def fleet(settings):
    settings.PORTAL_EGRESS_TARGETS = {name: {"backend": "simulated"} for name in ("gw1", "gw2", "gw3")}


def test_a_fleet_in_sync_a_gateway_behind_and_one_failing(fleet, account, admin_client, client):
    set_desired_state(account, EgressState.ALLOWED, source=EgressSource.REQUEST, reason="ok")
    apply_due("gw1")  # gw2 has not been reached yet; gw3 failed once
    EgressChange.objects.filter(target="gw3").update(attempts=1, last_error="POST /changes answered 401: no")
    later = timezone.now() + timedelta(minutes=7)

    with time_machine.travel(later, tick=False):
        statuses = {name: target_status(name, desired=2) for name in ("gw1", "gw2", "gw3")}
        page = admin_client.get("/admin/egress/egresstarget/").content.decode()
        samples = scrape(client)

    assert [statuses[name].state for name in ("gw1", "gw2", "gw3")] == [IN_SYNC, BEHIND, FAILING]
    assert [(statuses[name].applied, statuses[name].desired) for name in ("gw1", "gw2")] == [(2, 2), (0, 2)]
    assert statuses["gw1"].oldest_owed_age is None
    assert statuses["gw2"].oldest_owed_age >= timedelta(minutes=7)
    assert statuses["gw3"].explanation == "The gateway refused the portal's token: check the target's token."
    assert statuses["gw3"].last_error == "POST /changes answered 401: no"

    for shown in ("in sync", "behind", "failing", "2 / 2", "0 / 2", "7\xa0minutes", "refused the portal"):
        assert shown in page, shown
    assert value(samples, "portal_egress_target_addresses", target="gw2", kind="applied") == 0
    assert value(samples, "portal_egress_target_addresses", target="gw2", kind="desired") == 2
    assert value(samples, "portal_egress_target_failing", target="gw3") == 1
    assert value(samples, "portal_egress_target_failing", target="gw2") == 0


def test_a_failed_reconciliation_makes_a_target_failing_until_it_succeeds(fleet, db):
    EgressTarget.objects.create(name="gw1", last_error="GET /allowed failed: [Errno 111] Connection refused")
    assert target_status("gw1", desired=0).state == FAILING
    assert target_status("gw1", desired=0).explanation == "The gateway could not be reached."
    EgressTarget.objects.filter(name="gw1").update(last_error="")
    assert target_status("gw1", desired=0).state == IN_SYNC


def test_a_given_up_change_counts_as_failing(fleet, account):
    EgressChange.objects.create(target="gw1", account=account, addresses=CUSTOMER_IPS, status=ChangeStatus.FAILED)
    assert target_status("gw1", desired=2).state == FAILING


@pytest.mark.parametrize(
    ("error", "words"),
    [
        ("GET /allowed failed: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed", "is not signed by the CA"),
        ("POST /changes failed: The read operation timed out", "did not answer in time"),
        ('POST /changes answered 503: {"error": "nft failed"}', "could not apply the change"),
        ('POST /changes answered 413: {"error": "Too many addresses"}', "refused the change"),
        ("All connection attempts failed", "The target failed."),
    ],
)
def test_errors_are_said_in_words(error, words):
    assert words in explain(error)
