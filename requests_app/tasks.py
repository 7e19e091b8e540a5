"""Celery tasks of requests: thin, idempotent (acks are late, so any may run twice).

The checks' task (`requests_app.tasks.run_request_checks`) is defined in check_flow, which queues it.
"""

from celery import shared_task

from requests_app import check_flow


@shared_task(ignore_result=True)
def sweep_stuck_checks() -> int:
    """Re-queue requests whose checks stalled; the task resumes them where they stopped."""
    stuck = check_flow.stuck_requests()
    for request_id in stuck:
        check_flow.run_request_checks.delay(request_id)
    return len(stuck)
