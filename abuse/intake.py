"""Taking reports in: every one is kept (accepted or rejected), each incident counts once,
each is matched to the account that held the address then, and the policy weighs that account.
"""

import logging
from contextlib import nullcontext
from dataclasses import dataclass, replace
from functools import partial

from celery import signature
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from kombu.exceptions import OperationalError

from abuse import formats, policy
from abuse.matching import address_at
from abuse.models import AbuseEvent, AbuseReport, Channel, EventKind, RejectedReport, Reporter
from abuse.reports import ReportInput, Unreadable
from abuse.sender import is_public
from accounts.models import ServerAddress, User

logger = logging.getLogger(__name__)

# abuse.tasks imports this module, so it queues the take-in by name.
TAKE_IN_REPORTS = "abuse.tasks.take_in_reports"
TAKE_IN_QUEUED = "abuse:take-in-queued"  # in the cache while a take-in is queued and has not started


def take_in_soon() -> None:
    """Queue a take-in of the reports committed so far, unless one is queued and has not started yet.

    Called after each report's commit. The first report of a burst queues the task
    PORTAL_ABUSE_TAKE_IN_INTERVAL seconds ahead and marks it in the cache (an atomic add, shared by
    the web processes); the burst's later reports find the mark and leave it at that. The task
    removes the mark before it reads the reports, so a report committed after that queues the next.
    The mark also expires when the task is due, which clears it where the worker does not share the
    cache (the embedded default). A lost task is covered by the sweep.
    """
    interval = settings.PORTAL_ABUSE_TAKE_IN_INTERVAL
    if cache.add(TAKE_IN_QUEUED, True, timeout=interval) is False:
        return  # queued already (None, not False: the cache is away, and a task too many is harmless)
    try:
        signature(TAKE_IN_REPORTS).apply_async(countdown=interval)
    except OperationalError as exc:
        cache.delete(TAKE_IN_QUEUED)
        logger.warning("Abuse take-in: broker unavailable (%s); the sweep will take the reports in.", exc)

ACCEPTED, DUPLICATE, UNMATCHED, REJECTED = "accepted", "duplicate", "unmatched", "rejected"


@dataclass(frozen=True)
class Result:
    """What became of one report; `as_dict` is what `ingest_abuse --json` prints."""

    status: str
    source_ip: str = ""
    account: str | None = None  # the account's reference (UUID)
    account_id: int | None = None
    report_id: int | None = None
    rejected_id: int | None = None
    reason: str = ""

    def for_reporter(self) -> dict:
        """The API's answer: what became of the report, not which customer holds the address."""
        return {key: value for key, value in self.as_dict().items() if key != "account"}

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
    raw_kept_by: int | None = None,
) -> Result:
    """Store the report matched to its account now, and weigh the account after commit.

    For the abuse desk's own hands (the admin, `ingest_abuse`), who want to see the match at once;
    the reporters' API uses `receive`, which leaves matching and weighing to the worker.
    """
    report, matchable = _matchable(report)
    address = address_at(report.source_ip, report.occurred_at) if matchable else None
    account = address.server.account if address else None
    with transaction.atomic():
        row = _row(
            report,
            raw=raw,
            channel=channel,
            reporter=reporter,
            filed_by=filed_by,
            address=address,
            matched=True,
            raw_kept_by=raw_kept_by,
        )
        report_id = _insert(row, report, reporter)
        if report_id is None:
            return _counted_again(report, reporter)
        if filed_by is not None and account is not None:
            AbuseEvent.objects.create(account=account, kind=EventKind.FILED, actor=filed_by, report_id=report_id)
    if account is None:
        reason = "" if matchable else PRIVATE_SOURCE
        return Result(UNMATCHED, report.source_ip, report_id=report_id, reason=str(reason))
    if not report.unverified:  # an unverified report weighs nothing: nothing to decide
        transaction.on_commit(partial(policy.evaluate, account.pk), robust=True)
    return Result(ACCEPTED, report.source_ip, str(account.reference), account.pk, report_id=report_id)


