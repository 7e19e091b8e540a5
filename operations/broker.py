"""What the Celery broker says, for readiness and metrics: does it answer, how long are the queues,
which queues have a worker consuming them.

Redis (production) is asked directly with short timeouts, so that a broker that is down makes a
probe answer "down" in about a second instead of hanging in kombu's reconnect loop. Other
transports (the embedded default's file broker) only say whether they connect.
"""

from dataclasses import dataclass

import redis
from celery import current_app
from django.conf import settings
from kombu import Connection

# kombu's Redis transport keeps a queue as one list per priority step: "celery", "celery\x06\x163"...
_PRIORITY_SEPARATOR = "\x06\x16"
_PRIORITY_STEPS = (0, 3, 6, 9)


@dataclass(frozen=True)
class BrokerReading:
    up: bool
    error: str = ""
    queue_lengths: dict[str, int] | None = None  # None: this transport cannot tell


def _is_redis(url: str) -> bool:
    return url.startswith(("redis://", "rediss://", "unix://"))


def _redis_client(url: str) -> redis.Redis:
    timeout = settings.PORTAL_BROKER_PROBE_TIMEOUT
    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)


def queue_names() -> list[str]:
    return [queue.name for queue in settings.CELERY_TASK_QUEUES]


def read_broker(*, lengths: bool = True) -> BrokerReading:
    """Whether the broker answers and, for Redis, the number of messages waiting in each queue."""
    url = settings.CELERY_BROKER_URL
    try:
        if not _is_redis(url):
            with Connection(url, transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS) as conn:
                conn.ensure_connection(max_retries=1)
            return BrokerReading(up=True)
        client = _redis_client(url)
        try:
            client.ping()
            if not lengths:
                return BrokerReading(up=True)
            pipe = client.pipeline(transaction=False)
            names = queue_names()
            for name in names:
                for step in _PRIORITY_STEPS:
                    pipe.llen(f"{name}{_PRIORITY_SEPARATOR}{step}" if step else name)
            counts = pipe.execute()
        finally:
            client.close()
    except Exception as exc:  # whatever the transport raised, the broker did not answer
        return BrokerReading(up=False, error=f"{type(exc).__name__}: {exc}"[:300])
    steps = len(_PRIORITY_STEPS)
    return BrokerReading(
        up=True, queue_lengths={name: sum(counts[i * steps : (i + 1) * steps]) for i, name in enumerate(names)}
    )


def consumers_per_queue() -> dict[str, int] | None:
    """How many workers answer a broadcast saying they consume each queue; None if none could be asked
    (the broker is down, or the embedded default's file broker, which cannot broadcast).

    A broadcast waits its whole timeout for answers (PORTAL_METRICS_INSPECT_TIMEOUT), so a scrape
    takes at least that long.
    """
    url = settings.CELERY_BROKER_URL
    if not _is_redis(url):
        return None
    try:
        # Polling for the answers every 50 ms, not kombu's 1 s: a scrape would wait that second too.
        with Connection(url, transport_options={"polling_interval": 0.05}) as conn:
            inspect = current_app.control.inspect(timeout=settings.PORTAL_METRICS_INSPECT_TIMEOUT, connection=conn)
            answers = inspect.active_queues() or {}
    except Exception:  # the broker is down: the scrape says so through portal_broker_up
        return None
    counts = dict.fromkeys(queue_names(), 0)
    for queues in answers.values():
        for queue in queues or []:
            counts[queue["name"]] = counts.get(queue["name"], 0) + 1
    return counts
