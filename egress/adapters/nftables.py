"""The `nftables` backend: a Linux firewall (a host's output or a gateway's forward hook).

The ruleset, its `nft -f` batches and the parsers of its listings are nft_ruleset's, shared with the
gateway service (gateway/), so that a table the portal writes and one a gateway writes are the same;
see nft_ruleset/ruleset.py for the table's layout. This module adds the target's options, the
burst settings and errors worded for staff.

The allow sets have a fixed size (`set_size` addresses per family, 262,144 unless the target says
otherwise).
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.utils.translation import gettext as _

from egress.adapters import Change, Counters, EgressError
from nft_ruleset import NftError, NftTable, Ruleset
from nft_ruleset.ruleset import UnsafeAddress


class NftablesAdapter:
    def __init__(
        self,
        *,
        name: str,
        table: str = "port25",
        chain: str = "egress",
        set_v4: str = "allowed_v4",
        set_v6: str = "allowed_v6",
        hook: str = "output",
        priority: int = 0,
        netns: str = "",
        nft: str = "nft",
        timeout: float = 60.0,
        set_size: int = 262_144,
    ) -> None:
        self.target = name
        ruleset = Ruleset(
            table=table,
            chain=chain,
            set_v4=set_v4,
            set_v6=set_v6,
            hook=hook,
            priority=priority,
            set_size=set_size,
            burst_per_minute=settings.PORTAL_TRAFFIC_BURST_PER_MINUTE,
            over_rate_hold=settings.PORTAL_TRAFFIC_OVER_RATE_HOLD,
        )
        self.nft = NftTable(ruleset, netns=netns, nft=nft, timeout=timeout)

    def allowed(self) -> set[str]:
        return self.start_reading()()

    def start_reading(self) -> Callable[[], set[str]]:
        # For large sets the listing is most of a reconciliation's time: it runs in the background
        # while the database is queried.
        with _worded(self.nft.ruleset.table):
            finish = self.nft.start_reading()

        def finish_worded() -> set[str]:
            with _worded(self.nft.ruleset.table):
                return finish()

        return finish_worded

    def counters(self) -> Counters:
        with _worded(self.nft.ruleset.table):
            counts = self.nft.counters()
        return Counters(connections=counts.connections, blocked=counts.blocked, over_rate=counts.over_rate)

    def batch(self, change: Change) -> str:
        """The nft script of a change (for benchmarks that time nft itself)."""
        return self.nft.ruleset.batch(change.allow, change.deny)

    def apply(self, change: Change) -> None:
        with _worded(self.nft.ruleset.table):
            self.nft.apply(change.allow, change.deny)


@contextmanager
def _worded(table: str) -> Iterator[None]:
    """nft_ruleset's errors as EgressErrors in the staff's language."""
    try:
        yield
    except UnsafeAddress as exc:
        raise EgressError(_("Refusing to write a malformed address into an nft batch."), permanent=True) from exc
    except NftError as exc:
        raise EgressError(_word(exc, table)) from exc


def _word(exc: NftError, table: str) -> str:
    if exc.kind == "timeout":
        return _("nft did not answer within %(s)s seconds.") % {"s": exc.detail}
    if exc.kind == "unrunnable":
        return _("nft could not be run: %(error)s") % {"error": exc.detail}
    if exc.kind == "full":
        return _(
            "An allow set of table %(table)s is full (%(size)s addresses): raise the target's set_size"
            " and delete the table (nft delete table inet %(table)s) for the next apply to re-create it."
        ) % {"table": table, "size": exc.detail}
    return _("nft failed: %(error)s") % {"error": exc.detail}
