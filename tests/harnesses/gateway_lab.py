"""A fleet of gateway services (gateway/) in network namespaces the test makes (built on tests/harnesses/netns_lab.py).

Each gateway has a namespace of its own with nftables, a running `python -m gateway` serving TLS
with a certificate of a CA the lab makes, and a management link to the test's (root) namespace,
where the portal's `http` targets reach it. With `traffic=True` a customer namespace holding the
servers' addresses reaches an internet namespace through each gateway (one route per gateway), so a
SYN to tcp/25 is forwarded or refused by that gateway's ruleset for real.

Every gateway's nft can be held after a batch commits (`hold`), which puts a kill -9 exactly
between the kernel taking a change and the gateway answering it.
"""

import os
import random
import signal
import ssl
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.conftest import CUSTOMER_IPS
from tests.harnesses.live_services import log_tail, wait_for
from tests.harnesses.netns_lab import SPARE_IPS, Prober, add_address, ip, link, listening, namespaces, prober

ROOT = Path(__file__).resolve().parents[2]  # the checkout: tests/harnesses/ is two below it
TOKEN = "gateway-lab-token-0123456789"
PORT = 8443
# nft, held after a committed batch while $GATEWAY_LAB_HOLD/hold (a fifo) exists, until it is written.
NFT_WITH_HOLD = """#!/bin/sh
nft "$@"; rc=$?
if [ "$1" = "-f" ] && [ -p "$GATEWAY_LAB_HOLD/hold" ]; then
    : > "$GATEWAY_LAB_HOLD/reached"; read _ < "$GATEWAY_LAB_HOLD/hold"
fi
exit $rc
"""


