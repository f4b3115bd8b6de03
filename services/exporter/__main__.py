"""One Prometheus scrape target per host: the aggregate of every pmm process's metrics.

Processes write prometheus_client multiprocess files into $PROMETHEUS_MULTIPROC_DIR;
this process serves their sum and tidies the files of processes that died, so a
restarted process's live gauges do not linger.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import logging
import os
import re

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from common import runtime
from common.config import Config
from services.exporter.supervision import SupervisorCollector

log = logging.getLogger("exporter")
_PID = re.compile(r"_(\d+)\.db$")


def dead_pids(directory: str) -> set[int]:
    """Pids that own metric files but no longer run."""
    pids = set()
    for path in glob.glob(os.path.join(directory, "*.db")):
        m = _PID.search(path)
        if m:
            pids.add(int(m.group(1)))
    dead = set()
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            dead.add(pid)
        except PermissionError:
            pass
    return dead


async def main(cfg: Config, stop: asyncio.Event) -> None:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        raise SystemExit("PROMETHEUS_MULTIPROC_DIR is not set; start the stack with `pmm up`")
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    registry.register(SupervisorCollector(cfg.run_dir))
    server, thread = start_http_server(cfg.exporter.port, addr=cfg.exporter.host, registry=registry)
    log.info("serving metrics on http://%s:%d/metrics", cfg.exporter.host, cfg.exporter.port)
    try:
        while not stop.is_set():
            for pid in dead_pids(directory):
                mark_process_dead(pid, directory)
            try:
                await asyncio.wait_for(stop.wait(), timeout=5.0)
            except TimeoutError:
                pass
    finally:
        server.shutdown()
        thread.join(timeout=2)


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m services.exporter")
    parser.add_argument("--config", required=True)
    args = parser.parse_args()
    cfg = runtime.load_config_or_exit(args.config)
    runtime.run("exporter", "exporter", lambda stop: main(cfg, stop), level=cfg.stack.log_level)


if __name__ == "__main__":
    cli()
