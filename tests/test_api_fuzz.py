"""schemathesis against the published OpenAPI schema: whatever comes in, no 5xx, errors are clear 4xx."""

import json

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.throttling import UserRateThrottle

from abuse.models import Reporter, ReporterToken
from accounts.models import CustomerToken, PlatformToken


@schemathesis.serializer("message/rfc822")
def rfc822(ctx: object, value: object) -> bytes:
    """Raw mail for the ARF endpoint: whatever was generated, as bytes."""
    return value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")


@pytest.fixture
def credentials(customer, monkeypatch) -> dict[str, str]:
    """Each caller's own token (customer, platform, abuse reporter); no throttling here."""
    monkeypatch.setattr(UserRateThrottle, "rate", "100000/minute", raising=False)
    monkeypatch.setattr(django_settings, "PORTAL_ABUSE_API_RATE", "100000/minute", raising=False)
    reporter = Reporter.objects.create(name="fuzz loop")
    return {
        "customer": f"Token {CustomerToken.issue(user=customer, name='fuzz')[1]}",
        "platform": f"Bearer {PlatformToken.issue(name='fuzz')[1]}",
        "abuse": f"Bearer {ReporterToken.issue(reporter=reporter, name='fuzz')[1]}",
    }


@pytest.fixture
def keep_the_test_connection():
    """Calling the WSGI handler directly fires request_finished, which closes the database
    connection the test's transaction lives on; Django's test client disconnects it the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


# Loaded at collection: the schema view needs no database. (schemathesis' lazy fixture
# loading does not work with pytest 9 yet.)
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_the_api_fail(case, credentials, db, keep_the_test_connection):
    caller = next((c for c in ("platform", "abuse") if case.path.startswith(f"/api/v1/{c}/")), "customer")
    response = case.call(headers={"Authorization": credentials[caller]})
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code}"
    if response.status_code >= 400:
        body = json.loads(response.content)
        assert body, "an error without an explanation"
