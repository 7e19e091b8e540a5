"""What a blocklist's terms allow: queries per zone per UTC day and per second, counted in the cache.

The counters live in the shared cache (Redis in production), so that every worker spends one
budget. A day's budget spent leaves the rest of the cycle's addresses for the next day
(verification.recheck defers them); the per-second rate paces the queries of a batch.
"""

import threading
import time
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.core.cache import cache

DAY_SECONDS = 86_400


def _limit(limits: dict[str, int], zone: str) -> int:
    return int(limits.get(zone, limits.get("*", 0)))


def daily_limit(zone: str) -> int:
    return _limit(settings.PORTAL_RECHECK_ZONE_DAILY_BUDGET, zone)


def _take(key: str, wanted: int, limit: int, timeout: int) -> int:
    """Up to `wanted` of the `limit` counted under `key`; what was not granted is given back."""
    if wanted <= 0:
        return 0
    cache.add(key, 0, timeout=timeout)
    try:
        used = cache.incr(key, wanted)
    except ValueError:  # the key expired between add and incr: count afresh
        cache.add(key, 0, timeout=timeout)
        used = cache.incr(key, wanted)
    granted = max(0, min(wanted, limit - (used - wanted)))
    if granted < wanted:
        cache.decr(key, wanted - granted)
    return granted


def grant_today(zone: str, wanted: int, now: datetime) -> int:
    """How many of `wanted` queries the zone's budget for `now`'s UTC day still allows (taken)."""
    return _take(f"recheck-budget:{zone}:{now:%Y-%m-%d}", wanted, daily_limit(zone), 2 * DAY_SECONDS)


def give_back(zone: str, count: int, now: datetime) -> None:
    """Return `count` queries granted today that will not be made."""
    if count > 0:
        cache.decr(f"recheck-budget:{zone}:{now:%Y-%m-%d}", count)


def used_today(zone: str, now: datetime) -> int:
    return int(cache.get(f"recheck-budget:{zone}:{now:%Y-%m-%d}") or 0)


class Pacer:
    """Holds the queries to one zone to its rate per second, across threads and workers.

    Tokens are taken from the cache's counter of the current second a few at a time; when the second's
    are gone, the thread waits for the next second. `clock` and `sleep` are the test's to replace.
    """

    def __init__(
        self,
        zone: str,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.zone = zone
        self.rate = _limit(settings.PORTAL_RECHECK_ZONE_RATE, zone)
        self.chunk = max(1, self.rate // 10)
        self.clock, self.sleep = clock, sleep
        self._lock = threading.Lock()
        self._second, self._tokens = -1, 0
        self.waits = 0

    def take(self) -> None:
        """One query's token; waits until the next second when this one's are spent."""
        if self.rate <= 0:
            return
        with self._lock:
            while True:
                now = self.clock()
                second = int(now)
                if second != self._second:
                    self._second, self._tokens = second, 0
                if self._tokens == 0:
                    key = f"recheck-rate:{self.zone}:{second}"
                    self._tokens = _take(key, self.chunk, self.rate, 5)
                if self._tokens:
                    self._tokens -= 1
                    return
                self.waits += 1
                self.sleep(second + 1 - now)
