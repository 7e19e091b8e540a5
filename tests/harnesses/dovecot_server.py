"""A real Dovecot IMAPS server on loopback for the mailbox feed's tests, with a config of its own.

passwd-file authentication, a maildir and a self-signed certificate (openssl) in a tmp dir; run in
the foreground and stopped by its PID. Run as root, its processes take Dovecot's own users.
"""

import contextlib
import os
import pwd
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

from imapclient import IMAPClient

from tests.loopback import free_port
from tests.parts import need_commands

USER, PASSWORD = "feed", "feed-password"
MISSING = need_commands(["dovecot", "openssl"], "apt-get install dovecot-imapd openssl")

CONFIG = """
protocols = imap
listen = 127.0.0.1
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
default_internal_user = {internal}
default_internal_group = {internal_group}
default_login_user = {login}
ssl = required
ssl_cert = <{dir}/cert.pem
ssl_key = <{dir}/key.pem
auth_mechanisms = plain
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {dir}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={dir}/home/%u
}}
mail_location = maildir:{dir}/home/%u/Maildir
first_valid_uid = 1
service imap-login {{
  chroot =
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""


class Dovecot:
    def __init__(self) -> None:
        # Not pytest's tmp_path: its parents are private to the user, and Dovecot's users must read it.
        self.dir = directory = Path(tempfile.mkdtemp(prefix="dovecot-"))
        directory.chmod(0o755)
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.ca_file = directory / "cert.pem"
        subprocess.run(
            [
                *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost"),
                *("-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(directory / "key.pem")),
                *("-out", str(self.ca_file)),
            ],
            check=True,
            capture_output=True,
        )
        (directory / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        if os.geteuid() == 0:  # Dovecot runs nothing as root: its own users, owning the maildir
            internal, login = pwd.getpwnam("dovecot"), pwd.getpwnam("dovenull")
            uid, gid = internal.pw_uid, internal.pw_gid
            (directory / "home").mkdir()
            os.chown(directory / "home", uid, gid)
            names = {"internal": "dovecot", "internal_group": "dovecot", "login": login.pw_name}
        else:
            me = pwd.getpwuid(os.geteuid())
            uid, gid = me.pw_uid, me.pw_gid
            names = {"internal": me.pw_name, "internal_group": me.pw_name, "login": me.pw_name}
        (directory / "dovecot.conf").write_text(CONFIG.format(dir=directory, port=self.port, uid=uid, gid=gid, **names))

    def start(self) -> "Dovecot":
        self.process = subprocess.Popen(
            ["dovecot", "-F", "-c", str(self.dir / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=(self.dir / "stderr.log").open("ab"),
            start_new_session=True,  # its own process group: stopping it ends its login and imap processes too
        )
        deadline = time.monotonic() + 30
        while True:  # ready when a client logs in
            try:
                with self.client():
                    return self
            except (OSError, IMAPClient.Error):
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"Dovecot did not start: {self.log()}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):  # a client's process the master left behind
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        path = self.dir / "dovecot.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def client(self) -> IMAPClient:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        client = IMAPClient("127.0.0.1", port=self.port, ssl=True, ssl_context=context, timeout=10)
        client.login(USER, PASSWORD)
        return client

    def deliver(self, *messages: bytes, folder: str = "INBOX") -> None:
        with self.client() as client:
            for raw in messages:
                client.append(folder, raw)

    def count(self, folder: str) -> int:
        with self.client() as client:
            if not client.folder_exists(folder):
                return 0
            client.select_folder(folder, readonly=True)
            return len(client.search("ALL"))

    def settings(self) -> dict[str, object]:
        """The portal's settings that point the feed here."""
        return {
            "PORTAL_ABUSE_IMAP_HOST": "127.0.0.1",
            "PORTAL_ABUSE_IMAP_PORT": self.port,
            "PORTAL_ABUSE_IMAP_USER": USER,
            "PORTAL_ABUSE_IMAP_PASSWORD": PASSWORD,
            "PORTAL_ABUSE_IMAP_CA_FILE": str(self.ca_file),
        }
