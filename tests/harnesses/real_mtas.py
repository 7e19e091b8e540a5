"""Real mail servers on loopback for the relay probe: Debian's Postfix and an unpacked Exim.

One Postfix master serves every Postfix case, one listener per case (`-o` overrides in
master.cf); one Exim daemon per case. Each has a configuration folder of its own, nothing is
ever delivered (discard transports; the probe never sends DATA anyway), and each is started
and stopped by the PID of the process the test started.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.harnesses.live_services import log_tail
from tests.loopback import free_port
from tests.parts import first_missing, need_commands, need_env, need_root

POSTFIX = "/usr/sbin/postfix"
POSTFIX_MASTER = "/usr/lib/postfix/sbin/master"
EXIM_DIR_VARIABLE = "PORTAL_TEST_EXIM_DIR"  # scripts/test unpacks exim4-daemon-light there
PROBE_DOMAIN = "example.net"  # the foreign domain the probe tries to relay to (PORTAL_SMTP_PROBE_DOMAIN)
# The network of the mail server's own machines in the "stock" cases: the prober (127.0.0.1) is not in it.
SERVER_NETWORK = "192.0.2.0/24"
GREYLIST_REPLY = "451 4.7.1 Greylisted, please try again in 300 seconds"


@dataclass(frozen=True)
class Case:
    """One server of the matrix: how it is configured and what the probe must conclude."""

    name: str
    software: str  # postfix | exim
    verdict: str  # open | closed | inconclusive
    what: str
    settings: tuple[tuple[str, str], ...] = ()  # Postfix: smtpd -o overrides
    tls: bool = False


POSTFIX_CASES = (
    Case("postfix-stock", "postfix", "closed", "Postfix 3.7 defaults: defer_unauth_destination (454 4.7.1)"),
    Case(
        "postfix-reject",
        "postfix",
        "closed",
        "Postfix with reject_unauth_destination (554 5.7.1)",
        (("smtpd_relay_restrictions", "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination"),),
    ),
    Case(
        "postfix-open", "postfix", "open", "Postfix, mynetworks covering the prober", (("mynetworks", "127.0.0.0/8"),)
    ),
    Case(
        "postfix-tls-only",
        "postfix",
        "open",
        "Postfix that demands STARTTLS (530 5.7.0) and relays for the prober inside TLS",
        (("mynetworks", "127.0.0.0/8"), ("smtpd_tls_security_level", "encrypt")),
        tls=True,
    ),
    Case(
        "postfix-greylisting",
        "postfix",
        "inconclusive",
        "Postfix answering every recipient as a greylisting policy does (451 4.7.1)",
        (("smtpd_relay_restrictions", f"check_client_access static:{{{GREYLIST_REPLY}}}, reject_unauth_destination"),),
    ),
)
EXIM_CASES = (
    Case("exim-default", "exim", "closed", "Exim 4.96 with Debian's default relay ACL (550 relay not permitted)"),
    Case("exim-open", "exim", "open", "Exim accepting every recipient"),
)


def postfix_missing() -> str | None:
    return first_missing(
        need_commands(["postfix"], "apt-get install postfix; scripts/test presets debconf for it"),
        need_root("start a Postfix master"),
    )


def exim_missing() -> str | None:
    return first_missing(
        need_root("start Exim as its Debian-exim user"),
        need_env(EXIM_DIR_VARIABLE, what="an unpacked exim4-daemon-light"),
        None if _exim_binary().exists() else f"needs {_exim_binary()} (scripts/test unpacks exim4-daemon-light)",
    )


def _exim_binary() -> Path:
    return Path(os.environ.get(EXIM_DIR_VARIABLE, "/nonexistent")) / "usr/sbin/exim4"


def _wait_for_port(port: int, process: subprocess.Popen, log: Path, seconds: float = 30) -> None:
    """Poll until the server greets on `port` (bounded; the machine is shared and may be slow)."""
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}): {log_tail(log, 2000)()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                if sock.recv(3) == b"220":
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"nothing greeted on 127.0.0.1:{port} within {seconds} s: {log_tail(log, 2000)()}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _folder(prefix: str) -> Path:
    """A folder the servers' unprivileged users can enter (pytest's own tmp folders are root-only)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o755)
    return folder


