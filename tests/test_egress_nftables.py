"""The `nftables` backend for real, in network namespaces made by the test (tests/netns_lab.py)."""

import subprocess

import pytest

from accounts.services import delete_server, record_server
from egress.models import EgressSource, EgressState
from egress.reconcile import reconcile
from tests.conftest import CUSTOMER_IPS
from tests.egress_support import decide, eager_tasks
from tests.netns_lab import SPARE_IPS, Lab, connect, gateway_lab_context, host_lab_context
from tests.parts import first_missing, missing, need_commands, need_root

__all__ = ["decide"]  # a fixture

pytestmark = missing(
    first_missing(need_root("build network namespaces"), need_commands(["nft", "ip"], "Debian: nftables iproute2"))
)


@pytest.fixture
def host_lab():
    with host_lab_context() as lab:
        yield lab


@pytest.fixture
def gateway_lab():
    with gateway_lab_context() as lab:
        yield lab


def nft(lab: Lab, command: str) -> None:
    subprocess.run(["ip", "netns", "exec", lab.firewall, "nft", command], check=True, capture_output=True, timeout=10)


@pytest.fixture
def firewall(settings, host_lab, db) -> Lab:
    settings.PORTAL_EGRESS_TARGETS = {"host": {"backend": "nftables", "netns": host_lab.firewall, "table": "port25"}}
    reconcile("host")  # the first reconciliation sets the firewall up: every account starts blocked
    return host_lab


def test_port_25_is_refused_while_blocked_open_after_approval_refused_after_revocation(firewall, account, decide):
    assert [connect(firewall, address) for address in CUSTOMER_IPS] == ["refused", "refused"]

    decide(account, EgressState.ALLOWED)
    assert [connect(firewall, address) for address in CUSTOMER_IPS] == ["connected", "connected"]
    assert connect(firewall, SPARE_IPS[0]) == "refused", "an address of no allowed account"

    decide(account, EgressState.BLOCKED, source=EgressSource.ABUSE)
    assert [connect(firewall, address) for address in CUSTOMER_IPS] == ["refused", "refused"]


def test_reconciliation_restores_a_hand_deleted_element_and_removes_a_hand_added_one(firewall, account, decide):
    decide(account, EgressState.ALLOWED)
    nft(firewall, f"delete element inet port25 allowed_v4 {{ {CUSTOMER_IPS[0]} }}")
    nft(firewall, f"add element inet port25 allowed_v4 {{ {SPARE_IPS[0]} }}")
    assert connect(firewall, CUSTOMER_IPS[0]) == "refused"
    assert connect(firewall, SPARE_IPS[0]) == "connected"

    drift = reconcile("host")

    assert (drift.added, drift.removed) == ({CUSTOMER_IPS[0]}, {SPARE_IPS[0]})
    assert connect(firewall, CUSTOMER_IPS[0]) == "connected"
    assert connect(firewall, SPARE_IPS[0]) == "refused"


def test_reconciliation_restores_a_deleted_table(firewall, account, decide):
    decide(account, EgressState.ALLOWED)
    nft(firewall, "delete table inet port25")
    assert reconcile("host").added == set(CUSTOMER_IPS)
    assert connect(firewall, CUSTOMER_IPS[1]) == "connected"
    assert connect(firewall, SPARE_IPS[1]) == "refused"


def test_a_server_added_to_an_allowed_account_connects_without_a_new_request(
    firewall, account, decide, django_capture_on_commit_callbacks
):
    decide(account, EgressState.ALLOWED)
    with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
        server = record_server(account, "vm-acme-2", "vm2.example.com", SPARE_IPS)
    assert [connect(firewall, address) for address in SPARE_IPS] == ["connected", "connected"]

    with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
        delete_server(server)
    assert [connect(firewall, address) for address in SPARE_IPS] == ["refused", "refused"]
    assert connect(firewall, CUSTOMER_IPS[0]) == "connected"


def test_a_gateway_forwards_port_25_only_for_allowed_accounts(settings, gateway_lab, db, account, decide):
    settings.PORTAL_EGRESS_TARGETS = {
        "gateway": {"backend": "nftables", "netns": gateway_lab.firewall, "hook": "forward", "table": "egress25"}
    }
    reconcile("gateway")
    assert [connect(gateway_lab, address) for address in CUSTOMER_IPS] == ["refused", "refused"]

    decide(account, EgressState.ALLOWED)
    assert [connect(gateway_lab, address) for address in CUSTOMER_IPS] == ["connected", "connected"]

    decide(account, EgressState.BLOCKED, source=EgressSource.ABUSE)
    assert [connect(gateway_lab, address) for address in CUSTOMER_IPS] == ["refused", "refused"]
