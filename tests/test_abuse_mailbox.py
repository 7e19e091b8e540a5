"""The mailbox feed against a real Dovecot (IMAPS on loopback): messages taken in, then moved; a
worker killed between storing and moving, a restart of Dovecot mid-poll or a message seen twice
neither loses nor doubles a report."""

import imaplib
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.core.cache import cache
from django.db import connection

from abuse import mailbox_feed, tasks
from abuse.models import AbuseReport, MailboxMessage, RejectedReport
from tests.abuse_samples import backdate_addresses, fbl_report, sample
from tests.harnesses.dovecot_server import MISSING, Dovecot
from tests.hostile_headers import TOKENS, field, placed
from tests.parts import first_missing, missing, need_postgres

ROOT = Path(__file__).resolve().parent.parent
AT = datetime(2026, 11, 20, 9, 58, 3, tzinfo=UTC)

pytestmark = missing(MISSING)


@pytest.fixture
def dovecot(settings):
    server = Dovecot()
    try:
        server.start()
        for name, value in server.settings().items():
            setattr(settings, name, value)
        yield server
    finally:
        server.remove()


@pytest.fixture
def held(account):
    backdate_addresses(account, datetime(2026, 1, 1, tzinfo=UTC))
    return account


def test_new_messages_are_taken_in_and_moved_to_processed_or_rejected(db, dovecot, held):
    dovecot.deliver(fbl_report(at=AT), sample("x-arf-login-attack.eml"), sample("not-arf.eml"))

    assert mailbox_feed.poll() == {"taken": 3, "seen_before": 0}

    assert (dovecot.count("INBOX"), dovecot.count("Processed"), dovecot.count("Rejected")) == (0, 2, 1)
    assert sorted(AbuseReport.objects.values_list("format", "channel", "account")) == [
        ("arf", "imap", held.pk),
        ("x-arf", "imap", held.pk),
    ]
    assert RejectedReport.objects.get().channel == "imap"
    assert MailboxMessage.objects.filter(moved_at__isnull=False).count() == 3
    assert mailbox_feed.poll() == {"taken": 0, "seen_before": 0}, "nothing is left to take"


def test_the_same_message_delivered_twice_is_one_report(db, dovecot, held):
    dovecot.deliver(fbl_report(at=AT), fbl_report(at=AT))

    assert mailbox_feed.poll() == {"taken": 1, "seen_before": 1}

    assert AbuseReport.objects.count() == 1
    assert (dovecot.count("INBOX"), dovecot.count("Processed")) == (0, 2)


def test_a_restart_of_dovecot_mid_poll_is_survived(db, dovecot, held, monkeypatch):
    dovecot.deliver(*(fbl_report(at=AT, number=n) for n in range(3)))
    take = mailbox_feed.take

    def take_then_restart(*args):
        taken = take(*args)
        monkeypatch.setattr(mailbox_feed, "take", take)
        dovecot.restart()  # the connection the poll holds is gone before the message is moved
        return taken

    monkeypatch.setattr(mailbox_feed, "take", take_then_restart)

    with pytest.raises((imaplib.IMAP4.abort, imaplib.IMAP4.error, OSError)):
        mailbox_feed.poll()
    assert (AbuseReport.objects.count(), dovecot.count("INBOX")) == (1, 3), "stored, not moved"

    assert mailbox_feed.poll() == {"taken": 2, "seen_before": 1}
    assert AbuseReport.objects.count() == 3
    assert (dovecot.count("INBOX"), dovecot.count("Processed")) == (0, 3)


KILLED_BETWEEN_STORE_AND_MOVE = """
import time
from pathlib import Path
from imapclient import IMAPClient
from abuse import mailbox_feed

def move(self, messages, folder):
    Path({marker!r}).write_text("stored")
    time.sleep(3600)  # killed here with SIGKILL: stored, never moved

IMAPClient.move = move
mailbox_feed.poll()
"""


@pytest.mark.django_db(transaction=True)
@missing(first_missing(MISSING, need_postgres("a database the killed worker shares")))
def test_a_worker_killed_between_storing_and_moving_loses_and_doubles_nothing(dovecot, held, tmp_path):
    dovecot.deliver(fbl_report(at=AT, number=1), fbl_report(at=AT, number=2))
    marker = tmp_path / "stored"
    url = urlsplit(os.environ["DATABASE_URL"])
    env = {
        **os.environ,
        "DATABASE_URL": urlunsplit(url._replace(path="/" + connection.settings_dict["NAME"])),
        **{name: str(value) for name, value in dovecot.settings().items()},
    }
    script = KILLED_BETWEEN_STORE_AND_MOVE.format(marker=str(marker))
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert worker.poll() is None, worker.stderr.read().decode(errors="replace")
            assert time.monotonic() < deadline, "the worker never stored a message"
            time.sleep(0.05)
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.kill()
        worker.wait(timeout=30)
        worker.stderr.close()
    assert (AbuseReport.objects.count(), MailboxMessage.objects.count()) == (1, 1)
    assert dovecot.count("INBOX") == 2, "killed before moving anything"

    assert mailbox_feed.poll() == {"taken": 1, "seen_before": 1}

    assert AbuseReport.objects.count() == 2
    assert list(AbuseReport.objects.values_list("deliveries", flat=True)) == [1, 1], "none counted twice"
    assert (dovecot.count("INBOX"), dovecot.count("Processed")) == (0, 2)


def test_the_beat_task_polls_unless_a_poll_is_running(db, dovecot, held):
    dovecot.deliver(fbl_report(at=AT))
    cache.add(mailbox_feed.POLLING, True)

    assert tasks.poll_mailbox() is None
    assert dovecot.count("INBOX") == 1

    cache.delete(mailbox_feed.POLLING)
    assert tasks.poll_mailbox() == {"taken": 1, "seen_before": 0}
    assert dovecot.count("INBOX") == 0


def test_the_abuse_desk_sees_what_the_feed_took(db, dovecot, held, admin_client):
    dovecot.deliver(fbl_report(at=AT))
    mailbox_feed.poll()

    page = admin_client.get("/admin/abuse/mailboxmessage/").content.decode()

    assert "feed@127.0.0.1/INBOX" in page


def test_a_message_beyond_the_header_limits_is_kept_as_rejected_and_moved_once(db, dovecot, held, settings):
    """Finding 2 of issue 23: a header that would take the parser to gigabytes is refused before
    parsing, stored as rejected with its reason and moved out of the inbox, so no poll meets it again."""
    settings.PORTAL_ABUSE_MAX_ENCODED_WORDS = 20
    hostile = placed("message", field(b"Subject", TOKENS["encoded-words"], 14 * 30))
    dovecot.deliver(hostile, fbl_report(at=AT))

    assert mailbox_feed.poll() == {"taken": 2, "seen_before": 0}
    assert mailbox_feed.poll() == {"taken": 0, "seen_before": 0}

    assert (dovecot.count("INBOX"), dovecot.count("Processed"), dovecot.count("Rejected")) == (0, 1, 1)
    rejected = RejectedReport.objects.get()
    assert "encoded words" in rejected.reason
    assert (rejected.channel, bytes(rejected.raw).replace(b"\r\n", b"\n")) == ("imap", hostile)  # IMAP: CRLF
    assert AbuseReport.objects.get().account == held
