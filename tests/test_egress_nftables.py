"""The `nftables` backend for real: two network namespaces made by the test, joined by a veth pair.

The "customer" namespace holds the servers' addresses and the firewall (output hook, as on a
host); the "internet" namespace listens on tcp/25. Addresses exist only inside the namespaces.
"""

import os
import shutil
import subprocess
import sys
import uuid

import pytest

from accounts.services import delete_server, record_server
from egress.models import EgressSource, EgressState
from egress.reconcile import reconcile
from egress.services import set_desired_state
from tests.conftest import CUSTOMER_IPS
from tests.egress_support import eager_tasks

INTERNET_V4, INTERNET_V6 = "198.51.100.1", "2001:db8::1"
SPARE_IPS = ["198.51.100.9", "198.51.100.10"]  # configured on the customer side, not in the inventory yet

LISTENER = """
import socket
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", 25))
s.listen(16)
print("ready", flush=True)
while True:
    s.accept()[0].close()
"""

PROBE = """
import socket, sys
source, destination = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET6 if ":" in source else socket.AF_INET)
s.settimeout(3)
s.bind((source, 0))
try:
    s.connect((destination, 25))
    print("connected")
except ConnectionRefusedError:
    print("refused")
except OSError as exc:
    print(type(exc).__name__)
"""

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("nft") or not shutil.which("ip"),
    reason="needs root, nft (Debian: nftables) and ip (iproute2) to build network namespaces; scripts/test has them",
)


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@pytest.fixture
def netns():
    """Create the two namespaces and the listener; always remove them."""
    run_id = uuid.uuid4().hex[:8]
    customer, internet = f"p25-cust-{run_id}", f"p25-inet-{run_id}"
    listener = None
    try:
        ip("netns", "add", customer)
        ip("netns", "add", internet)
        ip("-n", customer, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1", "netns", internet)
        for address in [*CUSTOMER_IPS, *SPARE_IPS]:
            prefix = "/64" if ":" in address else "/24"
            ip("-n", customer, "addr", "add", address + prefix, "dev", "veth0", *(["nodad"] if ":" in address else []))
        ip("-n", internet, "addr", "add", f"{INTERNET_V4}/24", "dev", "veth1")
        ip("-n", internet, "addr", "add", f"{INTERNET_V6}/64", "dev", "veth1", "nodad")
        for namespace, device in ((customer, "veth0"), (internet, "veth1")):
            ip("-n", namespace, "link", "set", "lo", "up")
            ip("-n", namespace, "link", "set", device, "up")
        listener = subprocess.Popen(
            ["ip", "netns", "exec", internet, sys.executable, "-c", LISTENER], stdout=subprocess.PIPE, text=True
        )
        assert listener.stdout.readline().strip() == "ready"
        yield customer
    finally:
        if listener is not None:
            listener.kill()
            listener.wait()
        for namespace in (customer, internet):
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True, check=False)


def connect(netns: str, source: str) -> str:
    """Open tcp/25 from `source` in the customer namespace to the internet namespace."""
    destination = INTERNET_V6 if ":" in source else INTERNET_V4
    result = subprocess.run(
        ["ip", "netns", "exec", netns, sys.executable, "-c", PROBE, source, destination],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    return result.stdout.strip()


def nft(netns: str, command: str) -> None:
    subprocess.run(["ip", "netns", "exec", netns, "nft", command], check=True, capture_output=True, timeout=10)


@pytest.fixture
def firewall(settings, netns, db):
    settings.PORTAL_EGRESS_TARGETS = {"host": {"backend": "nftables", "netns": netns, "table": "port25"}}
    reconcile("host")  # the first reconciliation sets the firewall up: every account starts blocked
    return netns


@pytest.fixture
def decide(django_capture_on_commit_callbacks):
    def _decide(account, state, source=EgressSource.REQUEST):
        with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
            set_desired_state(account, state, source=source, reason="test")

    return _decide


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
