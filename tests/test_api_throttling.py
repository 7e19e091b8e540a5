"""The REST API slows down a caller who sends too many requests, with 429 and Retry-After."""

from django.urls import reverse
from rest_framework.test import APIClient
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


def test_signed_in_caller_is_throttled_per_user(api_client, monkeypatch):
    monkeypatch.setattr(UserRateThrottle, "rate", "3/minute", raising=False)
    statuses = [api_client.get(reverse("api-port25")).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert int(api_client.get(reverse("api-port25"))["Retry-After"]) > 0


def test_anonymous_caller_is_throttled_per_ip(db, monkeypatch):
    """Anonymous calls to protected endpoints end at 401 first; open ones (the schema) count."""
    monkeypatch.setattr(AnonRateThrottle, "rate", "2/minute", raising=False)
    anonymous = APIClient()
    statuses = [anonymous.get(reverse("api-schema")).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
