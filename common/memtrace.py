"""Opt-in allocation tracing, to tell a memory leak from warm-up in a running process.

Off unless the environment sets `PMM_TRACEMALLOC=<directory>` (supervisord passes its
environment to every program, so `PMM_TRACEMALLOC=/tmp/mt pmm up` traces the whole stack).
Then tracemalloc starts at process start-up and every `PMM_TRACEMALLOC_S` seconds
(default 60) `<directory>/<process>.txt` gets the allocation sites whose live size grew
most since the first dump: a leak shows as a line that grows in every dump, warm-up as one
that stops. `PMM_TRACEMALLOC_ONLY=<name>[,<name>...]` limits tracing to those processes
(e.g. `executor-polymarket`), so the rest of the stack runs at full speed. Each dump also
prints the process's RSS: RSS growing while traced bytes stay flat points below Python
(SQLite's page cache, libzmq, the allocator's arenas). Tracing slows allocation-heavy code
by 2-4x, so it is for diagnosis only.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import tracemalloc
from pathlib import Path

__all__ = ["ENV_DIR", "ENV_INTERVAL", "ENV_ONLY", "TOP", "report", "rss_mib", "start"]

ENV_DIR = "PMM_TRACEMALLOC"
ENV_INTERVAL = "PMM_TRACEMALLOC_S"
ENV_ONLY = "PMM_TRACEMALLOC_ONLY"
TOP = 25


def _filtered(snap: tracemalloc.Snapshot) -> tracemalloc.Snapshot:
    return snap.filter_traces((
        tracemalloc.Filter(False, tracemalloc.__file__),
        tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
        tracemalloc.Filter(False, "<frozen importlib._bootstrap_external>"),
        tracemalloc.Filter(False, "<unknown>"),
    ))


def rss_mib() -> float:
    """This process's resident set in MiB (0 where /proc is unavailable)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def report(base: tracemalloc.Snapshot, snap: tracemalloc.Snapshot, *, top: int = TOP) -> str:
    """The `top` allocation sites by growth of live bytes from `base` to `snap`."""
    stats = _filtered(snap).compare_to(_filtered(base), "lineno")
    traced, peak = tracemalloc.get_traced_memory() if tracemalloc.is_tracing() else (0, 0)
    lines = [f"# {time.strftime('%H:%M:%S')} traced {traced / 2**20:.1f} MiB "
             f"(peak {peak / 2**20:.1f} MiB), RSS {rss_mib():.1f} MiB; "
             "growth since first dump, by site"]
    for st in stats[:top]:
        frame = st.traceback[0]
        lines.append(f"{st.size_diff / 1024:+10.1f} KiB {st.count_diff:+8d} blocks  "
                     f"{st.size / 1024:10.1f} KiB now  {frame.filename}:{frame.lineno}")
    return "\n".join(lines) + "\n"


async def _dump_loop(path: Path, interval_s: float) -> None:
    base = tracemalloc.take_snapshot()
    while True:
        await asyncio.sleep(interval_s)
        text = report(base, tracemalloc.take_snapshot())
        with path.open("a") as f:
            f.write(text)


def start(name: str) -> asyncio.Task[None] | None:
    """Start tracing and the periodic dump if `PMM_TRACEMALLOC` is set; else do nothing."""
    target = os.environ.get(ENV_DIR, "")
    if not target:
        return None
    only = [n for n in os.environ.get(ENV_ONLY, "").split(",") if n]
    if only and name not in only:
        return None
    try:
        interval = float(os.environ.get(ENV_INTERVAL, "60"))
    except ValueError:
        interval = 60.0
    directory = Path(target)
    with contextlib.suppress(OSError):
        directory.mkdir(parents=True, exist_ok=True)
    if not tracemalloc.is_tracing():
        tracemalloc.start(1)
    return asyncio.get_running_loop().create_task(
        _dump_loop(directory / f"{name}.txt", max(1.0, interval)), name="memtrace")
