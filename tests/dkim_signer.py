"""A DKIM signer this project did not write: OpenDKIM (Debian's opendkim), as a milter, driven by
miltertest the way an MTA drives it, with a key made by opendkim-genkey. The key's TXT record goes
into the tests' DNS zone (tests/dns_server.py), where the portal's resolver finds it.

The milter runs for as long as its fixture (`start`, `stop` by its PID), as beside a real MTA: started
by each miltertest session instead, one signature cost five seconds of its start and stop.
"""

import re
import subprocess
from pathlib import Path

from tests.harnesses.live_services import wait_for
from tests.parts import need_commands

MISSING = need_commands(
    ["opendkim", "opendkim-genkey", "miltertest"], "apt-get install opendkim opendkim-tools miltertest"
)

CONFIG = """\
Mode s
KeyTable {directory}/keys
SigningTable refile:{directory}/signing
SignatureAlgorithm rsa-sha256
Canonicalization relaxed/relaxed
SignHeaders From,To,Subject,Date,Message-ID,MIME-Version,Content-Type,Content-Transfer-Encoding
OversignHeaders From
Socket local:{directory}/opendkim.sock
PidFile {directory}/opendkim.pid
Syslog no
Background no
RequireSafeKeys false
InternalHosts 127.0.0.1
"""

# The milter session an MTA would hold for one message from a client on loopback.
SESSION = """\
local conn = mt.connect({socket}, 100, 0.05)
if conn == nil then error("opendkim did not listen") end
mt.conninfo(conn, "localhost", "127.0.0.1")
mt.macro(conn, SMFIC_MAIL, "i", "signing-test")
mt.mailfrom(conn, "fbl@sender.test")
mt.rcptto(conn, "abuse@provider.example")
{headers}
mt.eoh(conn)
mt.bodystring(conn, {body})
mt.eom(conn)
local signature = mt.getheader(conn, "DKIM-Signature", 0)
if signature == nil then error("opendkim added no signature") end
mt.echo(signature)
mt.disconnect(conn)
"""


def _lua(data: bytes) -> str:
    """A Lua string literal of any bytes: everything but letters and digits as a decimal escape."""
    return '"' + "".join(chr(byte) if chr(byte).isalnum() and byte < 128 else f"\\{byte:03d}" for byte in data) + '"'


class OpenDKIM:
    """Signs as `domain` with selector `selector`, whatever the From header says."""

    def __init__(self, directory: Path, domain: str, selector: str = "fbl") -> None:
        self.directory, self.domain, self.selector = directory, domain, selector
        directory.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["opendkim-genkey", "-b", "2048", "-D", str(directory), "-d", domain, "-s", selector],
            check=True,
            capture_output=True,
        )
        key = directory / f"{selector}.private"
        (directory / "keys").write_text(f"signer {domain}:{selector}:{key}\n")
        (directory / "signing").write_text("* signer\n")
        self.config = directory / "opendkim.conf"
        self.config.write_text(CONFIG.format(directory=directory))
        self.socket = directory / "opendkim.sock"
        self.log = directory / "opendkim.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> "OpenDKIM":
        """Run the milter in the foreground until `stop`; returns once it listens on its socket."""
        self.process = subprocess.Popen(
            ["/usr/sbin/opendkim", "-f", "-x", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("wb"),
        )
        wait_for(lambda: self.socket.exists() or self.process.poll() is not None, 30, self.log.read_text)
        if self.process.poll() is not None:
            raise RuntimeError(f"opendkim exited: {self.log.read_text()}")
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def zone(self) -> str:
        """The key's TXT record, as opendkim-genkey wrote it, for tests.dns_server.ZoneResolver.add."""
        written = (self.directory / f"{self.selector}.txt").read_text()
        strings = " ".join(re.findall(r'"[^"]*"', written))
        return f"{self.selector}._domainkey.{self.domain}. 300 IN TXT {strings}"

    def sign(self, raw: bytes) -> bytes:
        """The message with OpenDKIM's DKIM-Signature on top (CRLF line ends, as on the wire)."""
        message = raw.replace(b"\r\n", b"\n")
        head, _blank, body = message.partition(b"\n\n")
        fields = re.split(rb"\n(?![ \t])", head)
        headers = "\n".join(
            f"mt.header(conn, {_lua(name.strip())}, {_lua(value.lstrip())})"
            for name, _colon, value in (field.partition(b":") for field in fields)
        )
        script = SESSION.format(
            socket=_lua(f"local:{self.socket}".encode()),
            headers=headers,
            body=_lua(body.replace(b"\n", b"\r\n")),
        )
        path = self.directory / "sign.lua"
        path.write_text(script)
        done = subprocess.run(["miltertest", "-s", str(path)], capture_output=True, timeout=60, check=False)
        if done.returncode != 0 or not done.stdout.strip():
            raise RuntimeError(f"miltertest failed: {done.stderr.decode(errors='replace')}")
        value = done.stdout.decode().strip().replace("\r\n", "\n").replace("\n", "\r\n")
        return b"DKIM-Signature: " + value.encode() + b"\r\n" + message.replace(b"\n", b"\r\n")
