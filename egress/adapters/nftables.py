"""The `nftables` backend: a Linux firewall (a host's output or a gateway's forward hook).

One inet table holds two named sets (IPv4, IPv6) of the addresses allowed to reach tcp/25
and a chain that accepts those and rejects tcp/25 from every other source. Every apply is
one `nft -f` batch, which the kernel commits atomically; it also re-creates the table, sets
and rules, so a hand-edited or deleted rule is repaired with the next apply. (Changing the
hook or priority of an existing chain needs `nft delete table inet TABLE` first.)
"""

import json
import re
import subprocess
import tempfile
from collections.abc import Callable

from django.utils.translation import gettext as _

from egress.adapters import Change, EgressError

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
# Addresses are written into the batch as text: nothing but address characters may get in.
_ADDRESS_LIST = re.compile(r"[0-9A-Fa-f:.,]*")
_CHUNK = 10_000  # elements per `add element` statement, all in the same batch
_HOOKS = ("output", "forward")


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
    ) -> None:
        for value in (table, chain, set_v4, set_v6, *([netns] if netns else [])):
            if not _NAME.fullmatch(value):
                raise ValueError(_("Not a valid nftables or namespace name: %(name)r") % {"name": value})
        if hook not in _HOOKS:
            raise ValueError(_("The hook must be one of %(hooks)s.") % {"hooks": ", ".join(_HOOKS)})
        self.target = name
        self.table, self.chain, self.sets = table, chain, {4: set_v4, 6: set_v6}
        self.hook, self.priority = hook, int(priority)
        self.prefix = ["ip", "netns", "exec", netns] if netns else []
        self.nft, self.timeout = nft, timeout

    def allowed(self) -> set[str]:
        return self.start_reading()()

    def start_reading(self) -> Callable[[], set[str]]:
        # Both sets are listed at once, in the background, into files (a pipe left unread would
        # stall the second listing): for large sets the listing is most of a reconciliation's
        # time, and the database is queried meanwhile.
        listings = []
        for name in self.sets.values():
            out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()  # noqa: SIM115 - _collect closes them
            process = subprocess.Popen(  # noqa: S603 - fixed argv, names validated above
                [*self.prefix, self.nft, "-j", "list", "set", "inet", self.table, name], stdout=out, stderr=err
            )
            listings.append((process, out, err))
        return lambda: self._collect(listings)

    def _collect(self, listings: list) -> set[str]:
        addresses: set[str] = set()
        for process, out, err in listings:
            with out, err:
                try:
                    process.wait(timeout=self.timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                    raise EgressError(_("nft did not answer within %(s)s seconds.") % {"s": self.timeout}) from None
                out.seek(0)
                err.seek(0)
                if process.returncode == 0:
                    addresses |= _elements(out.read())
                    continue
                error = err.read().decode(errors="replace").strip()
                if "No such file or directory" not in error:  # no such table/set yet: nothing is allowed
                    raise EgressError(_("nft failed: %(error)s") % {"error": error})
        return addresses

    def apply(self, change: Change) -> None:
        self._run(self.batch(change))

    def batch(self, change: Change) -> str:
        """The nft script of a change: the table, sets and rules as they must be, then the elements."""
        t, c, v4, v6 = self.table, self.chain, self.sets[4], self.sets[6]
        lines = [
            f"add table inet {t}",
            f"add set inet {t} {v4} {{ type ipv4_addr; }}",
            f"add set inet {t} {v6} {{ type ipv6_addr; }}",
            f"add chain inet {t} {c} {{ type filter hook {self.hook} priority {self.priority}; policy accept; }}",
            f"flush chain inet {t} {c}",
            f"add rule inet {t} {c} tcp dport 25 ip saddr @{v4} accept",
            f"add rule inet {t} {c} tcp dport 25 ip6 saddr @{v6} accept",
            f"add rule inet {t} {c} tcp dport 25 reject with tcp reset",
        ]
        allow, deny = _by_family(change.allow), _by_family(change.deny)
        for family, name in self.sets.items():
            lines += _elements_statements("add", t, name, allow[family])
            # `delete` fails on an absent element: adding it first makes removal idempotent.
            lines += _elements_statements("add", t, name, deny[family])
            lines += _elements_statements("delete", t, name, deny[family])
        return "\n".join(lines) + "\n"

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
        if result.returncode != 0:
            raise EgressError(_("nft failed: %(error)s") % {"error": result.stderr.strip()[:2000]})


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


def _elements(listing: bytes) -> set[str]:
    """The addresses in `nft -j list set` output: plain strings (printed by inet_ntop, the form
    Django stores), or objects with a `val` when an element carries a comment or timeout."""
    addresses: set[str] = set()
    for item in json.loads(listing).get("nftables", []):
        elements = item.get("set", {}).get("elem", [])
        try:
            addresses.update(elements)  # the common case, fast for 100,000 elements
        except TypeError:
            addresses.update(e["elem"]["val"] if isinstance(e, dict) else e for e in elements)
    return addresses
