"""Celery tasks of the egress app: thin wrappers around the outbox and the reconciliation.

The outbox queues `apply_changes` by its name (outbox.APPLY_CHANGES): this module imports the outbox.
"""

from celery import shared_task

from egress import outbox, reconcile, services, traffic
from egress.selectors import targets_with_due_changes
from egress.signals import traffic_observed
from egress.targets import target_names


@shared_task(bind=True, max_retries=None)
def apply_changes(self, target: str) -> int:
    """Apply the target's due outbox rows; after a failure, come back when the backoff ends.

    The rows count their own attempts (PORTAL_EGRESS_MAX_ATTEMPTS), so the task retries unbounded.
    """
    outcome = outbox.apply_due(target)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.applied


@shared_task
def sweep() -> None:
    """Lift temporary decisions that ended; queue an apply for each target with due rows: rows whose
    task was lost (no broker, a dead worker)."""
    services.lift_ended()
    for target in targets_with_due_changes():
        apply_changes.delay(target)


@shared_task
def reconcile_all() -> None:
    """One task per target: a target that is down delays only itself."""
    for target in target_names():
        reconcile_target.delay(target)


@shared_task
def reconcile_target(target: str) -> dict:
    return reconcile.reconcile(target).as_dict()


@shared_task
def collect_traffic() -> dict:
    """Read every target's tcp/25 counters into the time series (beat, every PORTAL_TRAFFIC_INTERVAL)."""
    collected = traffic.collect()
    traffic_observed.send(sender=None, event_ids=collected.events)
    return {"addresses": collected.addresses, "events": len(collected.events), "errors": collected.errors}
