"""Celery tasks of requests: thin, idempotent (acks are late, so any may run twice).

check_flow queues `run_request_checks` by its name (check_flow.RUN_CHECKS): this module imports it.
"""

from celery import shared_task

from requests_app import check_flow


@shared_task(ignore_result=True)
def run_request_checks(request_id: int) -> None:
    """Run (or resume) the automated checks of one request and route it afterwards."""
    check_flow.process(request_id)


@shared_task(ignore_result=True)
def sweep_stuck_checks() -> int:
    """Re-queue requests whose checks stalled; the task resumes them where they stopped."""
    stuck = check_flow.stuck_requests()
    for request_id in stuck:
        run_request_checks.delay(request_id)
    return len(stuck)
