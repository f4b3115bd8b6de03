"""The executor's order journal: which orders are ours, written before they are sent.

One SQLite file (WAL) per executor in the run dir. Every order is recorded under
its key before the request leaves: the EIP-712 order hash on Polymarket (known
before sending), the client order id on Kalshi (the venue id is added when the
answer or a reconciliation names it). After a restart the executor adopts the
venue's open orders found here and cancels the rest, so an order sent just before
a crash is neither orphaned nor placed twice.

Commits use synchronous=NORMAL: a row survives a crash of the process (kill -9),
not a power loss of the host. Rows are pruned once reconciliation shows their order
is no longer open: at startup, and while running (`prune_retired`, after a periodic
reconciliation) for rows older than RETENTION_NS, so the table and its in-memory
mirror hold minutes of orders, not every order ever sent.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

from msgspec import Struct

from common.storage import guarded

__all__ = ["JournalRow", "OrderJournal", "PRUNE_EVERY_NS", "RETENTION_NS"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    key TEXT PRIMARY KEY,
    order_id TEXT NOT NULL DEFAULT '',
    market TEXT NOT NULL,
    token TEXT NOT NULL,
    price INTEGER NOT NULL,
    size INTEGER NOT NULL,
    ts_ns INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_by_id ON orders(order_id);
CREATE INDEX IF NOT EXISTS orders_by_time ON orders(ts_ns);
"""

RETENTION_NS = 2 * 60 * 10**9
"""A row not open at the venue is kept this long after it was written, so an order sent
during a reconciliation is never pruned by it. The window's size is order rate x retention
(~150 orders/s in the 100-market soak: ~18,000 rows, ~4 MiB of ids; 10 minutes held 90,000+
and the executor's RSS followed the rate's peaks). Later trade statuses of older orders are
still ours by owner/maker address (polymarket_user.py)."""
PRUNE_EVERY_NS = 30 * 10**9


class JournalRow(Struct, frozen=True, kw_only=True):
    """One order we sent (or are about to send)."""

    key: str
    """Polymarket order hash, or Kalshi client order id."""
    market: str
    token: str
    price: int
    size: int
    ts_ns: int
    order_id: str = ""
    """The venue's id where it differs from `key` and is known."""


class OrderJournal:
    """Thread-safe (the Polymarket adapter signs in worker threads) order-ownership map."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        self._keys: set[str] = set()
        self._ids: dict[str, str] = {}
        self._pruned_ns = 0
        for key, order_id in self._db.execute("SELECT key, order_id FROM orders"):
            self._keys.add(key)
            if order_id:
                self._ids[order_id] = key

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __len__(self) -> int:
        return len(self._keys)

    def intend(self, rows: Iterable[JournalRow]) -> None:
        """Record orders about to be sent; returns once they are committed."""
        rows = list(rows)
        if not rows:
            return
        with self._lock, guarded("executor_orders"):
            self._db.executemany(
                "INSERT OR REPLACE INTO orders(key, order_id, market, token, price, size, ts_ns)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(r.key, r.order_id, r.market, r.token, r.price, r.size, r.ts_ns) for r in rows],
            )
            for r in rows:
                self._keys.add(r.key)
                if r.order_id:
                    self._ids[r.order_id] = r.key

    def placed(self, key: str, order_id: str) -> None:
        """Attach the venue's order id to a row recorded under a client key."""
        if not order_id or key not in self._keys or self._ids.get(order_id) == key:
            return
        with self._lock, guarded("executor_orders"):
            self._db.execute("UPDATE orders SET order_id = ? WHERE key = ?", (order_id, key))
            self._ids[order_id] = key

    def owns(self, order_id: str = "", client_id: str = "") -> bool:
        """True if the order (by venue id or client id) was sent by this executor."""
        return (bool(order_id) and (order_id in self._keys or order_id in self._ids)) or (
            bool(client_id) and client_id in self._keys)

    def oldest_ns(self) -> int:
        """Write time of the oldest journaled order; 0 if there is none."""
        with self._lock:
            (ts,) = self._db.execute("SELECT COALESCE(MIN(ts_ns), 0) FROM orders").fetchone()
        return int(ts)

    def prune_retired(self, keep: Iterable[str], now_ns: int, *,
                      retention_ns: int = RETENTION_NS, every_ns: int = PRUNE_EVERY_NS) -> int:
        """After a reconciliation: forget rows older than `retention_ns` whose order is not
        in `keep` (the ids still open), at most once per `every_ns`; return rows pruned."""
        if now_ns - self._pruned_ns < every_ns:
            return 0
        self._pruned_ns = now_ns
        return self.prune(keep, now_ns - retention_ns)

    def prune(self, keep: Iterable[str], before_ns: int) -> int:
        """Forget rows written before `before_ns` whose key or order id is not in `keep`."""
        keep = set(keep)
        with self._lock, guarded("executor_orders"):
            rows = self._db.execute(
                "SELECT key, order_id FROM orders WHERE ts_ns < ?", (before_ns,)).fetchall()
            gone = [(k, oid) for k, oid in rows if k not in keep and oid not in keep]
            self._db.executemany("DELETE FROM orders WHERE key = ?", [(k,) for k, _ in gone])
            for k, oid in gone:
                self._keys.discard(k)
                self._ids.pop(oid, None)
        return len(gone)
