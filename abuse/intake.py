"""Taking reports in: every one is kept (accepted or rejected), each incident counts once,
each is matched to the account that held the address then, and the policy weighs it after commit.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils.translation import gettext as _

from abuse import arf, policy
from abuse.matching import address_at
from abuse.models import AbuseEvent, AbuseReport, Channel, EventKind, RejectedReport, Reporter
from abuse.reports import ReportInput, Unreadable
from accounts.models import User

logger = logging.getLogger(__name__)

ACCEPTED, DUPLICATE, UNMATCHED, REJECTED = "accepted", "duplicate", "unmatched", "rejected"


@dataclass(frozen=True)
class Result:
    """What became of one report; `as_dict` is what the API and `ingest_abuse --json` print."""

    status: str
    source_ip: str = ""
    account: str | None = None  # the account's reference (UUID)
    account_id: int | None = None
    report_id: int | None = None
    rejected_id: int | None = None
    reason: str = ""

    def as_dict(self) -> dict:
        data = {"status": self.status, "source_ip": self.source_ip or None, "account": self.account}
        if self.status == REJECTED:
            return {**data, "reason": self.reason, "rejected": self.rejected_id}
        return {**data, "report": self.report_id}


def accept(
    report: ReportInput,
    *,
    raw: bytes,
    channel: str,
    reporter: Reporter | None = None,
    filed_by: User | None = None,
    evaluate: bool = True,
) -> Result:
    """Store the report matched to its account, or count a second delivery of one we have.

    With `evaluate` (the default) the account is weighed after commit; a batch passes False
    and calls `evaluate_after_commit` once for all its accounts.
    """
    address = address_at(report.source_ip, report.occurred_at)
    account = address.server.account if address else None
    try:
        with transaction.atomic():
            row = AbuseReport.objects.create(
                reporter=reporter,
                filed_by=filed_by,
                channel=channel,
                reference=report.reference,
                fingerprint=report.fingerprint(),
                category=report.category,
                source_ip=report.source_ip,
                occurred_at=report.occurred_at,
                reported_domain=report.reported_domain,
                original_mail_from=report.original_mail_from,
                original_headers=report.original_headers,
                evidence=report.evidence,
                raw=raw,
                account=account,
                address=address,
            )
            if filed_by is not None and account is not None:
                AbuseEvent.objects.create(account=account, kind=EventKind.FILED, actor=filed_by, report=row)
    except IntegrityError:
        original = _already_received(report, reporter)
        if original is None:
            raise
        AbuseReport.objects.filter(pk=original.pk).update(deliveries=F("deliveries") + 1)
        return Result(
            DUPLICATE, original.source_ip, _reference(original.account), original.account_id, report_id=original.pk
        )
    if account is not None and evaluate:
        evaluate_after_commit([account.pk])
    status = ACCEPTED if account else UNMATCHED
    return Result(status, row.source_ip, _reference(account), account and account.pk, report_id=row.pk)


def reject(raw: bytes, reason: str, *, channel: str, reporter: Reporter | None = None) -> Result:
    """Keep what could not be accepted (up to the size limit), with the reason, for the abuse desk."""
    row = RejectedReport.objects.create(
        reporter=reporter,
        channel=channel,
        reason=reason,
        size=len(raw),
        raw=raw[: settings.PORTAL_ABUSE_MAX_REPORT_BYTES],
    )
    return Result(REJECTED, reason=reason, rejected_id=row.pk)


def ingest_arf(raw: bytes, *, reporter: Reporter | None) -> Result:
    """One raw ARF message, from the API or a mail file: accepted, a duplicate, or rejected and kept."""
    try:
        report = arf.parse(raw)
    except Unreadable as exc:
        return reject(raw, str(exc), channel=Channel.ARF, reporter=reporter)
    except Exception as exc:  # the mail parser on hostile input: keep the report rather than lose it
        logger.exception("Could not read an ARF report")
        reason = _("The message could not be read (%(error)s).") % {"error": type(exc).__name__}
        return reject(raw, reason, channel=Channel.ARF, reporter=reporter)
    return accept(report, raw=raw, channel=Channel.ARF, reporter=reporter)


def evaluate_after_commit(account_ids: Iterable[int]) -> None:
    """Weigh these accounts as soon as their reports are committed, in this process.

    Inline rather than queued: it costs a few reads, and a revocation then waits for one task
    (the firewall's apply), not two. If it fails, the periodic sweep weighs the account again.
    """
    ids = sorted(set(account_ids))

    def weigh() -> None:
        for account_id in ids:
            policy.evaluate(account_id)

    if ids:
        transaction.on_commit(weigh, robust=True)


def _already_received(report: ReportInput, reporter: Reporter | None) -> AbuseReport | None:
    same = Q(fingerprint=report.fingerprint())
    if report.reference and reporter is not None:
        same |= Q(reporter=reporter, reference=report.reference)
    return AbuseReport.objects.filter(same).select_related("account").first()


def _reference(account) -> str | None:
    return str(account.reference) if account is not None else None
