"""The Redis cache, failing open: Redis being down must not take the portal down with it.

Django's RedisCache raises when Redis cannot be reached, and every API request reads the cache
(DRF's throttles, the abuse reporters' throttle): with the cache in Redis, as docker-compose.yml
sets it, each API call answered 500 while Redis was down or restarting (tests/test_faults_services.py).
This backend behaves as an empty cache instead, and says so in the log: reads miss, writes are
dropped. Throttles let requests through while Redis is away; everything else cached is recomputed.
"""

import functools
import logging
import time
from collections.abc import Callable

from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

UNREACHABLE = (RedisConnectionError, RedisTimeoutError)
LOG_EVERY = 10.0  # seconds between two warnings of one process: an outage must not flood the log
_last_warning = 0.0


def _warn(operation: str, exc: Exception) -> None:
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= LOG_EVERY:
        _last_warning = now
        logger.warning("Cache: Redis unreachable (%s); %s answered as an empty cache.", exc, operation)


def _fail_open(method: Callable, fallback: Callable) -> Callable:
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except UNREACHABLE as exc:
            _warn(method.__name__, exc)
            return fallback(*args, **kwargs)

    return wrapper


def _missing_key(key, *args, **kwargs):
    raise ValueError(f"Key {key!r} not found (Redis unreachable).")


# A counter of a fixed window: the increment, and the window's expiry with its first count, as one
# atomic command (the rate limiter of Redis's INCR documentation).
COUNT_SCRIPT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""


class ReusingRedisCacheClient(RedisCacheClient):
    """One redis-py client per connection pool, where Django builds one per operation.

    Building a client costs more CPU than the round trip it makes (bench/revoke.py: the abuse API
    reads and writes its throttle on every report). A client is safe to share: each command takes
    a connection from the pool.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}
        self._counters: dict[int, Callable] = {}

    def get_client(self, key=None, *, write: bool = False):
        index = self._get_connection_pool_index(write)
        if index not in self._clients:
            client = self._client(connection_pool=self._get_connection_pool(write))
            self._counters[index] = client.register_script(COUNT_SCRIPT)
            self._clients[index] = client
        return self._clients[index]

    def count(self, key: str, timeout: int) -> int:
        self.get_client(write=True)
        return self._counters[self._get_connection_pool_index(True)](keys=[key], args=[timeout])


class FailOpenRedisCache(RedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient

    def count(self, key: str, timeout: int) -> int:
        """Add one to the counter `key` (created to last `timeout` seconds) and return it, in one round trip."""
        try:
            return self._cache.count(self.make_and_validate_key(key), timeout)
        except UNREACHABLE as exc:
            _warn("count", exc)
            return 0

    get = _fail_open(RedisCache.get, lambda key, default=None, version=None: default)
    get_many = _fail_open(RedisCache.get_many, lambda *args, **kwargs: {})
    has_key = _fail_open(RedisCache.has_key, lambda *args, **kwargs: False)
    add = _fail_open(RedisCache.add, lambda *args, **kwargs: False)
    set = _fail_open(RedisCache.set, lambda *args, **kwargs: None)
    set_many = _fail_open(RedisCache.set_many, lambda data, *args, **kwargs: list(data))
    touch = _fail_open(RedisCache.touch, lambda *args, **kwargs: False)
    incr = _fail_open(RedisCache.incr, _missing_key)
    delete = _fail_open(RedisCache.delete, lambda *args, **kwargs: False)
    delete_many = _fail_open(RedisCache.delete_many, lambda *args, **kwargs: None)
    clear = _fail_open(RedisCache.clear, lambda *args, **kwargs: False)


def count(cache: BaseCache, key: str, timeout: int) -> int:
    """Add one to the counter `key` (created to last `timeout` seconds) and return it; 0 if the cache is away.

    Django's cache has no such operation: `incr` needs the key to exist, so a counter costs a read,
    an increment, and an `add` for the first. A throttle counts every request: with Redis, this
    takes one round trip.
    """
    # By attribute, not isinstance: `django.core.cache.cache` (what DRF's throttles hold) is a proxy.
    if hasattr(cache, "count"):
        return cache.count(key, timeout)
    for _attempt in range(2):
        try:
            return cache.incr(key)
        except ValueError:  # the first of the window (or the key expired meanwhile)
            if cache.add(key, 1, timeout):
                return 1
    return 0
