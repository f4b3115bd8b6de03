"""Process shell: uvloop, signal handling, liveness metric, one place for startup errors."""

from __future__ import annotations

import asyncio
import ctypes
import faulthandler
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import uvloop

from common import heap, logs, memtrace, metrics, tasks
from common.errors import PmmError

__all__ = ["PR_SET_PDEATHSIG", "STOP_DEADLINE_S", "load_config_or_exit", "run",
           "stop_with_parent"]

log = logging.getLogger(__name__)


PR_SET_PDEATHSIG = 1
STOP_DEADLINE_S = 30.0
"""From a stop signal to a forced exit. The last resort when the stop path itself hangs
and no supervisord is left to kill the program (its `stopwaitsecs` are 5-20 s, and the
executors' stop is bounded at 5 s for their loops plus 10 s for the cancel-all)."""


def stop_with_parent() -> bool:
    """Have the kernel send us SIGTERM when our parent (supervisord) dies.

    A supervisord killed with -9 would otherwise leave every program running unsupervised:
    executors quoting with nobody to restart them, and a supervisord started again (by
    systemd, or `pmm up`) would start a second stack beside the orphans. SIGTERM takes each
    program's normal stop path, so the executors cancel every order on the way out. Linux
    only; returns whether it is armed.
    """
    if not sys.platform.startswith("linux"):
        return False
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        log.warning("cannot arm the parent-death signal: errno %d", ctypes.get_errno())
        return False
    if os.getppid() != parent:  # the parent died before the signal was armed
        os.kill(os.getpid(), signal.SIGTERM)
    return True


def run(
    role: str,
    name: str,
    main: Callable[[asyncio.Event], Coroutine[Any, Any, None]],
    *,
    level: str = "INFO",
    stop_deadline_s: float = STOP_DEADLINE_S,
) -> None:
    """Run `main(stop)` on uvloop until it returns; SIGTERM/SIGINT set `stop`, and so does
    the death of the parent process (`stop_with_parent`). The process exits by force
    `stop_deadline_s` after the first signal if it has not stopped by then, and at once
    if a task is still running `tasks.STOP_GRACE_S` after `main` returned."""
    logs.setup(name, level)
    stop_with_parent()
    metrics.PROCESS_STARTS.labels(role=role).inc()

    async def _wrapper() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def stopping() -> None:
            if not stop.is_set():
                stop.set()
                deadline = threading.Timer(stop_deadline_s, _force_exit, (
                    f"{name} still runs {stop_deadline_s:.0f} s after its stop signal",))
                deadline.daemon = True  # a thread: it fires even if the event loop is stuck
                deadline.start()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping)
        up = metrics.PROCESS_UP.labels(process=name, role=role)
        up.set(1)
        tracer = memtrace.start(name)  # opt-in: PMM_TRACEMALLOC=<dir>
        trimmer = asyncio.create_task(heap.trim_loop(heap.interval_s()), name="malloc-trim")
        try:
            await main(stop)
        finally:
            up.set(0)
            await _reap_or_exit(name, trimmer, tracer)

    try:
        uvloop.run(_wrapper())
    except PmmError as exc:
        log.error("%s cannot run: %s", name, exc)
        sys.exit(2)
    log.info("%s stopped", name)


def _force_exit(why: str) -> None:
    """Say why and where every thread stands, straight to stderr (no logging lock: the
    stuck thread may hold it), then exit 1."""
    os.write(2, f"{why}: exiting by force (a bug: a stop path hung); threads:\n".encode())
    faulthandler.dump_traceback(all_threads=True)
    os._exit(1)


async def _reap_or_exit(name: str, *own: asyncio.Task[None] | None) -> None:
    """Cancel `own` and every task `main` left behind, and wait `tasks.STOP_GRACE_S` for
    them; if one still runs (it swallowed its cancellation), exit at once: asyncio's own
    shutdown would wait for it forever, and a program that never stops outlives its
    supervisord."""
    left = (asyncio.all_tasks() | {t for t in own if t is not None}) - {asyncio.current_task()}
    if await tasks.reap(*left, grace_s=tasks.STOP_GRACE_S, what=name):
        _force_exit(f"{name} has tasks that ignored their cancellation")


def load_config_or_exit(path: str) -> Any:
    """Load the config for a process, or print what is wrong and exit 2 (supervisord shows it)."""
    from common.config import load
    from common.errors import ConfigError

    try:
        return load(path)
    except ConfigError as exc:
        print(f"invalid config: {exc}", file=sys.stderr)
        sys.exit(2)
