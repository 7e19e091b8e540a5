"""GET /readyz: 200 only when the database and the broker answer and every enforcement target was
reconciled recently; otherwise 503 saying what is wrong. The broker is a real redis-server of the
test's own, stopped and started again."""

from datetime import timedelta

import pytest
from django.utils import timezone

from egress.models import EgressTarget
from tests.harnesses.live_services import Redis
from tests.parts import missing, need_commands


def ready(client) -> tuple[int, dict]:
    response = client.get("/readyz")
    return response.status_code, response.json()


@pytest.fixture
def broker(tmp_path, settings):
    redis = Redis(tmp_path).start()
    settings.CELERY_BROKER_URL = redis.url(0)
    yield redis
    redis.stop()


@pytest.fixture
def reconciled(db, settings):
    settings.PORTAL_EGRESS_TARGETS = {"default": {"backend": "simulated"}, "edge": {"backend": "simulated"}}
    settings.PORTAL_READY_RECONCILE_AGE = 600
    for name in settings.PORTAL_EGRESS_TARGETS:
        EgressTarget.objects.create(name=name, reconciled_at=timezone.now() - timedelta(seconds=30))


@missing(need_commands(["redis-server"], "apt-get install redis-server"))
def test_ready_then_not_while_the_broker_is_down_then_ready_again(client, broker, reconciled):
    assert ready(client) == (200, {"ready": True, "problems": []})

    broker.stop()
    status, body = ready(client)
    assert status == 503 and body["ready"] is False
    assert len(body["problems"]) == 1 and body["problems"][0].startswith("the broker does not answer")

    broker.start()  # the same port, empty
    assert ready(client) == (200, {"ready": True, "problems": []})


@missing(need_commands(["redis-server"], "apt-get install redis-server"))
def test_a_target_not_reconciled_recently_or_never_is_not_ready(client, broker, reconciled):
    EgressTarget.objects.filter(name="edge").update(reconciled_at=timezone.now() - timedelta(seconds=601))
    status, body = ready(client)
    assert status == 503
    assert len(body["problems"]) == 1 and "edge was last reconciled" in body["problems"][0]

    EgressTarget.objects.filter(name="edge").delete()
    status, body = ready(client)
    assert status == 503 and body["problems"] == ["enforcement target edge was never reconciled"]


@missing(need_commands(["redis-server"], "apt-get install redis-server"))
def test_healthz_stays_a_liveness_probe(client, broker, reconciled):
    broker.stop()
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 503


@missing(need_commands(["redis-server"], "apt-get install redis-server"))
def test_other_networks_get_the_status_without_what_is_wrong(client, broker, reconciled):
    broker.stop()
    answer = client.get("/readyz", REMOTE_ADDR="203.0.113.9")
    assert answer.status_code == 503 and answer.json() == {"ready": False}
    assert "problems" in client.get("/readyz", REMOTE_ADDR="127.0.0.1").json()
