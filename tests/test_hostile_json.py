"""Finding 5 of the security probe: JSON nested without bound answered 500 on every API.

Every API now reads JSON through one parser with a depth limit and answers 400 with the reason;
the reporter API keeps the raw body of what it rejects; stored evidence of any shape still renders.
"""

import json

import pytest
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from abuse.models import AbuseReport, Category, Channel, RejectedReport
from abuse.revocations import revoke
from common import bounded_json
from tests.abuse_samples import reporter_with_token
from tests.parts import missing, need_postgres
from tests.test_platform_api import platform as platform  # fixture
from tests.test_platform_api import platform_token as platform_token  # fixture

BOMB = b"[" * 100_000


def _nested(levels: int) -> object:
    value: object = "bottom"
    for _ in range(levels):
        value = [value]
    return value


DEEP = json.dumps({"a": 1, "b": _nested(40)}).encode()  # 41 levels: just past the limit


@pytest.fixture
def reporter_api(db) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {reporter_with_token()[1]}")
    return api


@pytest.mark.parametrize("body", [BOMB, DEEP], ids=["100000-brackets", "41-levels"])
@pytest.mark.parametrize(
    ("client_name", "method", "url"),
    [
        ("api_client", "post", "/api/v1/requests/"),
        ("platform", "put", "/api/v1/platform/servers/vm-1/"),
        ("reporter_api", "post", "/api/v1/abuse/reports/"),
        ("reporter_api", "post", "/api/v1/abuse/reports/batch/"),
    ],
)
def test_every_api_answers_deep_json_with_400_and_the_reason(request, client_name, method, url, body):
    api = request.getfixturevalue(client_name)

    response = getattr(api, method)(url, body, content_type="application/json")

    assert response.status_code == 400
    assert "nested more than 32 levels" in response.content.decode()


@pytest.mark.parametrize("url", ["/api/v1/abuse/reports/", "/api/v1/abuse/reports/batch/"])
def test_a_rejected_deep_report_is_kept_raw(reporter_api, url):
    reporter_api.post(url, BOMB, content_type="application/json")

    kept = RejectedReport.objects.get()
    assert bytes(kept.raw) == BOMB
    assert "nested more than 32 levels" in kept.reason


def test_json_within_the_limit_still_parses(api_client):
    response = api_client.post("/api/v1/requests/", {"nested": _nested(20)}, format="json")
    assert response.status_code == 400  # refused for its fields, not for its shape
    assert "nested" not in response.content.decode()


def test_depth_counts_without_recursion():
    assert bounded_json.depth("x") == 0
    assert bounded_json.depth({"a": [1, {"b": []}]}) == 4
    assert bounded_json.depth(_nested(50_000)) == 50_000


# The evidence is written past the ORM, with PostgreSQL's cast to jsonb.
NEEDS_POSTGRES = missing(need_postgres("evidence stored as jsonb past the ORM"))


def _stored_report(evidence_json: str) -> AbuseReport:
    """A report whose evidence was stored as this JSON text (before the limit), written past the ORM."""
    report = AbuseReport.objects.create(
        channel=Channel.JSON,
        fingerprint=f"deep-{len(evidence_json)}",
        category=Category.SPAM,
        source_ip="203.0.113.50",
        occurred_at=timezone.now(),
        raw=b"{}",
    )
    with connection.cursor() as cursor:
        cursor.execute("UPDATE abuse_abusereport SET evidence = %s::jsonb WHERE id = %s", [evidence_json, report.pk])
    return report


def _superuser_browser(django_user_model) -> Client:
    browser = Client()
    browser.force_login(django_user_model.objects.create_superuser("root@provider.test", "pw-not-used"))
    return browser


@NEEDS_POSTGRES
@pytest.mark.parametrize("levels", [33, 700, 900, 3_000])
def test_stored_evidence_of_any_depth_renders_on_the_admin_page(db, django_user_model, levels):
    report = _stored_report('{"text": ' + "[" * levels + '"bottom"' + "]" * levels + "}")

    response = _superuser_browser(django_user_model).get(f"/admin/abuse/abusereport/{report.pk}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "nested deeper than 32 levels" in page or "Nested too deeply to read here" in page


@NEEDS_POSTGRES
def test_the_customer_page_of_a_report_with_unreadably_deep_evidence_renders(customer_client, account, settings):
    settings.PORTAL_EGRESS_TARGETS = {"default": {"backend": "simulated"}}
    report = _stored_report('{"text": ' + "[" * 3_000 + "1" + "]" * 3_000 + "}")
    AbuseReport.objects.filter(pk=report.pk).update(account=account)
    with transaction.atomic():
        revoke(account, [AbuseReport.objects.get(pk=report.pk)], "1 report")

    response = customer_client.get("/abuse/")

    assert response.status_code == 200
    assert "Nested too deeply to read here" in response.content.decode()
