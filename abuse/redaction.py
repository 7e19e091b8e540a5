"""What the customer sees of a report: staff may hide fields first; recipients are never shown."""

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from abuse.models import AbuseEvent, AbuseReport, EventKind
from accounts.models import User
from portal import bounded_json

REDACTABLE = {
    "reporter": gettext_lazy("Reported by"),
    "reference": gettext_lazy("Reporter's reference"),
    "reported_domain": gettext_lazy("Reported domain"),
    "original_mail_from": gettext_lazy("Envelope sender"),
    "original_headers": gettext_lazy("Headers of the reported message"),
    "evidence": gettext_lazy("Reporter's evidence"),
}
# Whoever complained must stay unknown to the sender they complained about.
RECIPIENT_HEADERS = {"to", "cc", "bcc", "delivered-to", "x-original-to", "envelope-to", "original-rcpt-to"}


def _evidence_text(report: AbuseReport) -> str:
    evidence = dict(report.evidence)
    if "summary" in evidence:  # an ARF report: the reporter's own words
        return evidence["summary"]
    return bounded_json.dumps_for_display(evidence) if evidence else ""


def _headers_text(report: AbuseReport) -> str:
    lines = report.original_headers.splitlines()
    return "\n".join(line for line in lines if line.partition(":")[0].strip().lower() not in RECIPIENT_HEADERS)


def customer_view(report: AbuseReport) -> dict:
    """The report as its customer may read it: fields staff redacted are None."""
    values = {
        "reporter": str(report.reporter) if report.reporter else _("Our abuse desk"),
        "reference": report.reference,
        "reported_domain": report.reported_domain,
        "original_mail_from": report.original_mail_from,
        "original_headers": _headers_text(report),
        "evidence": _evidence_text(report),
    }
    fields = [
        {
            "label": label,
            "value": None if name in report.redacted else values[name],
            "redacted": name in report.redacted,
        }
        for name, label in REDACTABLE.items()
        if values[name] or name in report.redacted
    ]
    return {
        "id": report.pk,
        "category": report.get_category_display(),
        "source_ip": report.source_ip,
        "occurred_at": report.occurred_at,
        "fields": fields,
    }


@transaction.atomic
def redact(report: AbuseReport, fields: list[str], actor: User) -> AbuseReport:
    """Hide these fields from the customer (the stored report stays as received)."""
    unknown = set(fields) - REDACTABLE.keys()
    if unknown:
        raise ValueError(f"Not redactable: {sorted(unknown)}")
    report = AbuseReport.objects.select_for_update().get(pk=report.pk)
    report.redacted = sorted(set(fields))
    report.save(update_fields=["redacted"])
    if report.account_id is not None:
        hidden = ", ".join(str(REDACTABLE[name]) for name in report.redacted) or _("nothing")
        AbuseEvent.objects.create(
            account_id=report.account_id,
            kind=EventKind.REDACTED,
            actor=actor,
            report=report,
            message=_("Report #%(id)d: hidden from the customer: %(fields)s.") % {"id": report.pk, "fields": hidden},
        )
    return report
