"""What the gateway does, apart from HTTP: apply a change once per key, list the sets and counters."""

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from gateway.changes import ChangeRequest
from gateway.config import Config
from gateway.keys import KeyStore
from gateway.metrics import Metrics
from nft_ruleset import NftError, NftTable

APPLIED = json.dumps({"applied": True}).encode()


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


class Gateway:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.table = NftTable(config.ruleset, nft=config.nft, timeout=config.nft_timeout)
        self.keys = KeyStore(config.state_dir / "keys.sqlite3", keep_seconds=config.key_hours * 3600)
        self.metrics = Metrics()
        self._one_at_a_time = threading.Lock()  # nft commits one batch at a time anyway; keys stay simple

    def change(self, key: str, parse: Callable[[], ChangeRequest]) -> Answer:
        """Apply the change `parse` gives, unless `key` was applied before: then answer as the first time.

        `parse` is called only for a new key, and may raise Refused (nothing is applied then).
        """
        with self._one_at_a_time:
            remembered = self.keys.find(key)
            if remembered is not None and remembered.state == "done":
                self.metrics.changes.labels("replayed").inc()
                return Answer(remembered.status, remembered.answer)
            if remembered is not None:  # pending: the process died while applying it
                change = ChangeRequest(remembered.allow, remembered.deny)
                if self._in_effect(change):
                    self.keys.finish(key, 200, APPLIED)
                    self.metrics.changes.labels("replayed").inc()
                    return Answer(200, APPLIED)
            else:
                change = parse()
                self.keys.begin(key, change.allow, change.deny)
            return self._apply(key, change)

    def _apply(self, key: str, change: ChangeRequest) -> Answer:
        started = time.perf_counter()
        try:
            self.table.apply(change.allow, change.deny)
        except NftError as exc:
            self.keys.forget(key)
            self.metrics.changes.labels("failed").inc()
            # 5xx: the portal keeps the change and retries it with the same key. A full set may
            # have room after later denials; staff see this text on the change meanwhile.
            return Answer(507 if exc.kind == "full" else 503, json.dumps({"error": str(exc)}).encode())
        self.metrics.applied(time.perf_counter() - started)
        self.keys.finish(key, 200, APPLIED)
        return Answer(200, APPLIED)

    def _in_effect(self, change: ChangeRequest) -> bool:
        allowed = self.table.allowed()
        return allowed.issuperset(change.allow) and allowed.isdisjoint(change.deny)

    def allowed(self) -> list[str]:
        by_family = self.table.allowed_by_family()
        self.metrics.listed(by_family)
        return sorted(set().union(*by_family.values()))

    def counters(self) -> dict:
        counts = self.table.counters()
        return {
            "connections": counts.connections,
            "blocked": counts.blocked,
            "over_rate": sorted(counts.over_rate),
        }
