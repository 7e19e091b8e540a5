"""Celery application: tasks of every installed app, configured from Django settings."""

import os

from celery import Celery, Task, signals
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.task_prerun.connect
@signals.task_postrun.connect
def close_obsolete_connections(task: Task | None = None, **kwargs: object) -> None:
    """Around each task what Django does around each request: a connection older than CONN_MAX_AGE,
    or one that failed, is closed, and the next query checks it first (CONN_HEALTH_CHECKS).

    Celery's own closing is held off (CELERY_DB_REUSE_MAX), so that a worker keeps its connection.
    """
    if task is not None and task.request.is_eager:
        return  # run in the caller's process, inside its request or transaction: not ours to close
    close_old_connections()
