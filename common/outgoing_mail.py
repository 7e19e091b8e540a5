"""Mail to people, sent by a Celery task queued after the commit, retried with backoff.

A decision is never undone or stalled by mail: the decision commits first, the hook that queues
the mail is robust (an exception there is logged, and the other after-commit work, such as the
firewall dispatch, still runs), and an SMTP server that refuses (4xx) or is not there is
retried by the task, out of the request that made the decision.
"""

import logging
from functools import partial

from django.db import transaction
from kombu.exceptions import OperationalError

from common.single_line import as_single_line
from common.tasks import send_mail_task

logger = logging.getLogger(__name__)


def _queue(subject: str, body: str, recipients: list[str]) -> None:
    try:
        send_mail_task.delay(subject, body, recipients)
    except OperationalError:
        logger.exception("Could not queue mail %r to %s: the broker is unavailable", subject, recipients)


def mail_after_commit(subject: str, body: str, recipients: list[str]) -> None:
    """Queue the mail once the current transaction commits (never if it rolls back)."""
    # A name stored before single-line fields refused control characters must not break the Subject.
    transaction.on_commit(partial(_queue, as_single_line(subject), body, list(recipients)), robust=True)
