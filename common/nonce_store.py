"""The control nonces a receiver accepted inside the replay window, kept on disk.

A Reset captured off the wire and replayed after the receiver restarts must be refused,
so the nonces live in SQLite in the receiver's run dir (WAL, synchronous=FULL: a nonce
is on disk before the message it came with is acted on), not only in process memory.
Rows older than the window are deleted as new ones arrive: a message that old is
refused by its timestamp anyway.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

__all__ = ["NonceStore", "nonce_path"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS nonces (
    sender TEXT NOT NULL,
    nonce TEXT NOT NULL,
    ts_ns INTEGER NOT NULL,
    PRIMARY KEY (sender, nonce)
)
"""


def nonce_path(run_dir: Path, receiver: str) -> Path:
    """Where `receiver` (risk, executor-kalshi, ...) keeps its accepted nonces."""
    return run_dir / "control" / f"nonces-{receiver}.sqlite"


class NonceStore:
    """Remembers (sender, nonce) pairs; `None` as the path keeps them in memory (tests, tools)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(":memory:" if path is None else str(path),
                                   isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(_SCHEMA)

    def remember(self, sender: str, nonce: str, ts_ns: int, *, oldest_ns: int) -> bool:
        """Record a nonce; False if this sender's nonce was seen already (a replay).

        Raises sqlite3.Error if the disk refuses the write; the caller decides what a
        message it cannot remember may still do."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("DELETE FROM nonces WHERE ts_ns < ?", (oldest_ns,))
            cur = db.execute("INSERT OR IGNORE INTO nonces (sender, nonce, ts_ns) VALUES (?, ?, ?)",
                             (sender, nonce, ts_ns))
            fresh = cur.rowcount == 1
            db.execute("COMMIT")
        except sqlite3.Error:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return fresh

    def count(self) -> int:
        """How many nonces are remembered (for tests and diagnostics)."""
        row = self._db.execute("SELECT COUNT(*) FROM nonces").fetchone()
        return int(row[0])

    def close(self) -> None:
        self._db.close()
