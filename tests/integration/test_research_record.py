"""`pmm record` against the real stack: the recorder as a process, as an operator runs it.

One stack (real supervisord, simulated Polymarket) serves the module. Each test runs
`pmm record` next to it for a few seconds, stops it with a signal, and reads the recording
back with common/recording.py (the format the backtester and the replayer read):

- Ctrl-C (SIGINT to the whole foreground process group, as a terminal sends it) closes the
  open chunk and writes the index; the recording covers every configured market with books
  and trades in time order, and the recorder printed its progress.
- SIGTERM to the `pmm record` process alone (`kill PID`, a process manager) stops the
  recorder it started too, with the index written; no recorder is left behind.
- `--max-mb` bounds disk use: with a tiny limit, rotation keeps the directory under the
  limit plus one chunk while chunks keep coming.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from common import recording
from common.messages import BookSnapshot, MarketData, TradePrint
from tests.integration.stack import ROOT, Stack, running
from tests.support.wait import eventually

pytestmark = pytest.mark.integration

_DEC = msgspec.msgpack.Decoder(MarketData)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with running() as s:
        yield s


def _keys(stack: Stack) -> set[str]:
    return {f"{m.venue}.{m.id}" for m in stack.cfg.markets}


def _start(stack: Stack, data: Path, *extra: str) -> subprocess.Popen[str]:
    """`pmm record` in its own session (a terminal's foreground group), output captured."""
    cmd = [sys.executable, "-m", "services.control.cli", "record", "--data", str(data),
           "--config", str(stack.config_path), *extra]
    return subprocess.Popen(cmd, cwd=stack.dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


def _recorder_pids(data: Path) -> list[int]:
    """Live `python -m services.recorder record` processes writing into `data`."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"services.recorder" in argv and str(data).encode() in argv:
            pids.append(int(proc.name))
    return pids


def _finish(proc: subprocess.Popen[str], timeout: float = 15) -> str:
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        raise AssertionError(f"pmm record did not exit within {timeout}s:\n{out}") from None
    return out


def _books_and_trades(data: Path) -> tuple[set[str], set[str]]:
    """Markets with at least one BookSnapshot / TradePrint in the closed chunks so far."""
    books, trades = set(), set()
    if not (data / recording.INDEX).exists():
        return books, trades
    for rec in recording.read(data):
        msg = _DEC.decode(rec.payload)
        if isinstance(msg, BookSnapshot):
            books.add(recording.market_key(rec.topic))
        elif isinstance(msg, TradePrint):
            trades.add(recording.market_key(rec.topic))
    return books, trades


@pytest.mark.timeout(120)
def test_ctrl_c_leaves_a_complete_indexed_recording_of_every_market(
    stack: Stack, tmp_path: Path
) -> None:
    data = tmp_path / "rec"
    keys = _keys(stack)
    proc = _start(stack, data, "--chunk-s", "1")
    try:
        eventually(lambda: _books_and_trades(data) == (keys, keys), timeout=60, interval=0.5,
                   what=f"books and trades of {sorted(keys)} in closed chunks")
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole group
    out = _finish(proc)
    assert proc.returncode == 0, out
    assert not _recorder_pids(data), "a recorder outlived pmm record"

    # Progress: where it records, then per closed chunk, then the total.
    assert f"recording {data}" in out, out
    assert "chunk " in out and "closed" in out, out
    assert "recorded " in out, out

    # Files: only complete chunks, every one in the index, nothing half-written left.
    index = recording.load_index(data)
    files = {p.name for p in data.iterdir()}
    assert not [f for f in files if f.endswith(".part") or f.endswith(".tmp")], files
    chunks = index["chunks"]
    assert len(chunks) >= 2
    assert {c["file"] for c in chunks} == {f for f in files if f.endswith(recording.SUFFIX)}
    for c in chunks:
        assert (data / c["file"]).stat().st_size == c["bytes"] > 0
        assert c["start_ns"] <= c["end_ns"] and c["records"] > 0

    # The index covers every configured market with first <= last and a positive count.
    spans: dict[str, list[int]] = {}
    for c in chunks:
        for key, (first, last, count) in c["markets"].items():
            assert first <= last and count > 0, (c["file"], key)
            s = spans.setdefault(key, [first, last, 0])
            s[1] = last
            s[2] += count
    assert keys <= set(spans), spans
    assert recording.markets_of(data) == sorted(spans)

    # Reading back: decodable bus messages in time order, counts matching the index.
    recs = list(recording.read(data))
    assert sum(c["records"] for c in chunks) == len(recs)
    assert [r.ts_ns for r in recs] == sorted(r.ts_ns for r in recs)
    seen: dict[str, set[type]] = {k: set() for k in keys}
    per_market: dict[str, int] = {}
    for rec in recs:
        msg = _DEC.decode(rec.payload)  # every record is a MarketData frame as published
        key = recording.market_key(rec.topic)
        if key:
            per_market[key] = per_market.get(key, 0) + 1
            assert key == f"{msg.venue}.{msg.market}"  # type: ignore[union-attr]
            seen[key].add(type(msg))
    assert {k: v[2] for k, v in spans.items()} == per_market
    for key in keys:
        assert {BookSnapshot, TradePrint} <= seen[key], (key, seen[key])
        only = list(recording.read(data, markets=[key]))
        assert [r.ts_ns for r in only][0] == spans[key][0] and only[-1].ts_ns == spans[key][1]


@pytest.mark.timeout(60)
def test_sigterm_to_pmm_record_stops_the_recorder_with_the_index_written(
    stack: Stack, tmp_path: Path
) -> None:
    data = tmp_path / "rec"
    proc = _start(stack, data, "--chunk-s", "60")
    try:
        eventually(lambda: list(data.glob("*.part")), timeout=15,
                   what="the recorder opens its first chunk (a record arrived)")
        time.sleep(2)  # recording time, not a wait: every market books several times a second
        proc.send_signal(signal.SIGTERM)  # to pmm record alone, as `kill PID` does
        out = _finish(proc)
        assert proc.returncode == 0, out
        eventually(lambda: not _recorder_pids(data), timeout=10,
                   what="the recorder stops with pmm record")
    finally:
        for pid in _recorder_pids(data):
            os.kill(pid, signal.SIGKILL)
    # The only chunk was open when the signal came: it is closed and indexed, not lost.
    index = recording.load_index(data)
    assert len(index["chunks"]) == 1, (index, out)
    assert not list(data.glob("*.part")), list(data.iterdir())
    recs = list(recording.read(data))
    assert len(recs) == index["chunks"][0]["records"] > 0
    assert _keys(stack) <= set(index["chunks"][0]["markets"])


@pytest.mark.timeout(60)
def test_max_mb_bounds_disk_use_by_rotation(stack: Stack, tmp_path: Path) -> None:
    data = tmp_path / "rec"
    limit = 20_000  # bytes; a 0.5 s chunk of the demo's md is several kB compressed
    proc = _start(stack, data, "--chunk-s", "0.5", "--max-mb", str(limit / 2**20))

    def sizes() -> list[int]:
        out = []
        for p in data.glob("chunk-*" + recording.SUFFIX):
            try:
                out.append(p.stat().st_size)
            except FileNotFoundError:  # rotated away between glob and stat
                pass
        return out

    def total() -> int:
        return sum(sizes())

    biggest = 0
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _deleted(data) < 3:
            time.sleep(0.2)
            if (data / recording.INDEX).exists():
                now = sizes()
                biggest = max([biggest, *now])
                on_disk = sum(now)
                assert on_disk <= limit + biggest, f"{on_disk} bytes on disk, bound {limit}"
        assert _deleted(data) >= 3, f"rotation deleted {_deleted(data)} chunks in 30 s"
    finally:
        os.killpg(proc.pid, signal.SIGINT)
    out = _finish(proc)
    assert proc.returncode == 0, out
    chunks = recording.load_index(data)["chunks"]
    biggest = max([biggest, *(c["bytes"] for c in chunks)])
    on_disk = total()
    assert on_disk == sum(c["bytes"] for c in chunks)
    assert on_disk <= limit + biggest, (on_disk, limit, biggest)
    assert list(recording.read(data))  # what is left still reads


def _deleted(data: Path) -> int:
    """Chunks rotation has deleted so far: chunk names end in a sequence number from 0, so
    it is the number of the oldest chunk left."""
    if not (data / recording.INDEX).exists():
        return 0
    chunks = recording.load_index(data)["chunks"]
    return int(chunks[0]["file"][: -len(recording.SUFFIX)].rsplit("-", 1)[1]) if chunks else 0
