"""Writes of check runs. Results are written only while undecided, so a run executed twice stays consistent."""

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account, User
from verification import scoring
from verification.checks import Check
from verification.models import UNDECIDED, CheckResult, CheckRun, ResultStatus
from verification.outcome import Outcome


def create_run(subject: str, account: Account, checks: list[Check], *, trigger: str, by: User | None) -> CheckRun:
    """A run with one waiting result per check, so the page can list them before any starts."""
    with transaction.atomic():
        run = CheckRun.objects.create(subject=subject, account=account, trigger=trigger, requested_by=by)
        CheckResult.objects.bulk_create(
            CheckResult(run=run, check_name=check.name, position=i) for i, check in enumerate(checks)
        )
    return run


def begin_attempt(run: CheckRun) -> int:
    """Count one more execution of the run (re-deliveries included); returns the new count."""
    CheckRun.objects.filter(pk=run.pk).update(attempts=F("attempts") + 1, updated_at=timezone.now())
    run.refresh_from_db(fields=["attempts", "updated_at"])
    return run.attempts


def mark_running(run: CheckRun, names: list[str]) -> None:
    run.results.filter(check_name__in=names, status__in=UNDECIDED).update(status=ResultStatus.RUNNING)


def record_result(run: CheckRun, name: str, outcome: Outcome, duration_ms: int) -> bool:
    """Store one check's outcome unless another execution already did; True when stored."""
    now = timezone.now()
    with transaction.atomic():  # one commit, not two: results arrive while other checks still run
        stored = run.results.filter(check_name=name, status__in=UNDECIDED).update(
            status=outcome.verdict,
            summary=outcome.summary,
            evidence=outcome.evidence,
            duration_ms=duration_ms,
            finished_at=now,
        )
        CheckRun.objects.filter(pk=run.pk).update(updated_at=now)
    return bool(stored)


def give_up_undecided(run: CheckRun) -> None:
    """Checks that never finished (the worker kept dying) become errors, so the run can end."""
    run.results.filter(status__in=UNDECIDED).update(
        status=ResultStatus.ERROR,
        summary=_("This check did not complete; a reviewer will look at it."),
        finished_at=timezone.now(),
    )


def finish_run(run: CheckRun) -> bool:
    """Weigh the run's risk and mark it finished; False when another execution finished it first."""
    results = list(CheckResult.objects.filter(run=run))  # not run.results: a prefetch may be stale
    finished = CheckRun.objects.filter(pk=run.pk, finished_at__isnull=True).update(
        finished_at=timezone.now(), risk=scoring.risk(results), recommendation=scoring.recommend(results)
    )
    run.refresh_from_db()
    return bool(finished)
