"""The fill journal: SQLite in WAL mode, written before any position changes.

Every fill is INSERTed and committed (synchronous=FULL) before risk applies it; the
row is unique on (venue, trade_id), so a fill delivered twice - a replayed event, a
reconnect - is recorded and applied once. On start risk replays the journal in
insertion order and rebuilds every position exactly.

Blocking sqlite calls run on the event loop: fills are rare next to books, and a
commit that returned is the durability point the rest of risk relies on.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from common.config import Config
from common.messages import Fill

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

    def record(self, fill: Fill) -> bool:
        """Insert and commit a fill; False if (venue, trade_id) was already journaled."""
        placeholders = ", ".join("?" for _ in _COLUMNS)
        cur = self._db.execute(
            f"INSERT OR IGNORE INTO fills ({', '.join(_COLUMNS)}) VALUES ({placeholders})",
            tuple(getattr(fill, c) for c in _COLUMNS),
        )
        new = cur.rowcount == 1
        if not new:
            log.warning(
                "duplicate fill %s ignored", fill.trade_id,
                extra={"market": fill.market, "order_id": fill.order_id, "venue": fill.venue},
            )
        return new

    def replay(self) -> Iterator[Fill]:
        """Every journaled fill, in the order it was recorded."""
        cur = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM fills ORDER BY id")
        for row in cur:
            yield Fill(**dict(zip(_COLUMNS, row, strict=True)))

    def count(self) -> int:
        """Number of journaled fills."""
        return int(self._db.execute("SELECT COUNT(*) FROM fills").fetchone()[0])

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()
