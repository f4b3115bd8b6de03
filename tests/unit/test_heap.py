"""common/heap.py: malloc_trim gives freed heap pages back, and its period is read safely."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from common import heap, memtrace

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(heap._TRIM is None, reason="not glibc: no malloc_trim")
def test_trim_returns_memory_freed_below_live_chunks() -> None:
    """Chunks under the mmap threshold, freed below ones still alive: glibc keeps those pages
    resident until trimmed."""
    keep: list[bytearray] = []
    junk: list[bytearray] = []
    for i in range(2_000):  # ~115 MiB of 60 kB chunks; every 100th stays alive
        (keep if i % 100 == 99 else junk).append(bytearray(60_000))
    del junk
    before = memtrace.rss_mib()
    assert heap.trim() is True
    after = memtrace.rss_mib()
    assert before - after > 50, (before, after)
    assert len(keep) == 20


def test_interval_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(heap.ENV_EVERY, raising=False)
    assert heap.interval_s() == heap.DEFAULT_EVERY_S
    monkeypatch.setenv(heap.ENV_EVERY, "2.5")
    assert heap.interval_s() == 2.5
    monkeypatch.setenv(heap.ENV_EVERY, "soon")
    assert heap.interval_s() == heap.DEFAULT_EVERY_S  # unreadable: the default, not a crash


def test_trim_loop_is_off_at_zero_and_trims_when_on(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(heap, "_TRIM", lambda pad: calls.append(pad) or 1)

    async def go() -> None:
        await asyncio.wait_for(heap.trim_loop(0), 1)  # off: returns at once
        assert calls == []
        task = asyncio.create_task(heap.trim_loop(0.01))
        while len(calls) < 2:
            await asyncio.sleep(0.01)
        task.cancel()

    asyncio.run(go())
    assert calls[:2] == [0, 0]


def test_the_stack_runs_with_two_malloc_arenas_unless_told(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from common.config import parse
    from services.control import stack

    text = (ROOT / "deploy/demo.toml").read_text().replace(
        'run_dir = "../.pmm/demo"', f'run_dir = "{tmp_path}"')
    cfg = parse(text)
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert stack.environment(cfg, tmp_path / "c.toml")["MALLOC_ARENA_MAX"] == "2"
    monkeypatch.setenv("MALLOC_ARENA_MAX", "8")  # the operator's choice wins
    assert stack.environment(cfg, tmp_path / "c.toml")["MALLOC_ARENA_MAX"] == "8"
