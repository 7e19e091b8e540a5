"""The `nftables` backend: a Linux firewall (a host's output or a gateway's forward hook).

One inet table holds two named sets (IPv4, IPv6) of the addresses allowed to reach tcp/25
and a chain that accepts those and rejects tcp/25 from every other source. Every apply is
one `nft -f` batch, which the kernel commits atomically; it also re-creates the table, sets
and rules, so a hand-edited or deleted rule is repaired with the next apply. (Changing the
hook or priority of an existing chain, or the `set_size`, needs `nft delete table inet TABLE` first.)

The allow sets have a fixed size (`set_size` addresses per family, 262,144 unless the target says
otherwise): the kernel then keeps them in a hash that never resizes. A set that resizes while it
is listed (after a large change) lists some elements twice and leaves others out, which a
reconciliation would take for drift.

Telemetry lives in the same table, set up by the same batch: allowed sources jump to a chain of
their family (`CHAIN_v4/6`) that counts and meters their new connections, then accepts; dynamic
sets with per-element counters of new connections from allowed addresses (`conn_v4_0..7`,
`conn_v6_0..7`) and of attempts from the others (`tried_v4/6`), and a kernel-side burst detector:
a source opening more than PORTAL_TRAFFIC_BURST_PER_MINUTE new connections a minute lands in
`over_v4/6` for PORTAL_TRAFFIC_OVER_RATE_HOLD seconds. An address idle for a day leaves the
counting sets (its counter starts again at zero).

A new connection is a SYN without ACK, matched in the TCP header: the telemetry needs no
connection tracking, which costs every packet of every flow through the host. The allowed
addresses' counters are spread over `_SHARDS` sets by a hash of the address: listing a dynamic set
costs the kernel and nft more than linearly in its size (100,000 elements in one set list in about
2.3 s here, in eight sets listed side by side in about 0.6 s).
"""

import gc
import json
import os
import re
import subprocess
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from django.conf import settings
from django.utils.translation import gettext as _

from egress.adapters import Change, Counters, EgressError

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
# Addresses are written into the batch as text: nothing but address characters may get in.
_ADDRESS_LIST = re.compile(r"[0-9A-Fa-f:.,]*")
_CHUNK = 10_000  # elements per `add element` statement, all in the same batch
_HOOKS = ("output", "forward")
_FAMILIES = {4: "ip", 6: "ip6"}
_TELEMETRY = ("conn", "tried", "over")  # set name prefixes; `rate` holds the meters
_IDLE = "1d"  # an address that opened nothing for this long leaves the counting sets
_SIZE = 1_048_576  # elements a dynamic set may hold (the kernel's default is 65,535)
_SHARDS = 8  # sets the allowed addresses' counters are spread over (`conn_v4_0` ...)
_NEW = "tcp flags & (syn | ack) == syn"  # a connection's first packet (and its retransmissions)
_FULL = "Too many open files in system"  # how nft words ENFILE, a set at its size
_LISTINGS_AT_ONCE = os.cpu_count() or 2  # nft listing a large set keeps a core busy