def make_ca(directory: Path, name: str, hosts: list[str]) -> tuple[Path, Path, Path]:
    """A CA (openssl) and a server certificate it signs for `hosts` (IP addresses): (ca, cert, key)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca, key, csr, cert = (directory / f"{name}{s}" for s in ("-ca.key", "-ca.pem", ".key", ".csr", ".pem"))

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", f"/CN={name} test CA", "-keyout", str(ca_key), "-out", str(ca))  # fmt: skip
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-subj", f"/CN={name} gateway", "-keyout", str(key), "-out", str(csr))  # fmt: skip
    extensions = directory / f"{name}.ext"
    extensions.write_text("subjectAltName=" + ",".join(f"IP:{host}" for host in hosts) + "\n")
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
            "-days", "2", "-extfile", str(extensions), "-out", str(cert))  # fmt: skip
    return ca, cert, key


def trusting(ca: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))


@dataclass
class GatewayNode:
    index: int
    netns: str
    address: str  # on the management link, reached from the test's namespace
    state_dir: Path
    env: dict[str, str]
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"https://{self.address}:{PORT}/v1/port25"

    @property
    def destination(self) -> str:
        """The listener's address reached through this gateway."""
        return f"203.0.113.{self.index}"

    def start(self, ca: Path) -> None:
        self.launch()
        self.wait_healthy(ca)

    def launch(self) -> None:
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", self.netns, sys.executable, "-m", "gateway"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=open(self.state_dir / "gateway.log", "ab"),  # noqa: SIM115 - the child keeps it
            start_new_session=True,  # its own process group: kill -9 takes nft with it, as systemd would
        )

    def wait_healthy(self, ca: Path) -> None:
        wait_for(lambda: self._healthy(ca), 20, log_tail(self.state_dir / "gateway.log"))

    def _healthy(self, ca: Path) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"gateway {self.index} exited: {(self.state_dir / 'gateway.log').read_text()[-2000:]}")
        try:
            answer = httpx.get(f"https://{self.address}:{PORT}/healthz", verify=trusting(ca), timeout=1)
        except httpx.HTTPError:
            return False
        return answer.status_code == 200

    def kill(self) -> None:
        """kill -9 the service and whatever it runs (nft)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def nft(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["ip", "netns", "exec", self.netns, "nft", *args], capture_output=True, text=True,
                              timeout=30, check=False)  # fmt: skip

    @contextmanager
    def hold(self) -> Iterator[Path]:
        """While inside, the gateway's next `nft -f` commits and then waits; yields the file that
        appears when it does. Leaving releases it (if the process still lives)."""
        fifo, reached = self.state_dir / "hold", self.state_dir / "reached"
        reached.unlink(missing_ok=True)
        os.mkfifo(fifo)
        try:
            yield reached
        finally:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK) if reached.exists() and self.process else None
            fifo.unlink()
            if fd is not None:
                os.write(fd, b"\n")
                os.close(fd)


@dataclass
class FleetLab:
    gateways: list[GatewayNode]
    ca: Path
    other_ca: Path  # a CA that signed nothing of the lab's
    customer: str = ""
    listeners: list = field(default_factory=list)
    prober: Prober | None = None  # in the customer namespace

    def targets(self, **options) -> dict[str, dict]:
        return {
            f"gw{node.index}": {"backend": "http", "url": node.url, "token": TOKEN, "ca_file": str(self.ca),
                                "timeout": 5, **options}
            for node in self.gateways
        }  # fmt: skip

    def connect(self, node: GatewayNode, source: str) -> str:
        """Open tcp/25 from `source` in the customer namespace through `node` to the internet."""
        return self.prober.connect(source, node.destination)

    def through_each(self, source: str) -> list[str]:
        return [self.connect(node, source) for node in self.gateways]


@contextmanager
def fleet_lab(count: int, directory: Path, *, traffic: bool = True, **overrides: str) -> Iterator[FleetLab]:
    """`count` gateways, each in its namespace with a running service (GATEWAY_* `overrides` on top
    of the lab's); always torn down."""
    run = uuid.uuid4().hex[:6]
    subnet = f"100.{random.randint(64, 127)}"  # shared address space: a management link per gateway
    roles = [f"g{i}" for i in range(1, count + 1)] + (["cust", "inet"] if traffic else [])
    addresses = [f"{subnet}.{i}.2" for i in range(1, count + 1)]
    ca, cert, key = make_ca(directory / "tls", "lab", addresses)
    other_ca, _, _ = make_ca(directory / "tls", "other", addresses)
    wrapper = directory / "nft-with-hold"
    wrapper.write_text(NFT_WITH_HOLD)
    wrapper.chmod(0o755)
    with namespaces(*roles) as names, ExitStack() as stack:
        lab = FleetLab([], ca, other_ca, customer=names[count] if traffic else "")
        for i, netns in enumerate(names[:count], start=1):
            root_side = f"p25{run}m{i}"
            ip("link", "add", root_side, "type", "veth", "peer", "name", "mgmt0", "netns", netns)
            ip("addr", "add", f"{subnet}.{i}.1/24", "dev", root_side)
            ip("link", "set", root_side, "up")
            ip("-n", netns, "link", "set", "lo", "up")
            ip("-n", netns, "link", "set", "mgmt0", "up")
            add_address(netns, "mgmt0", addresses[i - 1])
            state = directory / f"g{i}"
            state.mkdir(parents=True, exist_ok=True)
            env = {
                "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
                "GATEWAY_TOKEN": TOKEN, "GATEWAY_HOST": addresses[i - 1], "GATEWAY_PORT": str(PORT),
                "GATEWAY_TLS_CERT": str(cert), "GATEWAY_TLS_KEY": str(key), "GATEWAY_STATE_DIR": str(state),
                "GATEWAY_NFT": str(wrapper), "GATEWAY_LAB_HOLD": str(state), "GATEWAY_NFT_TIMEOUT": "30", **overrides,
            }  # fmt: skip
            lab.gateways.append(GatewayNode(i, netns, addresses[i - 1], state, env))
        if traffic:
            _wire_traffic(lab, names[count + 1], stack)
        try:
            for node in lab.gateways:  # side by side: each start is an interpreter's imports
                node.launch()
            for node in lab.gateways:
                node.wait_healthy(ca)
            yield lab
        finally:
            for node in lab.gateways:
                node.kill()


def _wire_traffic(lab: FleetLab, internet: str, stack: ExitStack) -> None:
    """customer -> gateway i -> internet, for each i; replies go back by the gateway they came through."""
    customer = lab.customer
    ip("-n", customer, "link", "set", "lo", "up")
    for address in [*CUSTOMER_IPS, *SPARE_IPS]:  # on lo: every gateway's link may carry them
        ip("-n", customer, "addr", "add", address + ("/128" if ":" in address else "/32"), "dev", "lo")
    for node in lab.gateways:
        i, gw = node.index, node.netns
        link(customer, f"c{i}", gw, "down0")
        link(gw, "up0", internet, f"g{i}")
        add_address(customer, f"c{i}", f"172.16.{i}.1")
        add_address(gw, "down0", f"172.16.{i}.2")
        add_address(gw, "up0", f"172.17.{i}.2")
        add_address(internet, f"g{i}", f"172.17.{i}.1")
        ip("-n", internet, "addr", "add", f"{node.destination}/32", "dev", "lo")
        ip("-n", customer, "route", "add", f"{node.destination}/32", "via", f"172.16.{i}.2")
        ip("-n", gw, "route", "add", "default", "via", f"172.17.{i}.1")
        ip("-n", gw, "route", "add", "198.51.100.0/24", "via", f"172.16.{i}.1")
        ip("-n", internet, "rule", "add", "from", node.destination, "lookup", str(100 + i))
        ip("-n", internet, "route", "add", "default", "via", f"172.17.{i}.2", "table", str(100 + i))
        subprocess.run(["ip", "netns", "exec", gw, "sysctl", "-qw", "net.ipv4.ip_forward=1"], check=True, timeout=10)
    stack.enter_context(listening(internet))
    lab.prober = stack.enter_context(prober(customer))
