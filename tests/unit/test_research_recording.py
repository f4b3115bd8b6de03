"""Recording files (common/recording.py): chunks, index, rotation, filters, damage."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from common import recording


def _write(d: Path, n: int, **kw: object) -> recording.RecordWriter:
    w = recording.RecordWriter(d, **kw)  # type: ignore[arg-type]
    for i in range(n):
        market = b"md.polymarket.a|" if i % 2 == 0 else b"md.polymarket.b|"
        w.append(1_000_000_000 * i, market, b"x" * 50 + bytes([i % 256]))
    w.close()
    return w


def test_records_round_trip_in_order_with_an_index_by_market_and_time(tmp_path: Path) -> None:
    _write(tmp_path, 10, chunk_s=3)
    index = recording.load_index(tmp_path)
    assert len(index["chunks"]) == 4
    first = index["chunks"][0]
    assert first["start_ns"] == 0 and first["records"] == 3
    assert first["markets"]["polymarket.a"] == [0, 2_000_000_000, 2]
    recs = list(recording.read(tmp_path))
    assert [r.ts_ns for r in recs] == [1_000_000_000 * i for i in range(10)]
    assert recording.markets_of(tmp_path) == ["polymarket.a", "polymarket.b"]


def test_read_filters_by_market_and_time(tmp_path: Path) -> None:
    _write(tmp_path, 10, chunk_s=3)
    only_b = list(recording.read(tmp_path, markets=["polymarket.b"]))
    assert {r.topic for r in only_b} == {b"md.polymarket.b|"}
    window = list(recording.read(tmp_path, start_ns=4_000_000_000, end_ns=6_000_000_000))
    assert [r.ts_ns // 1_000_000_000 for r in window] == [4, 5, 6]


def test_rotation_bounds_disk_use_by_deleting_the_oldest_chunks(tmp_path: Path) -> None:
    w = _write(tmp_path, 40, chunk_s=2, max_bytes=300, level=0)
    chunks = recording.load_index(tmp_path)["chunks"]
    assert w.deleted > 0
    assert sum(c["bytes"] for c in chunks) <= 300 or len(chunks) == 1
    files = sorted(p.name for p in tmp_path.glob("*" + recording.SUFFIX))
    assert files == sorted(c["file"] for c in chunks)
    assert list(recording.read(tmp_path))[-1].ts_ns == 39_000_000_000


def test_a_truncated_chunk_keeps_what_was_written(tmp_path: Path) -> None:
    _write(tmp_path, 4, chunk_s=100)
    chunk = tmp_path / recording.load_index(tmp_path)["chunks"][0]["file"]
    raw = gzip.decompress(chunk.read_bytes())
    chunk.write_bytes(gzip.compress(raw[: len(raw) - 10]))
    assert len(list(recording.read(tmp_path))) == 3


def test_a_directory_without_index_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(recording.RecordingError, match="pmm record"):
        list(recording.read(tmp_path))