T = TypeVar("T")


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
        for value in (table, chain, set_v4, set_v6, *([netns] if netns else [])):
            if not _NAME.fullmatch(value):
                raise ValueError(_("Not a valid nftables or namespace name: %(name)r") % {"name": value})
        if hook not in _HOOKS:
            raise ValueError(_("The hook must be one of %(hooks)s.") % {"hooks": ", ".join(_HOOKS)})
        if int(set_size) < 1:
            raise ValueError(_("The set size must be a positive number of addresses."))
        self.target = name
        self.table, self.chain, self.sets = table, chain, {4: set_v4, 6: set_v6}
        self.hook, self.priority = hook, int(priority)
        self.prefix = ["ip", "netns", "exec", netns] if netns else []
        self.nft, self.timeout, self.set_size = nft, timeout, int(set_size)

    def allowed(self) -> set[str]:
        return self.start_reading()()

    def start_reading(self) -> Callable[[], set[str]]:
        # For large sets the listing is most of a reconciliation's time: it runs in the background
        # while the database is queried.
        finish = self._list_sets(list(self.sets.values()), _elements)
        return lambda: set().union(*finish().values())

    def counters(self) -> Counters:
        names = [name for family in self.sets for name in [*_counting_sets(family), f"over_v{family}"]]
        counts: dict[str, Counter[str]] = {kind: Counter() for kind in _TELEMETRY}
        for name, counted in self._list_sets(names, _counted)().items():
            counts[name.split("_")[0]].update(counted)  # summed: after a change of _SHARDS, in two
        return Counters(
            connections=dict(counts["conn"]), blocked=dict(counts["tried"]), over_rate=frozenset(counts["over"])
        )

    def _list_sets(self, names: list[str], read: Callable[[bytes], T]) -> Callable[[], dict[str, T]]:
        """Start `nft -j list set` of each set and `read` of its listing; calling the result waits for them.

        A few listings run side by side, each in a thread that reads its output as soon as it ends,
        while the next ones list. A set or table that does not exist yet is left out.
        """
        executor = ThreadPoolExecutor(max_workers=_LISTINGS_AT_ONCE, thread_name_prefix=f"nft-{self.target}")
        futures = {name: executor.submit(self._list_set, name, read) for name in names}
        executor.shutdown(wait=False)  # the threads end with the last listing
        return lambda: {name: value for name, future in futures.items() if (value := future.result()) is not None}

    def _list_set(self, name: str, read: Callable[[bytes], T]) -> T | None:
        # Into a file: megabytes through a pipe would be read in small chunks, holding the GIL.
        with tempfile.TemporaryFile() as out:
            try:
                listed = subprocess.run(  # noqa: S603 - fixed argv, names validated above
                    [*self.prefix, self.nft, "-j", "list", "set", "inet", self.table, name],
                    stdout=out,
                    stderr=subprocess.PIPE,
                    timeout=self.timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise EgressError(_("nft did not answer within %(s)s seconds.") % {"s": self.timeout}) from None
            except OSError as exc:
                raise EgressError(_("nft could not be run: %(error)s") % {"error": exc}) from exc
            out.seek(0)
            if listed.returncode == 0:
                return read(out.read())
        error = listed.stderr.decode(errors="replace").strip()
        if "No such file or directory" in error:  # no such table or set yet: nothing in it
            return None
        raise EgressError(_("nft failed: %(error)s") % {"error": error})

    def apply(self, change: Change) -> None:
        self._run(self.batch(change))

    def batch(self, change: Change) -> str:
        """The nft script of a change: the table, sets and rules as they must be, then the elements."""
        t, c, v4, v6 = self.table, self.chain, self.sets[4], self.sets[6]
        lines = [
            f"add table inet {t}",
            f"add set inet {t} {v4} {{ type ipv4_addr; size {self.set_size}; }}",
            f"add set inet {t} {v6} {{ type ipv6_addr; size {self.set_size}; }}",
            *self._telemetry_sets(),
            f"add chain inet {t} {c} {{ type filter hook {self.hook} priority {self.priority}; policy accept; }}",
            f"flush chain inet {t} {c}",
            *self._rules(),
        ]
        allow, deny = _by_family(change.allow), _by_family(change.deny)
        for family, name in self.sets.items():
            lines += _elements_statements("add", t, name, allow[family])
            # `delete` fails on an absent element: adding it first makes removal idempotent.
            lines += _elements_statements("add", t, name, deny[family])
            lines += _elements_statements("delete", t, name, deny[family])
        return "\n".join(lines) + "\n"

    def _telemetry_sets(self) -> list[str]:
        lines = []
        for family in self.sets:
            kind = f"ipv{family}_addr"
            for name in _counting_sets(family):
                flags = f"type {kind}; flags dynamic,timeout; counter; size {_SIZE};"
                lines.append(f"add set inet {self.table} {name} {{ {flags} }}")
            for name in ("rate", "over"):
                flags = f"type {kind}; flags dynamic,timeout; size {_SIZE};"
                lines.append(f"add set inet {self.table} {name}_v{family} {{ {flags} }}")
        return lines

    def _rules(self) -> list[str]:
        """Allowed sources go to a chain of their family (one lookup of the allow set per packet, as
        without telemetry) that sends their new connections to the chain of their shard, which counts
        and meters them, and accepts; the others' new connections are counted, and every other tcp/25
        packet refused."""
        t, c = self.table, self.chain
        per_minute = int(settings.PORTAL_TRAFFIC_BURST_PER_MINUTE)
        hold = int(settings.PORTAL_TRAFFIC_OVER_RATE_HOLD)
        lines = []
        for family, allowed in self.sets.items():
            source, v = f"{_FAMILIES[family]} saddr", f"v{family}"
            for shard in range(_SHARDS):  # first: the family's chain names them
                lines += [
                    f"add chain inet {t} {c}_{v}_{shard}",
                    f"flush chain inet {t} {c}_{v}_{shard}",
                    f"add rule inet {t} {c}_{v}_{shard} update @conn_{v}_{shard} {{ {source} timeout {_IDLE} }}"
                    f" update @rate_{v} {{ {source} timeout 2m limit rate over {per_minute}/minute }}"
                    f" add @over_{v} {{ {source} timeout {hold}s }}",
                    f"add rule inet {t} {c}_{v}_{shard} accept",
                ]
            shards = ", ".join(f"{shard} : goto {c}_{v}_{shard}" for shard in range(_SHARDS))
            lines += [
                f"add chain inet {t} {c}_{v}",
                f"flush chain inet {t} {c}_{v}",
                f"add rule inet {t} {c}_{v} {_NEW} jhash {source} mod {_SHARDS} vmap {{ {shards} }}",
                f"add rule inet {t} {c}_{v} accept",
            ]
            lines.append(f"add rule inet {t} {c} tcp dport 25 {source} @{allowed} goto {c}_{v}")
        for family in self.sets:
            tried = f"@tried_v{family} {{ {_FAMILIES[family]} saddr timeout {_IDLE} }}"
            lines.append(f"add rule inet {t} {c} tcp dport 25 {_NEW} update {tried}")
        lines.append(f"add rule inet {t} {c} tcp dport 25 reject with tcp reset")
        return lines

    def _run(self, script: str) -> None:
        try:
            result = subprocess.run(  # noqa: S603 - fixed argv, names validated above
                [*self.prefix, self.nft, "-f", "-"],
                input=script,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise EgressError(_("nft did not answer within %(s)s seconds.") % {"s": self.timeout}) from None
        except OSError as exc:
            raise EgressError(_("nft could not be run: %(error)s") % {"error": exc}) from exc
        if result.returncode == 0:
            return
        if _FULL in result.stderr:  # ENFILE: a set holds as many elements as its size
            raise EgressError(
                _(
                    "An allow set of table %(table)s is full (%(size)d addresses): raise the target's set_size"
                    " and delete the table (nft delete table inet %(table)s) for the next apply to re-create it."
                )
                % {"table": self.table, "size": self.set_size}
            )
        raise EgressError(_("nft failed: %(error)s") % {"error": result.stderr.strip()[:2000]})


def _counting_sets(family: int) -> list[str]:
    """The sets of a family with a counter per element: the allowed addresses' shards, then the others'."""
    return [f"conn_v{family}_{shard}" for shard in range(_SHARDS)] + [f"tried_v{family}"]


def _by_family(addresses: frozenset[str]) -> dict[int, list[str]]:
    split: dict[int, list[str]] = {4: [], 6: []}
    for ip in addresses:
        split[6 if ":" in ip else 4].append(ip)
    return split


def _elements_statements(verb: str, table: str, name: str, addresses: list[str]) -> list[str]:
    statements = []
    for start in range(0, len(addresses), _CHUNK):
        listed = ", ".join(addresses[start : start + _CHUNK])
        if not _ADDRESS_LIST.fullmatch(listed.replace(" ", "")):
            raise EgressError(_("Refusing to write a malformed address into an nft batch."), permanent=True)
        statements.append(f"{verb} element inet {table} {name} {{ {listed} }}")
    return statements


def _counted(listing: bytes) -> dict[str, int]:
    """Address -> packets counted, from `nft -j list set` of a set with per-element counters
    (a set without counters, such as the over-rate one, gives 0 for each address)."""
    counts: dict[str, int] = {}
    for item in _parsed(listing):
        for element in item.get("set", {}).get("elem", []):
            if isinstance(element, dict):
                element = element["elem"]
                counts[element["val"]] = element.get("counter", {}).get("packets", 0)
            else:
                counts[element] = 0
    return counts


def _elements(listing: bytes) -> set[str]:
    """The addresses in `nft -j list set` output: plain strings (printed by inet_ntop, the form
    Django stores), or objects with a `val` when an element carries a comment or timeout."""
    addresses: set[str] = set()
    for item in _parsed(listing):
        elements = item.get("set", {}).get("elem", [])
        try:
            addresses.update(elements)  # the common case, fast for 100,000 elements
        except TypeError:
            addresses.update(e["elem"]["val"] if isinstance(e, dict) else e for e in elements)
    return addresses


def _parsed(listing: bytes) -> list:
    """The objects of `nft -j` output.

    Python 3.11 runs its cycle collector again and again while json.loads builds the hundreds of
    thousands of dicts of a large set's listing, which more than doubles the parse (0.6 s against
    0.25 s for 100,000 elements here); parsed JSON holds no reference cycles, so it is paused.
    """
    with _cycle_collector_paused():
        return json.loads(listing).get("nftables", [])


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
