"""The executor's fill journal: every Fill (and FillReversal) it publishes, written first.

PUB/SUB has no replay: a fill published while risk is stopped, dead or not yet
subscribed is gone. So each fill is committed here (key: venue trade id + our order
id) before it is published, and re-published from here when risk's heartbeats return
after a gap or a restart (services/executor/replay.py); risk dedupes by trade id.

Lives in the order journal's SQLite file (`<run_dir>/executor-<venue>.orders.sqlite`,
WAL, synchronous=NORMAL: survives kill -9, not a power loss). A `meta` row keeps the
wall time risk was last heard, so a restarted executor replays from before the outage
even if it died while risk was down. Rows older than `KEEP_NS` are pruned at start.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import msgspec

from common.messages import Fill, FillReversal
from common.storage import guarded

__all__ = ["FillJournal", "KEEP_NS"]

KEEP_NS = 2 * 86_400 * 10**9
"""Fill rows are kept two days (replays reach back minutes, the REST horizon hours)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS fills (
    trade_id TEXT NOT NULL,
    order_id TEXT NOT NULL,
    market TEXT NOT NULL,
    ts_venue_ms INTEGER NOT NULL,
    journaled_ns INTEGER NOT NULL,
    fill BLOB NOT NULL,
    reversal BLOB,
    PRIMARY KEY (trade_id, order_id)
);
CREATE INDEX IF NOT EXISTS fills_by_time ON fills(journaled_ns);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

_enc = msgspec.msgpack.Encoder()
_fill_dec = msgspec.msgpack.Decoder(Fill)
_rev_dec = msgspec.msgpack.Decoder(FillReversal)


class FillJournal:
    """Append-mostly store of published fills; thread-safe, one connection."""

    def __init__(self, path: str | Path, *, now_ns: int) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                                   timeout=10)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._db.execute("DELETE FROM fills WHERE journaled_ns < ?", (now_ns - KEEP_NS,))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def record(self, fill: Fill, now_ns: int) -> bool:
        """Commit one fill before it is published; False if (trade, order) was already here."""
        with self._lock, guarded("executor_fills"):
            cur = self._db.execute(
                "INSERT OR IGNORE INTO fills(trade_id, order_id, market, ts_venue_ms,"
                " journaled_ns, fill) VALUES (?, ?, ?, ?, ?, ?)",
                (fill.trade_id, fill.order_id, fill.market, fill.ts_venue_ms, now_ns,
                 _enc.encode(fill)))
        return cur.rowcount == 1

    def record_reversal(self, rev: FillReversal) -> None:
        """Attach a reversal to its fill's row (before the reversal is published)."""
        with self._lock, guarded("executor_fills"):
            self._db.execute("UPDATE fills SET reversal = ? WHERE trade_id = ? AND order_id = ?",
                             (_enc.encode(rev), rev.trade_id, rev.order_id))

    def since(self, since_ns: int) -> list[Fill | FillReversal]:
        """Fills journaled at or after `since_ns` in journal order, each followed by its
        reversal if it has one."""
        with self._lock:
            rows = self._db.execute(
                "SELECT fill, reversal FROM fills WHERE journaled_ns >= ?"
                " ORDER BY journaled_ns, rowid", (since_ns,)).fetchall()
        out: list[Fill | FillReversal] = []
        for fill, reversal in rows:
            out.append(_fill_dec.decode(fill))
            if reversal is not None:
                out.append(_rev_dec.decode(reversal))
        return out

    def last_fill_ms(self) -> int:
        """Venue time (unix ms) of the newest journaled fill; 0 if none."""
        with self._lock:
            (ts,) = self._db.execute("SELECT COALESCE(MAX(ts_venue_ms), 0) FROM fills").fetchone()
        return int(ts)

    def risk_seen_ns(self) -> int:
        """Wall time risk was last heard (persisted at most once a second); 0 if never."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'risk_seen_ns'").fetchone()
        return int(row[0]) if row else 0

    def note_risk_seen(self, wall_ns: int) -> None:
        """Persist the wall time of a risk heartbeat."""
        with self._lock, guarded("executor_fills"):
            self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('risk_seen_ns', ?)",
                             (wall_ns,))
