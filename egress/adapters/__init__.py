"""What every firewall backend offers: apply a change to a set of addresses, read back what is allowed."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


class EgressError(Exception):
    """A target did not take a change or could not be read.

    `permanent` means trying the same thing again cannot help (the target refused it).
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Change:
    """Addresses to allow and to deny on one target. Applying a change twice has the effect of once."""

    key: str
    allow: frozenset[str] = field(default_factory=frozenset)
    deny: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Counters:
    """What a target saw on tcp/25, cumulative per address since the target began counting it.

    A counter may start again from zero (an element re-added, a table re-created): the collector
    takes a value below the last one as a reset.
    """

    connections: dict[str, int] = field(default_factory=dict)  # new connections from allowed addresses
    blocked: dict[str, int] = field(default_factory=dict)  # attempts from addresses not allowed
    over_rate: frozenset[str] = field(default_factory=frozenset)  # sources over the kernel-side rate now


class Adapter(Protocol):
    def allowed(self) -> set[str]:
        """The addresses the target lets reach tcp/25 now."""

    def start_reading(self) -> Callable[[], set[str]]:
        """Begin reading what `allowed` returns; calling the result finishes. A backend that can
        read in the background (nft runs as a process) does so while the database is queried."""

    def apply(self, change: Change) -> None:
        """Make the target allow `change.allow` and deny `change.deny`, all or nothing."""

    def counters(self) -> Counters:
        """The target's traffic counters now."""
