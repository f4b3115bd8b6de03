"""A real disk-full fault for a SQLite journal, without a small filesystem.

`fill_up` caps the database at its current size (`PRAGMA max_page_count`, per connection)
and fills the free space of its last pages, so the next insert fails inside SQLite with
SQLITE_FULL, "database or disk is full": the error a full disk gives.
"""

from __future__ import annotations

import sqlite3


def fill_up(*conns: sqlite3.Connection) -> None:
    """Make every later insert through these connections (one database) fail as disk full."""
    first = conns[0]
    first.execute("CREATE TABLE IF NOT EXISTS _disk_filler (b BLOB)")
    pages = int(first.execute("PRAGMA page_count").fetchone()[0])
    for conn in conns:
        conn.execute(f"PRAGMA max_page_count = {pages}")
    for size in (4096, 1024, 256, 64, 16, 1):
        while True:
            try:
                first.execute("INSERT INTO _disk_filler VALUES (?)", (b"x" * size,))
            except sqlite3.OperationalError as exc:
                assert "full" in str(exc), exc
                break


def free_up(*conns: sqlite3.Connection) -> None:
    """Lift the cap again: the disk has room."""
    for conn in conns:
        conn.execute("PRAGMA max_page_count = 1073741823")
