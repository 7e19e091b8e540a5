"""What every log line says about where it came from: the request id, and in a Celery task its id,
account, unblock request and target; and the JSON formatter that writes them (PORTAL_LOG_FORMAT=json).

A request id comes from the client's X-Request-ID (when it looks like one) or is made here; it is
echoed in the response and travels in the headers of every task the request queues, so the
worker's lines of that task carry it too.
"""

import inspect
import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from celery.signals import before_task_publish, task_postrun, task_prerun
from django.http import HttpRequest, HttpResponse
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

HEADER = "X-Request-ID"
TASK_HEADER = "portal_request_id"
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}")

_context: ContextVar[dict[str, str]] = ContextVar("portal_log_context", default={})  # noqa: B039 (never mutated)

# Task parameters that name what a task works on, and the field they fill ("request" is Django's own
# record attribute, the HTTP request, which JSON lines leave out).
_TASK_PARAMETERS = {"target": "target", "request_id": "unblock_request", "account_id": "account"}


def current() -> dict[str, str]:
    return _context.get()


def bind(**fields: object) -> None:
    """Add fields to the current context (this request, this task)."""
    _context.set({**_context.get(), **{k: str(v) for k, v in fields.items() if v is not None}})


class RequestIdMiddleware:
    """Binds the request id (and the signed-in customer's account) to the request's log lines."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get(HEADER, "")
        request_id = given if _ACCEPTED_ID.fullmatch(given) else uuid.uuid4().hex
        # Set, not reset afterwards: Django logs a 4xx/5xx after the middleware chain has returned.
        _context.set({"request_id": request_id})
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(user, "membership"):
            bind(account=user.membership.account_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


class ContextFilter(logging.Filter):
    """Puts the context's fields on each record (as attributes: the JSON formatter writes them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _context.get().items():
            setattr(record, name, value)
        return True


class PortalJsonFormatter(JsonFormatter):
    """One JSON object per line. Leaves out what Django and Celery attach to records that could carry
    a client's data: the request object (its query string) and a task's arguments and return value."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("fmt", "%(levelname)s %(name)s %(message)s")
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("reserved_attrs", [*RESERVED_ATTRS, "request", "data"])
        kwargs.setdefault("timestamp", True)
        super().__init__(*args, **kwargs)


# --- Celery: the request id travels in the task's headers ------------------------------------------


@before_task_publish.connect
def _carry_request_id(headers: dict | None = None, **_kwargs) -> None:
    request_id = _context.get().get("request_id")
    if request_id and headers is not None:
        headers.setdefault(TASK_HEADER, request_id)


@task_prerun.connect
def _bind_task(task_id: str = "", task=None, args=(), kwargs=None, **_kwargs) -> None:
    fields = {"task_id": task_id, "task": getattr(task, "name", None)}
    request = getattr(task, "request", None)
    fields["request_id"] = getattr(request, TASK_HEADER, None) or (getattr(request, "headers", None) or {}).get(
        TASK_HEADER
    )
    try:
        bound = inspect.signature(task.run).bind_partial(*(args or ()), **(kwargs or {})).arguments
    except (TypeError, ValueError, AttributeError):
        bound = {}
    fields.update({field: bound.get(param) for param, field in _TASK_PARAMETERS.items()})
    _context.set({k: str(v) for k, v in fields.items() if v is not None})


@task_postrun.connect
def _unbind_task(**_kwargs) -> None:
    _context.set({})
