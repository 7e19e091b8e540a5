"""The `nftables` backend for real: network namespaces made by the test, joined by veth pairs.

The "customer" namespace holds the servers' addresses; the "internet" namespace listens on tcp/25.
The firewall is the customer host's own (output hook) or, with a "gateway" namespace between
them, the gateway's (forward hook). Addresses exist only inside the namespaces.
"""

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

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


@dataclass
class Lab:
    customer: str  # the namespace holding the servers' addresses
    firewall: str  # the namespace nft runs in
    internet: dict[int, str]  # the listener's address per IP version


def add_address(namespace: str, device: str, address: str) -> None:
    if ":" in address:
        ip("-n", namespace, "addr", "add", f"{address}/64", "dev", device, "nodad")
    else:
        ip("-n", namespace, "addr", "add", f"{address}/24", "dev", device)


def link(a: str, a_device: str, b: str, b_device: str) -> None:
    ip("-n", a, "link", "add", a_device, "type", "veth", "peer", "name", b_device, "netns", b)
    for namespace, device in ((a, a_device), (b, b_device)):
        ip("-n", namespace, "link", "set", "lo", "up")
        ip("-n", namespace, "link", "set", device, "up")


@contextmanager
def namespaces(*roles: str) -> Iterator[list[str]]:
    """Namespaces with names unique to this run; always removed."""
    run_id = uuid.uuid4().hex[:8]
    names = [f"p25-{role}-{run_id}" for role in roles]
    try:
        for name in names:
            ip("netns", "add", name)
        yield names
    finally:
        for name in names:
            subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)


@contextmanager
def listening(namespace: str) -> Iterator[None]:
    listener = subprocess.Popen(
        ["ip", "netns", "exec", namespace, sys.executable, "-c", LISTENER], stdout=subprocess.PIPE, text=True
    )
    try:
        assert listener.stdout.readline().strip() == "ready"
        yield
    finally:
        listener.kill()
        listener.wait()


@pytest.fixture
def host_lab():
    """customer <-> internet: the firewall is the customer host's own (output hook)."""
    with namespaces("cust", "inet") as (customer, internet):
        link(customer, "veth0", internet, "veth1")
        for address in [*CUSTOMER_IPS, *SPARE_IPS]:
            add_address(customer, "veth0", address)
        for address in (INTERNET_V4, INTERNET_V6):
            add_address(internet, "veth1", address)
        with listening(internet):
            yield Lab(customer, customer, {4: INTERNET_V4, 6: INTERNET_V6})


@pytest.fixture
def gateway_lab():
    """customer <-> gateway <-> internet: the firewall is the gateway's (forward hook)."""
    with namespaces("cust", "gw", "inet") as (customer, gateway, internet):
        link(customer, "veth0", gateway, "down0")
        link(gateway, "up0", internet, "veth1")
        for address in CUSTOMER_IPS:
            add_address(customer, "veth0", address)
        add_address(gateway, "down0", "198.51.100.254")
        add_address(gateway, "down0", "2001:db8::fe")
        add_address(gateway, "up0", "203.0.113.254")
        add_address(gateway, "up0", "2001:db8:1::fe")
        add_address(internet, "veth1", "203.0.113.1")
        add_address(internet, "veth1", "2001:db8:1::1")
        ip("-n", customer, "route", "add", "default", "via", "198.51.100.254")
        ip("-n", customer, "-6", "route", "add", "default", "via", "2001:db8::fe")
        ip("-n", internet, "route", "add", "default", "via", "203.0.113.254")
        ip("-n", internet, "-6", "route", "add", "default", "via", "2001:db8:1::fe")
        for sysctl in ("net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"):
            subprocess.run(["ip", "netns", "exec", gateway, "sysctl", "-qw", sysctl], check=True, timeout=10)
        with listening(internet):
            yield Lab(customer, gateway, {4: "203.0.113.1", 6: "2001:db8:1::1"})


def connect(lab: Lab, source: str) -> str:
    """Open tcp/25 from `source` in the customer namespace to the listener in the internet namespace."""
    destination = lab.internet[6 if ":" in source else 4]
    result = subprocess.run(
        ["ip", "netns", "exec", lab.customer, sys.executable, "-c", PROBE, source, destination],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    return result.stdout.strip()


def nft(lab: Lab, command: str) -> None:
    subprocess.run(["ip", "netns", "exec", lab.firewall, "nft", command], check=True, capture_output=True, timeout=10)


@pytest.fixture
def firewall(settings, host_lab, db) -> Lab:
    settings.PORTAL_EGRESS_TARGETS = {"host": {"backend": "nftables", "netns": host_lab.firewall, "table": "port25"}}
    reconcile("host")  # the first reconciliation sets the firewall up: every account starts blocked
    return host_lab


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
