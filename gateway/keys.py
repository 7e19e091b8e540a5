"""Idempotency-Keys kept on disk (SQLite, WAL), so that a retried change is applied at most once
across restarts and kill -9.

A key is written `pending` with its change before nft runs and `done` with the answer after: a key
found pending was being applied when the process died, and nobody knows whether nft committed it.
The caller settles it by reading the sets (gateway/service.py).
"""

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key TEXT PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN ('pending', 'done')),
    change TEXT NOT NULL,   -- {"allow": [...], "deny": [...]} as validated
    status INTEGER,         -- the answer given the first time
    answer BLOB,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS idempotency_keys_at ON idempotency_keys (at);
"""


@dataclass(frozen=True)
class Remembered:
    state: str
    allow: list[str]
    deny: list[str]
    status: int | None
    answer: bytes | None


class KeyStore:
    def __init__(self, path: Path, *, keep_seconds: float) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.keep_seconds = keep_seconds
        # One connection, used under a lock: the gateway applies one change at a time anyway.
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            # WAL with NORMAL: a commit survives the process being killed (kill -9) without an fsync
            # per change; a power loss may forget the last keys, whose retries then apply again,
            # harmlessly (allow and deny set a state). FULL cost ~10 ms a change here.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)

    def find(self, key: str) -> Remembered | None:
        with self._lock:
            row = self._db.execute(
                "SELECT state, change, status, answer FROM idempotency_keys WHERE key = ? AND at >= ?",
                (key, time.time() - self.keep_seconds),
            ).fetchone()
        if row is None:
            return None
        change = json.loads(row[1])
        return Remembered(row[0], change["allow"], change["deny"], row[2], row[3])

    def begin(self, key: str, allow: list[str], deny: list[str]) -> None:
        change = json.dumps({"allow": allow, "deny": deny})
        with self._lock:
            self._db.execute("DELETE FROM idempotency_keys WHERE at < ?", (time.time() - self.keep_seconds,))
            self._db.execute(
                "INSERT OR REPLACE INTO idempotency_keys (key, state, change, at) VALUES (?, 'pending', ?, ?)",
                (key, change, time.time()),
            )

    def finish(self, key: str, status: int, answer: bytes) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE idempotency_keys SET state = 'done', status = ?, answer = ? WHERE key = ?",
                (status, answer, key),
            )

    def forget(self, key: str) -> None:
        """A change nft refused: it was not applied, and the next try with its key must run it."""
        with self._lock:
            self._db.execute("DELETE FROM idempotency_keys WHERE key = ?", (key,))

    def healthy(self) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1").fetchone() == (1,)
