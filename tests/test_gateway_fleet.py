"""One portal drives a fleet of real gateway services (tests/harnesses/gateway_lab.py): three gateways, each
in its own network namespace with nftables, reached over TLS as `http` targets; a customer
namespace whose SYN to tcp/25 each gateway forwards or refuses for real."""

import re

import httpx
import pytest
import time_machine
from django.db.models import Sum

from accounts.services import delete_server, record_server
from egress import tasks
from egress.models import BucketSize, ChangeStatus, EgressChange, EgressSource, EgressState, TrafficCount
from egress.outbox import apply_due
from egress.reconcile import reconcile
from egress.targets import adapter_for
from egress.traffic import collect
from tests.conftest import CUSTOMER_IPS
from tests.egress_support import decide, eager_tasks
from tests.harnesses.gateway_lab import PORT, FleetLab, fleet_lab, trusting
from tests.harnesses.netns_lab import SPARE_IPS
from tests.parts import first_missing, missing, need_commands, need_root

__all__ = ["decide"]  # a fixture

pytestmark = missing(
    first_missing(
        need_root("build network namespaces"), need_commands(["nft", "ip", "openssl"], "Debian: nftables iproute2")
    )
)

V4 = CUSTOMER_IPS[0]  # the probes go over IPv4; the sets hold the IPv6 address too


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with fleet_lab(3, tmp_path_factory.mktemp("fleet")) as lab:
        yield lab


@pytest.fixture
def fleet(settings, lab: FleetLab, db) -> FleetLab:
    """Every gateway running with an empty firewall, each an `http` target; the first
    reconciliation sets them up (every account blocked)."""
    settings.PORTAL_EGRESS_TARGETS = lab.targets(timeout=2)
    settings.PORTAL_EGRESS_RETRY_DELAY = 1.0
    for node in lab.gateways:
        if node.process is None:
            node.start(lab.ca)
        node.nft("delete", "table", "inet", "port25")
    for name in settings.PORTAL_EGRESS_TARGETS:
        assert reconcile(name).error == ""
    return lab


def gateway_metric(lab: FleetLab, index: int, outcome: str) -> float:
    node = lab.gateways[index]
    text = httpx.get(f"https://{node.address}:{PORT}/metrics", verify=trusting(lab.ca)).text
    return float(re.search(rf'port25_gateway_changes_total{{outcome="{outcome}"}} (\S+)', text).group(1))


def test_approval_opens_every_gateway_and_revocation_closes_every_one(fleet, account, decide):
    assert fleet.through_each(V4) == ["refused"] * 3

    decide(account, EgressState.ALLOWED)
    assert fleet.through_each(V4) == ["connected"] * 3
    assert fleet.through_each(SPARE_IPS[0]) == ["refused"] * 3, "an address of no allowed account"

    decide(account, EgressState.BLOCKED, source=EgressSource.ABUSE)
    assert fleet.through_each(V4) == ["refused"] * 3
    assert set(EgressChange.objects.values_list("status", flat=True)) == {ChangeStatus.APPLIED}


def test_traffic_telemetry_sums_the_counters_of_every_gateway(fleet, account, decide):
    decide(account, EgressState.ALLOWED)
    assert fleet.through_each(V4) == ["connected"] * 3
    assert fleet.connect(fleet.gateways[0], V4) == "connected"

    collected = collect()

    assert collected.errors == {}
    per_target = dict(
        TrafficCount.objects.filter(size=BucketSize.DAY, ip=V4).values_list("target", "connections").order_by()
    )
    assert per_target == {"gw1": 2, "gw2": 1, "gw3": 1}
    assert TrafficCount.objects.filter(size=BucketSize.DAY, account=account).aggregate(n=Sum("connections")) == {
        "n": 4
    }


def test_a_server_added_to_an_allowed_account_is_allowed_on_every_gateway(
    fleet, account, decide, django_capture_on_commit_callbacks
):
    decide(account, EgressState.ALLOWED)
    with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
        server = record_server(account, "vm-acme-2", "vm2.example.com", SPARE_IPS)
    assert fleet.through_each(SPARE_IPS[0]) == ["connected"] * 3

    with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
        delete_server(server)
    assert fleet.through_each(SPARE_IPS[0]) == ["refused"] * 3
    assert fleet.through_each(V4) == ["connected"] * 3


