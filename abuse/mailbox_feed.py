"""The mailbox feed: feedback loops deliver to an abuse mailbox; the portal polls it over IMAPS.

Each message is stored first (its reports, or a rejection, and a MailboxMessage row, in one
transaction) and only then moved to the processed or rejected folder. A poll that dies in
between leaves the message where it was; the next poll finds its row (by UIDVALIDITY and UID,
or by its digest if the server renumbered) and only moves it. So a worker killed mid-batch, the
server restarting or a message seen twice neither loses nor doubles a report.

Anyone can send mail to the abuse mailbox: a message is filed under the reporter it proves to
come from (abuse.mail_authentication), and one that proves none is kept as unverified, which
weighs nothing until a person confirms it.
"""

import hashlib
import logging
import ssl
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from imapclient import IMAPClient

from abuse import intake, mail_authentication
from abuse.models import Channel, MailboxMessage

logger = logging.getLogger(__name__)

FETCH_AT_ONCE = 20  # messages fetched in one round trip
POLLING = "abuse:mailbox-poll"  # held in the cache while a poll runs


@dataclass(frozen=True)
class Mailbox:
    host: str
    port: int
    user: str
    password: str
    folders: list[str]
    processed: str
    rejected: str
    ca_file: str
    timeout: float

    @classmethod
    def from_settings(cls) -> "Mailbox":
        return cls(
            host=settings.PORTAL_ABUSE_IMAP_HOST,
            port=settings.PORTAL_ABUSE_IMAP_PORT,
            user=settings.PORTAL_ABUSE_IMAP_USER,
            password=settings.PORTAL_ABUSE_IMAP_PASSWORD,
            folders=list(settings.PORTAL_ABUSE_IMAP_FOLDERS),
            processed=settings.PORTAL_ABUSE_IMAP_PROCESSED,
            rejected=settings.PORTAL_ABUSE_IMAP_REJECTED,
            ca_file=settings.PORTAL_ABUSE_IMAP_CA_FILE,
            timeout=settings.PORTAL_ABUSE_IMAP_TIMEOUT,
        )

    def key(self, folder: str) -> str:
        return f"{self.user}@{self.host}/{folder}"

    def connect(self) -> IMAPClient:
        context = ssl.create_default_context(cafile=self.ca_file or None)
        client = IMAPClient(self.host, port=self.port, ssl=True, ssl_context=context, timeout=self.timeout)
        client.login(self.user, self.password)
        return client


def poll(mailbox: Mailbox | None = None) -> dict[str, int]:
    """Take in every message waiting in the mailbox's folders; counts of what became of them."""
    mailbox = mailbox or Mailbox.from_settings()
    counts = {"taken": 0, "seen_before": 0}
    with mailbox.connect() as client:
        for folder in (mailbox.processed, mailbox.rejected):
            if not client.folder_exists(folder):
                client.create_folder(folder)
        for folder in mailbox.folders:
            for outcome in _poll_folder(client, mailbox, folder):
                counts[outcome] += 1
    return counts


def _poll_folder(client: IMAPClient, mailbox: Mailbox, folder: str):
    uidvalidity = client.select_folder(folder)[b"UIDVALIDITY"]
    uids = client.search("ALL")
    for start in range(0, len(uids), FETCH_AT_ONCE):
        fetched = client.fetch(uids[start : start + FETCH_AT_ONCE], ["BODY.PEEK[]"])
        for uid, data in fetched.items():
            row, new = take(data[b"BODY[]"], mailbox.key(folder), uidvalidity, uid)
            destination = mailbox.rejected if row.status == intake.REJECTED else mailbox.processed
            client.move([uid], destination)
            MailboxMessage.objects.filter(pk=row.pk, moved_at__isnull=True).update(moved_at=timezone.now())
            yield "taken" if new else "seen_before"


def take(raw: bytes, key: str, uidvalidity: int, uid: int) -> tuple[MailboxMessage, bool]:
    """Store the message's reports once: (its row, whether it was new here)."""
    digest = hashlib.sha256(raw).hexdigest()
    seen = Q(mailbox=key, uidvalidity=uidvalidity, uid=uid) | Q(digest=digest)
    if (row := MailboxMessage.objects.filter(seen).first()) is not None:
        return row, False
    proof = mail_authentication.authenticate(raw)
    try:
        with transaction.atomic():
            results = intake.ingest(
                raw,
                reporter=proof.reporter,
                channel=Channel.IMAP,
                unverified=proof.reporter is None,
                authentication=proof.note,
            )
            rejected = all(result.status == intake.REJECTED for result in results)
            row = MailboxMessage.objects.create(
                mailbox=key,
                uidvalidity=uidvalidity,
                uid=uid,
                digest=digest,
                status=intake.REJECTED if rejected else intake.ACCEPTED,
            )
    except IntegrityError:  # another poll stored it a moment ago
        return MailboxMessage.objects.filter(seen).first(), False
    return row, True


def poll_unless_running() -> dict[str, int] | None:
    """Celery beat's poll of the abuse mailbox (abuse.tasks.poll_mailbox); a failed poll is
    simply the next one's work: nothing is moved before it is stored. A poll still running (a large
    backlog) is left alone: None."""
    lock_seconds = max(60.0, 10 * settings.PORTAL_ABUSE_IMAP_POLL_SECONDS)
    if not cache.add(POLLING, True, timeout=lock_seconds):
        return None
    try:
        return poll()
    finally:
        cache.delete(POLLING)
