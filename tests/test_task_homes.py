"""Every Celery task is in its package's tasks.py under its own name, and every name the settings or a
queueing module gives is such a task (a borrowed or stale name would queue what no worker runs)."""

import pytest
from django.conf import settings

from abuse import intake
from egress import outbox
from portal.celery import app
from requests_app import check_flow


@pytest.fixture(scope="module")
def registered() -> dict:
    app.loader.import_default_modules()  # what a worker imports: every app's tasks.py, CELERY_IMPORTS
    return {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}


def test_the_project_tasks_are_found(registered):
    assert {"egress.tasks.apply_changes", "common.tasks.send_mail_task", "abuse.tasks.poll_mailbox"} <= set(registered)


def test_each_task_is_defined_in_a_tasks_module_under_its_own_name(registered):
    misplaced = {
        name: f"{task.run.__module__}.{task.run.__name__}"
        for name, task in registered.items()
        if name != f"{task.run.__module__}.{task.run.__name__}" or not task.run.__module__.endswith(".tasks")
    }
    assert misplaced == {}


def test_every_name_queued_routed_or_scheduled_is_a_task(registered):
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    queued_by_name = {outbox.APPLY_CHANGES, check_flow.RUN_CHECKS, intake.TAKE_IN_REPORTS}
    assert (scheduled | set(settings.CELERY_TASK_ROUTES) | queued_by_name) - set(registered) == set()
