"""The Redis cache of the production shape (django-redis): shared counters, failing open when Redis is away."""

import json
import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from tests.abuse_samples import report_json, reporter_with_token
from tests.conftest import redis_url
from tests.loopback import free_port
from tests.parts import missing, need_env

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    missing(need_env("PORTAL_REDIS_URL", what="the Redis that scripts/test starts")),
    pytest.mark.django_db,
]


def use_redis(settings, location: str) -> None:
    """The cache settings.py builds for a `redis://` PORTAL_CACHE_URL, at `location`."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": location,
            "KEY_PREFIX": uuid.uuid4().hex,
            "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        }
    }


def post_reports(how_many: int) -> list[int]:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {reporter_with_token()[1]}")
    return [
        api.post("/api/v1/abuse/reports/", report_json(number=n), format="json").status_code for n in range(how_many)
    ]


def test_a_redis_cache_url_selects_django_redis_failing_open_and_logging():
    """What settings.py makes of docker-compose.yml's PORTAL_CACHE_URL, read in a process of its own."""
    env = {**os.environ, "PORTAL_CACHE_URL": "redis://redis:6379/1", "DJANGO_SETTINGS_MODULE": "portal.settings"}
    code = (
        "import json, django; from django.conf import settings; django.setup();"
        "print(json.dumps([settings.CACHES['default'], settings.DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS]))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)

    cache, logged = json.loads(result.stdout.strip().splitlines()[-1])
    assert cache["BACKEND"] == "django_redis.cache.RedisCache"
    assert cache["OPTIONS"]["IGNORE_EXCEPTIONS"] is True
    assert logged is True


def test_the_reporters_throttle_holds_in_redis(settings):
    use_redis(settings, redis_url(2))
    settings.PORTAL_ABUSE_API_RATE = "2/day"

    assert post_reports(3) == [202, 202, 429]


def test_the_counter_is_in_redis_with_its_window_as_expiry(settings):
    """Another web process (here: a second client of the same Redis) sees the same count."""
    from django.core.cache import cache
    from django_redis import get_redis_connection

    use_redis(settings, redis_url(2))
    settings.PORTAL_ABUSE_API_RATE = "5/minute"
    post_reports(2)

    redis = get_redis_connection("default")
    keys = redis.keys(f"{settings.CACHES['default']['KEY_PREFIX']}:*throttle_abuse_reporter*")
    assert len(keys) == 1
    assert int(redis.get(keys[0])) == 2
    assert 0 < redis.ttl(keys[0]) <= 60
    assert cache.get(keys[0].decode().split(":", 2)[2]) == 2


def test_with_redis_away_the_api_answers_and_the_log_says_why(settings, caplog):
    use_redis(settings, f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    settings.PORTAL_ABUSE_API_RATE = "1/day"  # not enforced while the counter is away: failing open

    with caplog.at_level(logging.ERROR, logger="django_redis.cache"):
        assert post_reports(2) == [202, 202]

    assert "Exception ignored" in caplog.text
