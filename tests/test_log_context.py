"""Log lines say where they come from: a request id (given or made), carried in the headers of the
tasks a request queues and bound, with the task id and what the task works on, in the worker.
The worker's side on real processes, with JSON lines read from the logs, is in
tests/test_operator_view_live.py."""

import io
import json
import logging
import uuid

import pytest
import redis
from django.test import override_settings

from egress.tasks import reconcile_target
from operations import log_context
from operations.log_context import ContextFilter, PortalJsonFormatter
from tests.conftest import redis_url
from tests.parts import missing, need_redis


@pytest.fixture
def json_lines():
    """The root logger's lines as the JSON handler of PORTAL_LOG_FORMAT=json writes them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(PortalJsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)


@pytest.mark.django_db
def test_a_given_request_id_is_echoed_and_on_the_requests_log_lines(client, json_lines):
    response = client.get("/no-such-page/", HTTP_X_REQUEST_ID="lb-7f3a.91:2")
    assert response.status_code == 404
    assert response["X-Request-ID"] == "lb-7f3a.91:2"
    [line] = [line for line in json_lines() if line["message"].startswith("Not Found")]
    assert line["request_id"] == "lb-7f3a.91:2"
    assert line["level"] == "WARNING" and line["logger"] == "django.request" and "timestamp" in line
    assert "request" not in line, "the request object (and its query string) stays out of the log"


@pytest.mark.django_db
@pytest.mark.parametrize("given", ["", "x" * 101, "two words", "evil\r\nInjected: yes", "<script>"])
def test_a_missing_or_odd_request_id_is_replaced_by_one_of_ours(client, given):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=given)
    made = response["X-Request-ID"]
    assert made != given and uuid.UUID(hex=made)


@pytest.mark.django_db
def test_the_signed_in_customers_account_is_on_the_line(customer_client, account, json_lines):
    customer_client.get("/no-such-page/")
    [line] = [line for line in json_lines() if line["message"].startswith("Not Found")]
    assert line["account"] == str(account.pk)


@missing(need_redis())
def test_a_task_queued_in_a_request_carries_its_id_in_the_message_headers():
    broker_url = redis_url(6)
    queue = f"log-context-{uuid.uuid4().hex[:8]}"
    log_context.bind(request_id="req-42")
    try:
        with override_settings(CELERY_BROKER_URL=broker_url):
            from portal.celery import app

            with app.connection_for_write(broker_url) as conn:
                reconcile_target.apply_async(args=["edge"], queue=queue, connection=conn)
        raw = redis.Redis.from_url(broker_url).lpop(queue)
    finally:
        log_context._context.set({})
        redis.Redis.from_url(broker_url).delete(queue)
    message = json.loads(raw)
    assert message["headers"][log_context.TASK_HEADER] == "req-42"
    assert message["headers"]["task"] == "egress.tasks.reconcile_target"


def test_in_the_task_its_id_request_id_and_target_are_bound_and_cleared_after(monkeypatch):
    seen = {}
    monkeypatch.setattr("egress.reconcile.reconcile", lambda target: seen.update(log_context.current()) or _Drift())
    result = reconcile_target.apply(args=["edge"], headers={log_context.TASK_HEADER: "req-43"})
    assert seen == {"task_id": result.id, "task": "egress.tasks.reconcile_target", "request_id": "req-43",
                    "target": "edge"}  # fmt: skip
    assert log_context.current() == {}


class _Drift:
    def as_dict(self) -> dict:
        return {}


@pytest.mark.django_db
def test_no_token_or_report_body_reaches_the_log_lines_of_refused_calls(client, customer, json_lines):
    from abuse.models import Reporter, ReporterToken
    from accounts.models import CustomerToken

    reporter_token = ReporterToken.issue(reporter=Reporter.objects.create(name="Trap network"), name="t")[1]
    customer_token = CustomerToken.issue(user=customer, name="t")[1]
    body = {"source_ip": "198.51.100.7", "category": "not-a-category", "evidence": {"text": "BODY-MARKER-5f1e"}}
    answers = [
        client.post("/api/v1/abuse/reports/", body, content_type="application/json",
                    HTTP_AUTHORIZATION=f"Bearer {reporter_token}"),
        client.post("/api/v1/abuse/reports/", body, content_type="application/json",
                    HTTP_AUTHORIZATION="Bearer WRONG-TOKEN-MARKER-9c2d"),
        client.post("/api/v1/requests/", {"company_name": "BODY-MARKER-5f1e"}, content_type="application/json",
                    HTTP_AUTHORIZATION=f"Token {customer_token}"),
    ]  # fmt: skip
    assert [answer.status_code for answer in answers] == [400, 401, 400]
    lines = json_lines()
    assert {line["message"].split(":")[0] for line in lines} >= {"Bad Request", "Unauthorized"}, "they are logged"
    text = json.dumps(lines)
    for secret in (reporter_token, customer_token, "WRONG-TOKEN-MARKER-9c2d", "BODY-MARKER-5f1e"):
        assert secret not in text