def receive(
    report: ReportInput, *, raw: bytes, channel: str, reporter: Reporter | None, raw_kept_by: int | None = None
) -> Result:
    """Store the report for the worker to match and weigh (abuse.backlog), and answer at once.

    A reporter's burst then costs the web process one insert per report; the worker takes the
    burst in together, a few milliseconds later, and weighs each account once.
    """
    report, matchable = _matchable(report)
    row = _row(report, raw=raw, channel=channel, reporter=reporter, matched=not matchable, raw_kept_by=raw_kept_by)
    report_id = _insert(row, report, reporter)
    if report_id is None:
        return _counted_again(report, reporter)
    if matchable:
        transaction.on_commit(take_in_soon, robust=True)
    return _received(report, matchable, report_id)


def receive_many(items: list[tuple[ReportInput, bytes]], *, channel: str, reporter: Reporter | None) -> list[Result]:
    """`receive` for a batch of (report, raw) in one transaction; the results in the batch's order.

    The incidents received before are found in one query and the new reports stored in one INSERT,
    so a reporter's batch costs a few round trips, not a few per report. Should a concurrent request
    store one of them meanwhile (a unique constraint fails), the batch is taken one report at a time.
    """
    prepared = [(*_matchable(report), raw) for report, raw in items]
    with transaction.atomic():
        seen = _keys_received_before([report for report, _matchable_, _raw in prepared], reporter)
        rows: list[AbuseReport | None] = []
        for report, matchable, raw in prepared:
            keys = _keys(report.fingerprint(), report.reference, reporter)
            fresh = not keys & seen
            seen |= keys
            row = _row(report, raw=raw, channel=channel, reporter=reporter, matched=not matchable)
            rows.append(row if fresh else None)
        try:
            with transaction.atomic():
                AbuseReport.objects.bulk_create([row for row in rows if row is not None])
        except IntegrityError:
            return [receive(report, raw=raw, channel=channel, reporter=reporter) for report, raw in items]
        results = [
            _counted_again(report, reporter) if row is None else _received(report, matchable, row.pk)
            for (report, matchable, _raw), row in zip(prepared, rows, strict=True)
        ]
        if any(result.status == ACCEPTED for result in results):
            transaction.on_commit(take_in_soon, robust=True)
    return results


def _received(report: ReportInput, matchable: bool, report_id: int) -> Result:
    if not matchable:
        return Result(UNMATCHED, report.source_ip, report_id=report_id, reason=str(PRIVATE_SOURCE))
    return Result(ACCEPTED, report.source_ip, report_id=report_id)


def _keys(fingerprint: str, reference: str, reporter: Reporter | None) -> set[tuple[str, str]]:
    """What makes two reports one incident (AbuseReport's unique constraints), as comparable keys."""
    keys = {("fingerprint", fingerprint)}
    if reference and reporter is not None:
        keys.add(("reference", reference))
    return keys


def _keys_received_before(reports: list[ReportInput], reporter: Reporter | None) -> set[tuple[str, str]]:
    """The keys (`_keys`) of these reports that stored reports have already, in one query."""
    keys = set()
    for fingerprint, reference, reporter_id in _received_before(reports, reporter).values_list(
        "fingerprint", "reference", "reporter_id"
    ):
        keys |= _keys(fingerprint, reference if reporter and reporter_id == reporter.pk else "", reporter)
    return keys


PRIVATE_SOURCE = gettext_lazy("A private or reserved address is never any account's: kept as unmatched.")


def _matchable(report: ReportInput) -> tuple[ReportInput, bool]:
    """Whether the report's address may be matched to an account; if not, the report says why."""
    if is_public(report.source_ip):
        return report, True
    notes = [*report.evidence.get("notes", []), str(PRIVATE_SOURCE)]
    return replace(report, evidence={**report.evidence, "notes": notes}), False


def _insert(row: AbuseReport, report: ReportInput, reporter: Reporter | None) -> int | None:
    """Store the row (`_row`) of this report: its id, or None for an incident received before.

    "Received before": the same fingerprint, or the same reporter's reference again (the unique
    constraints of AbuseReport); any other integrity error is raised.
    """
    # In autocommit a refused INSERT undoes nothing else; in a transaction a savepoint keeps it usable.
    try:
        with transaction.atomic() if transaction.get_connection().in_atomic_block else nullcontext():
            row.save(force_insert=True)
    except IntegrityError:
        if not _received_before([report], reporter).exists():
            raise
        return None
    return row.pk


