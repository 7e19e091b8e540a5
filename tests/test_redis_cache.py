"""The Redis cache the production shape uses: counters in one round trip, failing open when Redis is away."""

import os
import uuid

import pytest
from django.core.cache.backends.locmem import LocMemCache
from rest_framework.test import APIClient

from portal.cache import FailOpenRedisCache, count
from tests.abuse_samples import report_json, reporter_with_token
from tests.conftest import redis_url
from tests.loopback import free_port

pytestmark = pytest.mark.skipif(
    not os.environ.get("PORTAL_REDIS_URL"), reason="needs the Redis that scripts/test starts (PORTAL_REDIS_URL)"
)


def redis_cache(url: str) -> FailOpenRedisCache:
    return FailOpenRedisCache(url, {"KEY_PREFIX": f"test-{uuid.uuid4().hex}"})


@pytest.fixture
def cache() -> FailOpenRedisCache:
    cache = redis_cache(redis_url(2))
    yield cache
    cache.clear()


def test_a_counter_counts_and_expires_with_its_window(cache):
    assert [count(cache, "window", 60) for _ in range(3)] == [1, 2, 3]
    assert cache.get("window") == 3
    client = cache._cache.get_client(write=True)
    assert 0 < client.ttl(cache.make_and_validate_key("window")) <= 60


def test_processes_share_a_counter(cache):
    other = FailOpenRedisCache(cache._servers, {"KEY_PREFIX": cache.key_prefix})

    assert (count(cache, "shared", 60), count(other, "shared", 60), count(cache, "shared", 60)) == (1, 2, 3)


def test_a_counter_is_0_while_redis_is_away():
    away = redis_cache(f"redis://127.0.0.1:{free_port()}/0")

    assert count(away, "window", 60) == 0
    assert away.get("anything", "default") == "default"


def test_other_caches_count_too():
    local = LocMemCache("counting", {})

    assert [count(local, "window", 60) for _ in range(3)] == [1, 2, 3]


def test_the_reporters_throttle_holds_across_processes_sharing_redis(cache, db, settings):
    settings.CACHES = {
        "default": {"BACKEND": "portal.cache.FailOpenRedisCache", "LOCATION": cache._servers[0], "KEY_PREFIX": "t"}
    }
    settings.PORTAL_ABUSE_API_RATE = "2/day"
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {reporter_with_token()[1]}")

    statuses = [api.post("/api/v1/abuse/reports/", report_json(number=n), format="json").status_code for n in range(3)]

    assert statuses == [202, 202, 429]


def test_a_counter_through_djangos_cache_proxy_takes_one_round_trip(cache, settings):
    """DRF's throttles hold `django.core.cache.cache`, a proxy: it must count as the backend does."""
    from django.core.cache import cache as proxy

    settings.CACHES = {
        "default": {"BACKEND": "portal.cache.FailOpenRedisCache", "LOCATION": cache._servers[0], "KEY_PREFIX": "p"}
    }
    redis = cache._cache.get_client(write=True)
    redis.config_resetstat()

    assert [count(proxy, "window", 60) for _ in range(3)] == [1, 2, 3]
    commands = {name.removeprefix("cmdstat_"): stats["calls"] for name, stats in redis.info("commandstats").items()}
    # One script per count (INCR, and EXPIRE with the first), never Django's EXISTS before INCRBY.
    assert (commands.get("incr"), commands.get("expire"), commands.get("exists")) == (3, 1, None)
