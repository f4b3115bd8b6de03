"""Process shell: uvloop, signal handling, liveness metric, one place for startup errors."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any

import uvloop

from common import heap, logs, memtrace, metrics
from common.errors import PmmError

log = logging.getLogger(__name__)


def run(
    role: str,
    name: str,
    main: Callable[[asyncio.Event], Coroutine[Any, Any, None]],
    *,
    level: str = "INFO",
) -> None:
    """Run `main(stop)` on uvloop until it returns; SIGTERM/SIGINT set `stop`."""
    logs.setup(name, level)
    metrics.PROCESS_STARTS.labels(role=role).inc()

    async def _wrapper() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        up = metrics.PROCESS_UP.labels(process=name, role=role)
        up.set(1)
        tracer = memtrace.start(name)  # opt-in: PMM_TRACEMALLOC=<dir>
        trimmer = asyncio.create_task(heap.trim_loop(heap.interval_s()), name="malloc-trim")
        try:
            await main(stop)
        finally:
            up.set(0)
            trimmer.cancel()
            if tracer is not None:
                tracer.cancel()

    try:
        uvloop.run(_wrapper())
    except PmmError as exc:
        log.error("%s cannot run: %s", name, exc)
        sys.exit(2)
    log.info("%s stopped", name)


def load_config_or_exit(path: str) -> Any:
    """Load the config for a process, or print what is wrong and exit 2 (supervisord shows it)."""
    from common.config import load
    from common.errors import ConfigError

    try:
        return load(path)
    except ConfigError as exc:
        print(f"invalid config: {exc}", file=sys.stderr)
        sys.exit(2)
