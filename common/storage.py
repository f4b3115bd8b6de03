"""Durable writes that fail safe: every SQLite error on a journal becomes one StorageError.

A full disk or an I/O error used to escape as `sqlite3.OperationalError` from deep inside a
fill handler and end the process (risk, or the executor with every order cancelled and a
restart into the same fault). The journals wrap their writes in `guarded(store)`, so
their callers handle exactly one exception, and each fault is counted with its store.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from common import metrics
from common.errors import StorageError

__all__ = ["guarded"]


@contextmanager
def guarded(store: str) -> Iterator[None]:
    """Turn a SQLite error inside the block into a counted StorageError naming `store`."""
    try:
        yield
    except sqlite3.Error as exc:
        metrics.STORAGE_FAULTS.labels(store=store).inc()
        raise StorageError(f"{store} write failed: {exc}") from exc
