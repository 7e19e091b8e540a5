"""nft run for one table of a `Ruleset`: apply a change in one batch, list its sets, read its counters."""

import os
import subprocess
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from nft_ruleset.listing import counted, elements
from nft_ruleset.ruleset import NAME, TELEMETRY, Ruleset, counting_sets

_FULL = "Too many open files in system"  # how nft words ENFILE, a set at its size
_LISTINGS_AT_ONCE = os.cpu_count() or 2  # nft listing a large set keeps a core busy

T = TypeVar("T")


class NftError(Exception):
    """nft did not do what was asked. `kind` says why, for callers that word it themselves:

    `unrunnable` (no nft, no permission; `detail` is the OS error), `timeout` (`detail` is the
    seconds waited), `full` (an allow set holds `set_size` addresses), `failed` (`detail` is nft's
    own error).
    """

    def __init__(self, kind: str, detail: str) -> None:
        self.kind, self.detail = kind, detail
        super().__init__(
            {
                "unrunnable": f"nft could not be run: {detail}",
                "timeout": f"nft did not answer within {detail} seconds.",
                "full": f"An allow set is full ({detail} addresses).",
            }.get(kind, f"nft failed: {detail}")
        )


@dataclass(frozen=True)
class TableCounts:
    connections: dict[str, int] = field(default_factory=dict)  # new connections from allowed addresses
    blocked: dict[str, int] = field(default_factory=dict)  # attempts from addresses not allowed
    over_rate: frozenset[str] = field(default_factory=frozenset)  # sources over the burst rate now


class NftTable:
    def __init__(self, ruleset: Ruleset, *, netns: str = "", nft: str = "nft", timeout: float = 60.0) -> None:
        if netns and not NAME.fullmatch(netns):
            raise ValueError(f"Not a valid namespace name: {netns!r}")
        self.ruleset = ruleset
        self.prefix = ["ip", "netns", "exec", netns] if netns else []
        self.nft, self.timeout = nft, timeout

    def apply(self, allow: Iterable[str], deny: Iterable[str]) -> None:
        """Allow and deny addresses in one `nft -f` batch, which the kernel commits whole or not at all."""
        self.run(self.ruleset.batch(allow, deny))

    def run(self, script: str) -> None:
        result = self._nft(["-f", "-"], input=script, capture_output=True, text=True)
        if result.returncode == 0:
            return
        if _FULL in result.stderr:  # ENFILE: a set holds as many elements as its size
            raise NftError("full", str(self.ruleset.set_size))
        raise NftError("failed", result.stderr.strip()[:2000])

    def allowed(self) -> set[str]:
        return self.start_reading()()

    def start_reading(self) -> Callable[[], set[str]]:
        """Start listing the allow sets; calling the result waits for the addresses."""
        finish = self.list_sets(list(self.ruleset.sets.values()), elements)
        return lambda: set().union(*finish().values())

    def allowed_by_family(self) -> dict[int, set[str]]:
        listed = self.list_sets(list(self.ruleset.sets.values()), elements)()
        return {family: listed.get(name, set()) for family, name in self.ruleset.sets.items()}

    def counters(self) -> TableCounts:
        families = self.ruleset.sets
        names = [name for family in families for name in [*counting_sets(family), f"over_v{family}"]]
        counts: dict[str, Counter[str]] = {kind: Counter() for kind in TELEMETRY}
        for name, found in self.list_sets(names, counted)().items():
            counts[name.split("_")[0]].update(found)  # summed: after a change of SHARDS, in two
        return TableCounts(dict(counts["conn"]), dict(counts["tried"]), frozenset(counts["over"]))

    def list_sets(self, names: list[str], read: Callable[[bytes], T]) -> Callable[[], dict[str, T]]:
        """Start `nft -j list set` of each set and `read` of its listing; calling the result waits for them.

        A few listings run side by side, each in a thread that reads its output as soon as it ends,
        while the next ones list. A set or table that does not exist yet is left out.
        """
        executor = ThreadPoolExecutor(max_workers=_LISTINGS_AT_ONCE, thread_name_prefix=f"nft-{self.ruleset.table}")
        futures = {name: executor.submit(self._list_set, name, read) for name in names}
        executor.shutdown(wait=False)  # the threads end with the last listing
        return lambda: {name: value for name, future in futures.items() if (value := future.result()) is not None}

    def _list_set(self, name: str, read: Callable[[bytes], T]) -> T | None:
        # Into a file: megabytes through a pipe would be read in small chunks, holding the GIL.
        with tempfile.TemporaryFile() as out:
            listing = ["-j", "list", "set", "inet", self.ruleset.table, name]
            listed = self._nft(listing, stdout=out, stderr=subprocess.PIPE)
            out.seek(0)
            if listed.returncode == 0:
                return read(out.read())
        error = listed.stderr.decode(errors="replace").strip()
        if "No such file or directory" in error:  # no such table or set yet: nothing in it
            return None
        raise NftError("failed", error)

    def _nft(self, args: list[str], **options) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(  # noqa: S603 - fixed argv, names validated by Ruleset
                [*self.prefix, self.nft, *args], timeout=self.timeout, check=False, **options
            )
        except subprocess.TimeoutExpired:
            raise NftError("timeout", str(self.timeout)) from None
        except OSError as exc:
            raise NftError("unrunnable", str(exc)) from exc
