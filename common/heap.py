"""Give freed heap memory back to the operating system, so RSS follows live memory.

Why: the one-hour soak showed the executor's RSS climbing in 2-4 MiB steps while its live
Python allocations stayed flat (`PMM_TRACEMALLOC`, pymalloc's statistics). glibc keeps
freed chunks inside its heaps and only returns the top of a heap on its own; memory freed
below a live chunk stays resident. The executor allocates from several threads
(py-clob-client-v2's HTTP calls run in a thread pool), each with its own glibc arena,
which makes that fragmentation worse. `malloc_trim(0)` releases the free pages of every
arena (madvise); called through gdb on the live executor it gave back 9 MiB of the growth
at once (bench/README.md, Memory). It runs in a worker thread (ctypes releases the GIL),
so the event loop never waits for it; it takes about 0.1 ms per MiB it releases (27 ms
for 230 MiB here).

Two measures, both glibc-only and harmless elsewhere:
- every process calls `malloc_trim(0)` every `PMM_MALLOC_TRIM_S` seconds (default 60;
  0 turns it off), from `common.runtime`;
- `pmm up` runs the stack with `MALLOC_ARENA_MAX=2` (unless already set): under the GIL
  one thread runs Python at a time, so more arenas buy no parallelism, only fragmentation.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import time
from collections.abc import Callable

__all__ = ["DEFAULT_EVERY_S", "ENV_EVERY", "interval_s", "trim", "trim_loop"]

log = logging.getLogger(__name__)

ENV_EVERY = "PMM_MALLOC_TRIM_S"
DEFAULT_EVERY_S = 60.0


def _load_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None where the C library has none (musl, macOS)."""
    try:  # the process's own symbols, libc's included (find_library would run ldconfig)
        fn = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return fn  # type: ignore[no-any-return]


_TRIM = _load_trim()


def trim() -> bool:
    """Return free heap pages of every arena to the OS now; False if unsupported."""
    if _TRIM is None:
        return False
    _TRIM(0)
    return True


def interval_s() -> float:
    """The trim period from `PMM_MALLOC_TRIM_S` (0 or less: off; unreadable: the default)."""
    raw = os.environ.get(ENV_EVERY, "")
    try:
        return float(raw) if raw else DEFAULT_EVERY_S
    except ValueError:
        log.warning("%s=%r is not a number of seconds; using %g", ENV_EVERY, raw,
                    DEFAULT_EVERY_S)
        return DEFAULT_EVERY_S


async def trim_loop(every_s: float) -> None:
    """Trim every `every_s` seconds for the life of the process (cancel to stop)."""
    if _TRIM is None or every_s <= 0:
        return
    while True:
        await asyncio.sleep(every_s)
        start = time.perf_counter()
        await asyncio.to_thread(trim)
        took_ms = (time.perf_counter() - start) * 1000
        if took_ms > 5:
            log.info("malloc_trim took %.1f ms", took_ms)
