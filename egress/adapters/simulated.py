"""The `simulated` backend: the firewall is a table, for a laptop and for tests of everything above it."""

from collections.abc import Callable

from egress.adapters import Change
from egress.models import SimulatedAllowance

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
