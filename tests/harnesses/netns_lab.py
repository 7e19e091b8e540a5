"""Network namespaces for the `nftables` tests, joined by veth pairs, and connections through them.

The "customer" namespace holds the servers' addresses; the "internet" namespace listens on tcp/25.
The firewall is the customer host's own (output hook) or, with a "gateway" namespace between
them, the gateway's (forward hook). Addresses exist only inside the namespaces.
"""

import select
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tests.conftest import CUSTOMER_IPS

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

# One socket per line "source destination" on stdin, one answer per line: the interpreter starts once
# per namespace, not once per connection (0.1 s each, and the tests open hundreds).
PROBER = """
import socket, sys
for line in sys.stdin:
    source, destination = line.split()
    s = socket.socket(socket.AF_INET6 if ":" in source else socket.AF_INET)
    s.settimeout(3)
    try:
        s.bind((source, 0))
    except OSError as exc:
        print("! cannot bind", source, exc, flush=True)
        continue
    try:
        s.connect((destination, 25))
        print("connected", flush=True)
    except ConnectionRefusedError:
        print("refused", flush=True)
    except OSError as exc:
        print(type(exc).__name__, flush=True)
    finally:
        s.close()
"""


class Prober:
    """Opens tcp/25 from an address of `namespace` and says how it went: connected, refused, or the
    error (TimeoutError when a firewall drops the SYN)."""

    def __init__(self, namespace: str) -> None:
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", namespace, sys.executable, "-c", PROBER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def connect(self, source: str, destination: str) -> str:
        self.process.stdin.write(f"{source} {destination}\n")
        self.process.stdin.flush()
        ready, _, _ = select.select([self.process.stdout], [], [], 10)
        answer = self.process.stdout.readline().strip() if ready else ""
        if not answer or answer.startswith("!"):
            raise AssertionError(f"probe from {source} to {destination}: {answer or 'no answer in 10 s'}")
        return answer

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


@contextmanager
def prober(namespace: str) -> Iterator[Prober]:
    started = Prober(namespace)
    try:
        yield started
    finally:
        started.close()


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@dataclass
class Lab:
    customer: str  # the namespace holding the servers' addresses
    firewall: str  # the namespace nft runs in
    internet: dict[int, str]  # the listener's address per IP version
    prober: Prober  # in the customer namespace


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


@contextmanager
def host_lab_context() -> Iterator[Lab]:
    """customer <-> internet: the firewall is the customer host's own (output hook)."""
    with namespaces("cust", "inet") as (customer, internet):
        link(customer, "veth0", internet, "veth1")
        for address in [*CUSTOMER_IPS, *SPARE_IPS]:
            add_address(customer, "veth0", address)
        for address in (INTERNET_V4, INTERNET_V6):
            add_address(internet, "veth1", address)
        with listening(internet), prober(customer) as probes:
            yield Lab(customer, customer, {4: INTERNET_V4, 6: INTERNET_V6}, probes)


@contextmanager
def gateway_lab_context() -> Iterator[Lab]:
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
        with listening(internet), prober(customer) as probes:
            yield Lab(customer, gateway, {4: "203.0.113.1", 6: "2001:db8:1::1"}, probes)


def connect(lab: Lab, source: str) -> str:
    """Open tcp/25 from `source` in the customer namespace to the listener in the internet namespace."""
    return lab.prober.connect(source, lab.internet[6 if ":" in source else 4])
