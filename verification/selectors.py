"""Reads of check runs, for the customer's page, the API and the reviewer."""

import json

from accounts.models import Account
from verification.checks import check_label
from verification.models import CheckRun, RecheckFinding, ResultStatus, WatchedAddress
from verification.outcome import AccountFacts


def account_facts(account: Account, *, earlier_rejections: int, revoked_for_abuse: bool) -> AccountFacts:
    """What the account-signals check weighs; the caller passes what other apps know (egress, requests)."""
    return AccountFacts(
        created_at=account.created_at,
        missing_verifications=account.missing_verifications(),
        revoked_for_abuse=revoked_for_abuse,
        earlier_rejections=earlier_rejections,
    )


def latest_run(subject: str) -> CheckRun | None:
    return CheckRun.objects.for_subject(subject).prefetch_related("results").first()


def run_progress(run: CheckRun | None) -> dict | None:
    """The run as the customer's page and the API show it."""
    if run is None:
        return None
    checks = [
        {
            "name": result.check_name,
            "label": check_label(result.check_name),
            "status": result.status,
            "status_label": str(ResultStatus(result.status).label),
            "summary": result.summary,
            "evidence": result.evidence,
            "evidence_text": json.dumps(result.evidence, indent=2, ensure_ascii=False) if result.evidence else "",
            "duration_ms": result.duration_ms,
        }
        for result in run.results.all()
    ]
    return {
        "id": run.pk,
        "created_at": run.created_at,
        "finished_at": run.finished_at,
        "finished": run.is_finished,
        "done": sum(c["status"] not in (ResultStatus.PENDING, ResultStatus.RUNNING) for c in checks),
        "total": len(checks),
        "risk": run.risk,
        "checks": checks,
    }


def recheck_findings(account: Account, *, history: int = 20) -> dict:
    """The account's re-check findings: those still present, and the latest ones gone."""
    findings = RecheckFinding.objects.filter(account=account)
    watched = WatchedAddress.objects.filter(account=account)
    return {
        "current": list(findings.current().order_by("ip", "kind", "source")),
        "past": list(findings.filter(ended_at__isnull=False).order_by("-ended_at")[:history]),
        "last_checked": max((w.last_checked_at for w in watched if w.last_checked_at), default=None),
        "watched": bool(watched),
    }
