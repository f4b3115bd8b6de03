"""The fill journal: SQLite in WAL mode, written before any position changes.

Every fill is INSERTed and committed (synchronous=FULL) before risk applies it; the
row is unique on (venue, trade_id, order_id), so a fill delivered twice - a replayed
event, a reconnect - is recorded and applied once, while one venue trade that hits two of
our orders (a Polymarket trade can list several makers) is two fills. On start risk replays the journal in
insertion order and rebuilds every position exactly.

Blocking sqlite calls run on the event loop: fills are rare next to books, and a
commit that returned is the durability point the rest of risk relies on.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from common import metrics
from common.config import Config
from common.messages import Fill, FillReversal
from common.storage import guarded

__all__ = ["Journal", "journal_path"]

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS fills (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    venue       TEXT    NOT NULL,
    trade_id    TEXT    NOT NULL,
    market      TEXT    NOT NULL,
    order_id    TEXT    NOT NULL,
    outcome     TEXT    NOT NULL,
    side        TEXT    NOT NULL,
    price       INTEGER NOT NULL,
    size        INTEGER NOT NULL,
    fee         INTEGER NOT NULL,
    ts_venue_ms INTEGER NOT NULL,
    ts_recv_ns  INTEGER NOT NULL,
    UNIQUE (venue, trade_id, order_id)
)
"""

_SCHEMA_STATE = """
CREATE TABLE IF NOT EXISTS risk_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
)
"""

_SCHEMA_REVERSALS = """
CREATE TABLE IF NOT EXISTS reversals (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    venue    TEXT    NOT NULL,
    trade_id TEXT    NOT NULL,
    market   TEXT    NOT NULL,
    order_id TEXT    NOT NULL,
    ts_ns    INTEGER NOT NULL,
    reason   TEXT    NOT NULL,
    UNIQUE (venue, trade_id)
)
"""

_COLUMNS = (
    "venue", "trade_id", "market", "order_id", "outcome", "side", "price", "size", "fee",
    "ts_venue_ms", "ts_recv_ns",
)


def journal_path(cfg: Config) -> Path:
    """`[risk] journal`, or <run_dir>/journal.sqlite."""
    return Path(cfg.risk.journal) if cfg.risk.journal else cfg.run_dir / "journal.sqlite"


class Journal:
    """An open fill journal. Close it when done."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(_SCHEMA)
        self._db.execute(_SCHEMA_STATE)
        self._db.execute(_SCHEMA_REVERSALS)

    def record(self, fill: Fill) -> bool:
        """Insert and commit a fill; False if (venue, trade_id, order_id) was already journaled."""
        placeholders = ", ".join("?" for _ in _COLUMNS)
        with guarded("risk_journal"):
            cur = self._db.execute(
                f"INSERT OR IGNORE INTO fills ({', '.join(_COLUMNS)}) VALUES ({placeholders})",  # noqa: S608 - constant columns
                tuple(getattr(fill, c) for c in _COLUMNS),
            )
        new = cur.rowcount == 1
        if not new:  # counted, not warned: a replay after a restart resends thousands
            metrics.FILLS_DUPLICATE.labels(venue=fill.venue).inc()
            log.debug(
                "duplicate fill %s ignored", fill.trade_id,
                extra={"market": fill.market, "order_id": fill.order_id, "venue": fill.venue},
            )
        return new

    def replay(self) -> Iterator[Fill]:
        """Every journaled fill, in the order it was recorded."""
        cur = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM fills ORDER BY id")  # noqa: S608
        for row in cur:
            yield Fill(**dict(zip(_COLUMNS, row, strict=True)))

    def fills_of(self, market: str) -> Iterator[Fill]:
        """Every journaled fill of one market, in the order it was recorded."""
        cur = self._db.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM fills WHERE market = ? ORDER BY id",  # noqa: S608
            (market,),
        )
        for row in cur:
            yield Fill(**dict(zip(_COLUMNS, row, strict=True)))

    def record_reversal(self, rev: FillReversal) -> bool:
        """Insert and commit a reversal; False if that trade was already reversed."""
        with guarded("risk_journal"):
            cur = self._db.execute(
                "INSERT OR IGNORE INTO reversals (venue, trade_id, market, order_id, ts_ns, reason)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (rev.venue, rev.trade_id, rev.market, rev.order_id, rev.ts_ns, "failed"),
            )
        return cur.rowcount == 1

    def reversed(self) -> set[tuple[str, str]]:
        """(venue, trade_id) of every reversed trade."""
        return {(v, t) for v, t in self._db.execute("SELECT venue, trade_id FROM reversals")}

    def save_state(self, state: dict[str, Any]) -> None:
        """Persist the latched switches (kill, halts, pause, flatten, loss baselines)."""
        with guarded("risk_journal"), self._db:
            self._db.execute("BEGIN")
            for key, value in state.items():
                self._db.execute(
                    "INSERT INTO risk_state (key, value) VALUES (?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (key, json.dumps(value, sort_keys=True)),
                )

    def load_state(self) -> dict[str, Any]:
        """The persisted switches ({} on a fresh journal)."""
        return {k: json.loads(v) for k, v in self._db.execute("SELECT key, value FROM risk_state")}

    def count(self) -> int:
        """Number of journaled fills."""
        return int(self._db.execute("SELECT COUNT(*) FROM fills").fetchone()[0])

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()