def test_a_gateway_killed_mid_change_delays_only_itself_and_its_retry_is_not_applied_twice(fleet, account, decide):
    first = fleet.gateways[0]
    with first.hold() as reached:  # gw1's nft commits the change, then the service is killed
        decide(account, EgressState.ALLOWED)
        assert reached.exists()
        first.kill()
    # gw2 and gw3 applied; gw1's kernel had taken the batch before its service was killed.
    assert fleet.through_each(V4) == ["connected"] * 3
    change = EgressChange.objects.get(target="gw1")
    assert (change.status, change.attempts) == (ChangeStatus.PENDING, 1)
    first.start(fleet.ca)
    assert adapter_for("gw1").counters().connections == {V4: 1}
    with time_machine.travel(change.next_attempt_at, tick=False):
        assert apply_due("gw1").applied == 1

    change.refresh_from_db()
    assert change.status == ChangeStatus.APPLIED
    assert (gateway_metric(fleet, 0, "replayed"), gateway_metric(fleet, 0, "applied")) == (1, 0)
    assert adapter_for("gw1").counters().connections == {V4: 1}, "the counters were kept: nothing re-created"
    assert first.nft("list", "set", "inet", "port25", "allowed_v4").stdout.count(V4) == 1


def test_a_gateways_table_deleted_by_hand_is_restored_by_the_next_reconciliation(fleet, account, decide):
    decide(account, EgressState.ALLOWED)
    fleet.gateways[1].nft("delete", "table", "inet", "port25")
    assert fleet.through_each(V4) == ["connected", "connected", "connected"], "no table: nothing refused"
    assert fleet.through_each(SPARE_IPS[0])[1] == "connected"

    assert reconcile("gw2").added == set(CUSTOMER_IPS)

    assert fleet.through_each(V4) == ["connected"] * 3
    assert fleet.through_each(SPARE_IPS[0]) == ["refused"] * 3


def test_a_gateway_rebooted_empty_is_resynced_by_the_periodic_tasks(fleet, account, decide):
    decide(account, EgressState.ALLOWED)
    third = fleet.gateways[2]
    third.kill()
    third.nft("delete", "table", "inet", "port25")
    decide(account, EgressState.BLOCKED, source=EgressSource.ABUSE)  # decided while it is down
    decide(account, EgressState.ALLOWED, source=EgressSource.STAFF)
    assert EgressChange.objects.filter(target="gw3", status=ChangeStatus.PENDING).count() == 2

    third.start(fleet.ca)  # back, with an empty firewall: it forwards everything
    with eager_tasks():
        tasks.reconcile_all.delay()

    assert fleet.through_each(V4) == ["connected"] * 3
    assert fleet.through_each(SPARE_IPS[0]) == ["refused"] * 3
    assert not EgressChange.objects.filter(target="gw3", status=ChangeStatus.PENDING).exists()


def test_a_wrong_token_and_a_wrong_ca_are_refused_and_shown_on_the_targets_rows(
    fleet, settings, account, decide, admin_client
):
    settings.PORTAL_EGRESS_TARGETS = {
        **fleet.targets(timeout=2),
        "gw2": {**fleet.targets()["gw2"], "token": "not-the-gateways-token"},
        "gw3": {**fleet.targets()["gw3"], "ca_file": str(fleet.other_ca)},
    }
    decide(account, EgressState.ALLOWED)
    assert fleet.through_each(V4) == ["connected", "refused", "refused"]

    assert "401" in reconcile("gw2").error
    assert "CERTIFICATE_VERIFY_FAILED" in reconcile("gw3").error
    assert EgressChange.objects.get(target="gw2").status == ChangeStatus.FAILED, "a 401 is final"
    assert EgressChange.objects.get(target="gw3").status == ChangeStatus.PENDING, "a refused CA is retried"

    page = admin_client.get("/admin/egress/egresstarget/").content.decode()
    assert "401" in page and "CERTIFICATE_VERIFY_FAILED" in page
    assert "The gateway refused the portal&#x27;s token" in page
    assert "is not signed by the CA the target pins (ca_file): the portal refused it" in page
    assert page.count("failing") >= 2 and "in sync" in page