def _row(
    report: ReportInput,
    *,
    raw: bytes,
    channel: str,
    reporter: Reporter | None,
    filed_by: User | None = None,
    address: ServerAddress | None = None,
    matched: bool = False,
    raw_kept_by: int | None = None,
) -> AbuseReport:
    """The report as a row to insert. `matched` says that `address` is what matching found (None:
    unmatched); else the report waits for the worker to match it."""
    return AbuseReport(
        reporter=reporter,
        filed_by=filed_by,
        channel=channel,
        reference=report.reference,
        fingerprint=report.fingerprint(),
        category=report.category,
        format=report.format,
        source_ip=report.source_ip,
        source_rule=report.source_rule,
        source_certainty=report.source_certainty,
        unverified=report.unverified,
        occurred_at=report.occurred_at,
        reported_domain=report.reported_domain,
        original_mail_from=report.original_mail_from,
        original_headers=report.original_headers,
        evidence=report.evidence,
        raw=b"" if raw_kept_by else raw,  # the message is kept once, by the report named
        raw_kept_by_id=raw_kept_by,
        account_id=address.server.account_id if address else None,
        address=address,
        matched_at=timezone.now() if matched else None,
    )


def _received_before(reports: list[ReportInput], reporter: Reporter | None) -> QuerySet[AbuseReport]:
    """Stored reports of the same incidents: the same fingerprint, or the same reporter's reference
    again (AbuseReport's unique constraints)."""
    same = Q(fingerprint__in=[report.fingerprint() for report in reports])
    references = [report.reference for report in reports if report.reference]
    if references and reporter is not None:
        same |= Q(reporter=reporter, reference__in=references)
    return AbuseReport.objects.filter(same)


def _counted_again(report: ReportInput, reporter: Reporter | None) -> Result:
    """A second delivery of a report we have: counted on the original, nothing else changes."""
    original = _received_before([report], reporter).select_related("account").earliest("pk")
    AbuseReport.objects.filter(pk=original.pk).update(deliveries=F("deliveries") + 1)
    return Result(DUPLICATE, original.source_ip, _reference(original.account), original.account_id, original.pk)


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


def ingest(
    raw: bytes,
    *,
    reporter: Reporter | None,
    channel: str = Channel.MAIL,
    defer: bool = False,
    unverified: bool = False,
    authentication: str = "",
) -> list[Result]:
    """One raw message (a mail in any format abuse.formats reads, or a XARF v4 document): each
    report in it accepted or a duplicate, or the whole rejected and kept with the reason.

    With `defer` (the API) reports are matched and weighed on the worker, as `receive` does.
    `unverified`: nothing proves who sent it (abuse.mail_authentication), so its reports weigh
    nothing until a person confirms them; `authentication` says what was found, for the desk.
    """
    domains = frozenset(reporter.receives_as()) if reporter is not None else frozenset()
    try:
        parsed = formats.read(raw, domains)
    except Unreadable as exc:
        return [reject(raw, str(exc), channel=channel, reporter=reporter)]
    except Exception as exc:  # the mail parser on hostile input: keep the report rather than lose it
        logger.exception("Could not read an abuse report")
        reason = _("The message could not be read (%(error)s).") % {"error": type(exc).__name__}
        return [reject(raw, reason, channel=channel, reporter=reporter)]
    store = receive if defer else accept
    results, keeper = [], None  # the message's first new report keeps its raw bytes; the others name it
    for report in parsed.reports:
        if unverified or authentication:
            evidence = {**report.evidence, "authentication": authentication} if authentication else report.evidence
            report = replace(report, unverified=unverified, evidence=evidence)
        result = store(report, raw=raw, channel=channel, reporter=reporter, raw_kept_by=keeper)
        if keeper is None and result.status != DUPLICATE:
            keeper = result.report_id
        results.append(result)
    return results


def _reference(account) -> str | None:
    return str(account.reference) if account is not None else None
