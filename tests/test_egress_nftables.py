"""The `nftables` backend for real, in network namespaces made by the test (tests/harnesses/netns_lab.py)."""

import ipaddress
import json
import subprocess

import pytest

from accounts.services import delete_server, record_server
from egress.adapters import Change, EgressError
from egress.adapters.nftables import NftablesAdapter
from egress.models import EgressSource, EgressState
from egress.reconcile import reconcile
from tests.conftest import CUSTOMER_IPS, OTHER_IPS
from tests.egress_support import decide, eager_tasks
from tests.harnesses.netns_lab import SPARE_IPS, Lab, connect, gateway_lab_context, host_lab_context
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


def test_the_allow_sets_have_a_fixed_size_and_list_whole_right_after_a_large_load(host_lab):
    """A set the kernel resizes while it is listed lists some elements twice and others not at all
    (a third of the first listings after loading 100,000 addresses per family, before the sets had
    a fixed size); a set with a size is a hash that never resizes."""
    adapter = NftablesAdapter(name="big", netns=host_lab.firewall, table="big25")
    first = int(ipaddress.IPv4Address("198.18.0.0"))
    addresses = frozenset(str(ipaddress.IPv4Address(first + n)) for n in range(100_000))

    adapter.apply(Change(key="load", allow=addresses))

    assert adapter.allowed() == addresses
    listed = subprocess.run(
        ["ip", "netns", "exec", host_lab.firewall, "nft", "-j", "list", "set", "inet", "big25", "allowed_v4"],
        check=True,
        capture_output=True,
    )
    (declared,) = [item["set"] for item in json.loads(listed.stdout)["nftables"] if "set" in item]
    assert declared["size"] == 262_144


def test_an_allow_set_at_its_size_is_said_plainly(host_lab):
    adapter = NftablesAdapter(name="small", netns=host_lab.firewall, table="small25", set_size=2)
    adapter.apply(Change(key="two", allow=frozenset(SPARE_IPS)))

    with pytest.raises(EgressError, match=r"An allow set of table small25 is full \(2 addresses\)"):
        adapter.apply(Change(key="three", allow=frozenset(OTHER_IPS)))
    assert adapter.allowed() == set(SPARE_IPS)
