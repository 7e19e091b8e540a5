"""The `simulated` backend: the firewall is a table, for a laptop and for tests of everything above it."""

from collections.abc import Callable

from django.db.models import F

from egress.adapters import Change, Counters
from egress.models import SimulatedAllowance, SimulatedTraffic

_CHUNK = 5_000  # below every database's limit on query parameters


class SimulatedAdapter:
    def __init__(self, *, name: str) -> None:
        self.target = name

    def allowed(self) -> set[str]:
        return set(SimulatedAllowance.objects.filter(target=self.target).values_list("ip", flat=True))

    def start_reading(self) -> Callable[[], set[str]]:
        return self.allowed

    def apply(self, change: Change) -> None:
        SimulatedAllowance.objects.bulk_create(
            (SimulatedAllowance(target=self.target, ip=ip) for ip in change.allow),
            batch_size=_CHUNK,
            ignore_conflicts=True,
        )
        deny = sorted(change.deny)
        for start in range(0, len(deny), _CHUNK):
            SimulatedAllowance.objects.filter(target=self.target, ip__in=deny[start : start + _CHUNK]).delete()

    def counters(self) -> Counters:
        rows = SimulatedTraffic.objects.filter(target=self.target)
        connections, blocked, over_rate = {}, {}, set()
        for ip, sent, refused, over in rows.values_list("ip", "connections", "blocked", "over_rate"):
            if sent:
                connections[ip] = sent
            if refused:
                blocked[ip] = refused
            if over:
                over_rate.add(ip)
        return Counters(connections=connections, blocked=blocked, over_rate=frozenset(over_rate))


def simulate_connections(target: str, ip: str, count: int, *, over_rate: bool = False) -> bool:
    """Feed the simulated firewall `count` new tcp/25 connections from `ip` (demos and tests).

    They are counted as connections if the target allows the address, as blocked attempts if
    not; `over_rate` puts the source in the over-rate set (False takes it out). Returns whether
    the address was allowed.
    """
    allowed = SimulatedAllowance.objects.filter(target=target, ip=ip).exists()
    counter = "connections" if allowed else "blocked"
    row, _created = SimulatedTraffic.objects.get_or_create(target=target, ip=ip)
    SimulatedTraffic.objects.filter(pk=row.pk).update(**{counter: F(counter) + count}, over_rate=over_rate)
    return allowed


def reset_counters(target: str) -> None:
    """Start every counter of the simulated target again from zero, as a re-created nft table does."""
    SimulatedTraffic.objects.filter(target=target).delete()
