"""Run a run's checks concurrently, each under its own timeout, storing each result as it finishes.

The checks wait on the network, not the CPU, so threads inside one task give a
total close to the slowest check without a result backend or a chord. Only this
thread touches the database; the checks get plain data.
"""

import logging
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from django.utils.translation import gettext as _

from verification import services
from verification.checks import BY_NAME, Check
from verification.models import UNDECIDED, CheckRun
from verification.outcome import CheckSubject, Deadline, Outcome, Verdict

logger = logging.getLogger(__name__)

# Time a check gets beyond its own deadline to notice it and return what it found.
GRACE_SECONDS = 1.0


def run_one(check: Check, subject: CheckSubject, deadline: Deadline | None = None) -> tuple[Outcome, int]:
    """(outcome, duration in ms) of one check; a crash is an `error`, never a pass."""
    started = time.monotonic()
    try:
        outcome = check.run(subject, deadline or Deadline(check.timeout))
    except Exception as exc:
        logger.exception("check %s crashed", check.name)
        outcome = Outcome(
            Verdict.ERROR,
            _("This check failed unexpectedly; a reviewer will look at it."),
            {"exception": f"{exc.__class__.__name__}: {exc}"},
        )
    return outcome, round((time.monotonic() - started) * 1000)


def _timed_out(check: Check) -> Outcome:
    return Outcome(
        Verdict.ERROR,
        _("This check did not finish within %(seconds)d seconds; we will try again.") % {"seconds": check.timeout},
        {"timeout_seconds": check.timeout},
    )


def execute(run: CheckRun, subject: CheckSubject) -> None:
    """Decide every undecided result of `run` (results already decided by an earlier attempt stay)."""
    names = list(run.results.filter(status__in=UNDECIDED).values_list("check_name", flat=True))
    checks = [BY_NAME[name] for name in names if name in BY_NAME]
    if not checks:
        return
    services.mark_running(run, [check.name for check in checks])
    started = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix=f"checks-{run.pk}")
    try:
        running: dict[Future, Check] = {
            pool.submit(run_one, check, subject, Deadline(check.timeout)): check for check in checks
        }
        while running:
            next_expiry = min(started + check.timeout + GRACE_SECONDS for check in running.values())
            timeout = max(0.0, next_expiry - time.monotonic())
            done, _pending = wait(running, timeout=timeout, return_when=FIRST_COMPLETED)
            for future in done:
                outcome, duration_ms = future.result()
                services.record_result(run, running.pop(future).name, outcome, duration_ms)
            now = time.monotonic()
            for future, check in list(running.items()):
                if now >= started + check.timeout + GRACE_SECONDS:
                    services.record_result(run, check.name, _timed_out(check), round((now - started) * 1000))
                    running.pop(future)
    finally:
        # A check past its deadline is left to finish on its own socket timeouts; nobody waits for it.
        pool.shutdown(wait=False, cancel_futures=True)