class PostfixServers:
    """One Postfix master with a listener per case; `ports[case.name]` after `start()`."""

    def __init__(self, cases: tuple[Case, ...], certificate: tuple[Path, Path]) -> None:
        self.cases = cases
        self.certificate = certificate
        self.folder = _folder("portal-postfix-")
        self.ports = {case.name: free_port() for case in cases}
        self.process: subprocess.Popen | None = None

    def _main_cf(self) -> str:
        cert, key = self.certificate
        return "\n".join(
            [
                "compatibility_level = 3.6",
                f"queue_directory = {self.folder / 'queue'}",
                f"data_directory = {self.folder / 'data'}",
                f"maillog_file = {self.folder / 'maillog'}",
                f"maillog_file_prefixes = {self.folder}",
                "mail_owner = postfix",
                "setgid_group = postdrop",
                "myhostname = mail.postfix.test",
                "mydomain = postfix.test",
                "mydestination = $myhostname, localhost",
                "inet_interfaces = 127.0.0.1",
                "inet_protocols = ipv4",
                f"mynetworks = {SERVER_NETWORK}",
                # Postfix looks the client's name up before greeting; without DNS that costs a timeout.
                "smtpd_peername_lookup = no",
                "smtpd_client_connection_rate_limit = 0",
                "smtpd_hard_error_limit = 100",
                "smtpd_soft_error_limit = 100",
                "smtpd_error_sleep_time = 0",
                # Each accepted RCPT opens a queue file that RSET throws away; without deliveries to balance
                # them Postfix's flow control soon pauses a second before each new one.
                "in_flow_delay = 0",
                "default_transport = discard:never delivered",
                "relay_transport = discard:never delivered",
                "local_transport = discard:never delivered",
                "alias_maps =",
                "alias_database =",
                "biff = no",
                f"smtpd_tls_cert_file = {cert}",
                f"smtpd_tls_key_file = {key}",
                "smtpd_tls_security_level = may",
                "",
            ]
        )

    def _master_cf(self) -> str:
        listeners = []
        for case in self.cases:
            overrides = " ".join(f"-o {{{name} = {value}}}" for name, value in case.settings)
            name = f"mail.{case.name}.test"
            listeners.append(
                f"127.0.0.1:{self.ports[case.name]} inet n - n - - smtpd -o myhostname={name} {overrides}".rstrip()
            )
        services = [
            "cleanup unix n - n - 0 cleanup",
            "qmgr unix n - n 300 1 qmgr",
            "tlsmgr unix - - n 1000? 1 tlsmgr",
            "rewrite unix - - n - - trivial-rewrite",
            "bounce unix - - n - 0 bounce",
            "defer unix - - n - 0 bounce",
            "trace unix - - n - 0 bounce",
            "verify unix - - n - 1 verify",
            "proxymap unix - - n - - proxymap",
            "error unix - - n - - error",
            "retry unix - - n - - error",
            "discard unix - - n - - discard",
            "anvil unix - - n - 1 anvil",
            "scache unix - - n - 1 scache",
            "postlog unix-dgram n - n - 1 postlogd",
        ]
        return "\n".join([*listeners, *services, ""])

    def start(self) -> "PostfixServers":
        # smtpd reads its key as root before it drops privileges: a root-only copy beside the configuration.
        for source in self.certificate:
            shutil.copy(source, self.folder / source.name)
            (self.folder / source.name).chmod(0o600)
        self.certificate = (self.folder / self.certificate[0].name, self.folder / self.certificate[1].name)
        (self.folder / "main.cf").write_text(self._main_cf())
        (self.folder / "master.cf").write_text(self._master_cf())
        for folder in ("queue", "data"):
            (self.folder / folder).mkdir()
        shutil.chown(self.folder / "data", "postfix")
        # `postfix check` creates the queue's folders with their owners and modes.
        subprocess.run([POSTFIX, "-c", str(self.folder), "check"], check=True, capture_output=True, timeout=60)
        log = self.folder / "maillog"
        self.process = subprocess.Popen(
            [POSTFIX_MASTER, "-c", str(self.folder), "-d"],
            stdout=subprocess.DEVNULL,
            stderr=(self.folder / "master.err").open("wb"),
            env={**os.environ, "MAIL_CONFIG": str(self.folder)},
        )
        for port in self.ports.values():
            _wait_for_port(port, self.process, log)
        return self

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
        shutil.rmtree(self.folder, ignore_errors=True)


EXIM_CONF = """\
primary_hostname = {name}
daemon_smtp_ports = {port}
local_interfaces = 127.0.0.1
spool_directory = {folder}/spool
log_file_path = {folder}/log/%slog
pid_file_path = {folder}/exim.pid
exim_user = Debian-exim
exim_group = Debian-exim
never_users = root
host_lookup =
rfc1413_hosts =
domainlist local_domains = @ : localhost
domainlist relay_to_domains =
hostlist relay_from_hosts = {relay_from_hosts}
acl_smtp_rcpt = acl_check_rcpt
tls_advertise_hosts =

begin acl

acl_check_rcpt:
{rcpt_acl}

begin routers

discard_all:
  driver = redirect
  data = :blackhole:

begin transports
"""

# Debian's default ACL (exim4-config, acl_check_rcpt), the parts that decide relaying.
EXIM_DEFAULT_RCPT_ACL = """\
  accept hosts = :
  deny domains = +local_domains
       local_parts = ^[.] : ^.*[@%!/|]
       message = restricted characters in address
  deny domains = !+local_domains
       local_parts = ^[./|] : ^.*[@%!] : ^.*/\\\\.\\\\./
       message = restricted characters in address
  accept local_parts = postmaster
         domains = +local_domains
  accept hosts = +relay_from_hosts
  accept domains = +local_domains
  accept domains = +relay_to_domains
  deny message = relay not permitted
"""
EXIM_OPEN_RCPT_ACL = "  accept\n"


class EximServer:
    """An Exim daemon in the foreground (`exim4 -C CONF -bdf -oX PORT`), stopped by its PID."""

    def __init__(self, case: Case) -> None:
        self.case = case
        self.folder = _folder(f"portal-{case.name}-")
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> "EximServer":
        for sub in ("spool", "log"):
            (self.folder / sub).mkdir()
            shutil.chown(self.folder / sub, "Debian-exim", "Debian-exim")
        conf = self.folder / "exim.conf"
        conf.write_text(
            EXIM_CONF.format(
                name=f"mail.{self.case.name}.test",
                port=self.port,
                folder=self.folder,
                relay_from_hosts=SERVER_NETWORK,
                rcpt_acl=EXIM_OPEN_RCPT_ACL if self.case.verdict == "open" else EXIM_DEFAULT_RCPT_ACL,
            )
        )
        self.process = subprocess.Popen(
            [str(_exim_binary()), "-C", str(conf), "-bdf", "-oX", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=(self.folder / "exim.err").open("wb"),
        )
        _wait_for_port(self.port, self.process, self.folder / "exim.err")
        return self

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
        shutil.rmtree(self.folder, ignore_errors=True)
