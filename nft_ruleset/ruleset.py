"""The nft batch of a change: one inet table, allow sets per family, telemetry sets and rules.

One inet table holds two named sets (IPv4, IPv6) of the addresses allowed to reach tcp/25
and a chain that accepts those and rejects tcp/25 from every other source. Every batch re-creates
the table, sets and rules before it adds or deletes elements, so a hand-edited or deleted rule is
repaired with the next apply, and the kernel commits the whole batch atomically. (Changing the hook
or priority of an existing chain, or the `set_size`, needs `nft delete table inet TABLE` first.)

The allow sets have a fixed size (`set_size` addresses per family): the kernel then keeps them in a
hash that never resizes. A set that resizes while it is listed (after a large change) lists some
elements twice and leaves others out, which a reconciliation would take for drift.

Telemetry lives in the same table, set up by the same batch: allowed sources jump to a chain of
their family (`CHAIN_v4/6`) that counts and meters their new connections, then accepts; dynamic
sets with per-element counters of new connections from allowed addresses (`conn_v4_0..7`,
`conn_v6_0..7`) and of attempts from the others (`tried_v4/6`), and a kernel-side burst detector:
a source opening more than `burst_per_minute` new connections a minute lands in `over_v4/6` for
`over_rate_hold` seconds. An address idle for a day leaves the counting sets (its counter starts
again at zero).

A new connection is a SYN without ACK, matched in the TCP header: the telemetry needs no
connection tracking, which costs every packet of every flow through the host. The allowed
addresses' counters are spread over `SHARDS` sets by a hash of the address: listing a dynamic set
costs the kernel and nft more than linearly in its size (100,000 elements in one set list in about
2.3 s here, in eight sets listed side by side in about 0.6 s).
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass

NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
# Addresses are written into the batch as text: nothing but address characters may get in.
_ADDRESS_LIST = re.compile(r"[0-9A-Fa-f:.,]*")
_CHUNK = 10_000  # elements per `add element` statement, all in the same batch
HOOKS = ("output", "forward")
FAMILIES = {4: "ip", 6: "ip6"}
TELEMETRY = ("conn", "tried", "over")  # set name prefixes; `rate` holds the meters
_IDLE = "1d"  # an address that opened nothing for this long leaves the counting sets
_SIZE = 1_048_576  # elements a dynamic set may hold (the kernel's default is 65,535)
SHARDS = 8  # sets the allowed addresses' counters are spread over (`conn_v4_0` ...)
_NEW = "tcp flags & (syn | ack) == syn"  # a connection's first packet (and its retransmissions)


class UnsafeAddress(ValueError):
    """Something that is not address characters was about to be written into a batch."""


@dataclass(frozen=True)
class Ruleset:
    table: str = "port25"
    chain: str = "egress"
    set_v4: str = "allowed_v4"
    set_v6: str = "allowed_v6"
    hook: str = "output"
    priority: int = 0
    set_size: int = 262_144
    burst_per_minute: int = 60
    over_rate_hold: int = 600  # seconds

    def __post_init__(self) -> None:
        for value in (self.table, self.chain, self.set_v4, self.set_v6):
            if not NAME.fullmatch(value):
                raise ValueError(f"Not a valid nftables name: {value!r}")
        if self.hook not in HOOKS:
            raise ValueError(f"The hook must be one of {', '.join(HOOKS)}.")
        for number in ("priority", "set_size", "burst_per_minute", "over_rate_hold"):
            object.__setattr__(self, number, int(getattr(self, number)))
        if self.set_size < 1 or self.burst_per_minute < 1 or self.over_rate_hold < 1:
            raise ValueError("The set size, burst rate and over-rate hold must be positive numbers.")

    @property
    def sets(self) -> dict[int, str]:
        """The allow set of each IP version."""
        return {4: self.set_v4, 6: self.set_v6}

    def batch(self, allow: Iterable[str], deny: Iterable[str]) -> str:
        """The nft script of a change: the table, sets and rules as they must be, then the elements."""
        t, c, v4, v6 = self.table, self.chain, self.set_v4, self.set_v6
        lines = [
            f"add table inet {t}",
            f"add set inet {t} {v4} {{ type ipv4_addr; size {self.set_size}; }}",
            f"add set inet {t} {v6} {{ type ipv6_addr; size {self.set_size}; }}",
            *self._telemetry_sets(),
            f"add chain inet {t} {c} {{ type filter hook {self.hook} priority {self.priority}; policy accept; }}",
            f"flush chain inet {t} {c}",
            *self._rules(),
        ]
        allowed, denied = by_family(allow), by_family(deny)
        for family, name in self.sets.items():
            lines += _elements_statements("add", t, name, allowed[family])
            # `delete` fails on an absent element: adding it first makes removal idempotent.
            lines += _elements_statements("add", t, name, denied[family])
            lines += _elements_statements("delete", t, name, denied[family])
        return "\n".join(lines) + "\n"

    def _telemetry_sets(self) -> list[str]:
        lines = []
        for family in self.sets:
            kind = f"ipv{family}_addr"
            for name in counting_sets(family):
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
        lines = []
        for family, allowed in self.sets.items():
            source, v = f"{FAMILIES[family]} saddr", f"v{family}"
            for shard in range(SHARDS):  # first: the family's chain names them
                lines += [
                    f"add chain inet {t} {c}_{v}_{shard}",
                    f"flush chain inet {t} {c}_{v}_{shard}",
                    f"add rule inet {t} {c}_{v}_{shard} update @conn_{v}_{shard} {{ {source} timeout {_IDLE} }}"
                    f" update @rate_{v} {{ {source} timeout 2m limit rate over {self.burst_per_minute}/minute }}"
                    f" add @over_{v} {{ {source} timeout {self.over_rate_hold}s }}",
                    f"add rule inet {t} {c}_{v}_{shard} accept",
                ]
            shards = ", ".join(f"{shard} : goto {c}_{v}_{shard}" for shard in range(SHARDS))
            lines += [
                f"add chain inet {t} {c}_{v}",
                f"flush chain inet {t} {c}_{v}",
                f"add rule inet {t} {c}_{v} {_NEW} jhash {source} mod {SHARDS} vmap {{ {shards} }}",
                f"add rule inet {t} {c}_{v} accept",
            ]
            lines.append(f"add rule inet {t} {c} tcp dport 25 {source} @{allowed} goto {c}_{v}")
        for family in self.sets:
            tried = f"@tried_v{family} {{ {FAMILIES[family]} saddr timeout {_IDLE} }}"
            lines.append(f"add rule inet {t} {c} tcp dport 25 {_NEW} update {tried}")
        lines.append(f"add rule inet {t} {c} tcp dport 25 reject with tcp reset")
        return lines


def counting_sets(family: int) -> list[str]:
    """The sets of a family with a counter per element: the allowed addresses' shards, then the others'."""
    return [f"conn_v{family}_{shard}" for shard in range(SHARDS)] + [f"tried_v{family}"]


def by_family(addresses: Iterable[str]) -> dict[int, list[str]]:
    split: dict[int, list[str]] = {4: [], 6: []}
    for ip in addresses:
        split[6 if ":" in ip else 4].append(ip)
    return split


def _elements_statements(verb: str, table: str, name: str, addresses: list[str]) -> list[str]:
    statements = []
    for start in range(0, len(addresses), _CHUNK):
        listed = ", ".join(addresses[start : start + _CHUNK])
        if not _ADDRESS_LIST.fullmatch(listed.replace(" ", "")):
            raise UnsafeAddress("Refusing to write a malformed address into an nft batch.")
        statements.append(f"{verb} element inet {table} {name} {{ {listed} }}")
    return statements
