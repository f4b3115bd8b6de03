"""Process liveness from supervisord itself, collected at scrape time.

`pmm_process_up` comes from inside each process and vanishes when the process dies;
these come from supervisord, so a dead quoter shows as `pmm_program_running 0`
and every restart (a new pid) as an increment of `pmm_program_restarts_total`.
"""

from __future__ import annotations

import logging
import threading
import xmlrpc.client
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from supervisor.xmlrpc import SupervisorTransport

__all__ = ["SupervisorCollector", "process_infos"]

log = logging.getLogger(__name__)


def process_infos(run_dir: Path) -> list[dict[str, Any]]:
    """supervisord's getAllProcessInfo for the stack in `run_dir` ([] when it does not answer)."""
    transport = SupervisorTransport(None, None, f"unix://{run_dir / 'supervisor.sock'}")
    try:
        proxy = xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)
        infos = proxy.supervisor.getAllProcessInfo()
        return cast("list[dict[str, Any]]", infos)
    except (OSError, xmlrpc.client.Fault, xmlrpc.client.ProtocolError) as exc:
        log.warning("supervisord did not answer: %s", exc)
        return []
    finally:
        transport.close()


class SupervisorCollector(Collector):
    """Running state, uptime and restarts of every supervisord program."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self._pids: dict[str, int] = {}
        self._restarts: dict[str, int] = {}
        self._lock = threading.Lock()

    def observe(self, infos: list[dict[str, Any]]) -> None:
        """Count a restart whenever a program's pid changes to a new live one."""
        with self._lock:
            for info in infos:
                name, pid = info["name"], int(info.get("pid") or 0)
                self._restarts.setdefault(name, 0)
                if pid and name in self._pids and self._pids[name] and pid != self._pids[name]:
                    self._restarts[name] += 1
                if pid:
                    self._pids[name] = pid

    def collect(self) -> Iterator[Any]:
        infos = process_infos(self.run_dir)
        self.observe(infos)
        running = GaugeMetricFamily(
            "pmm_program_running", "1 while supervisord reports the program RUNNING", labels=["program"])
        uptime = GaugeMetricFamily(
            "pmm_program_uptime_seconds", "Seconds since supervisord last started the program",
            labels=["program"])
        restarts = CounterMetricFamily(
            "pmm_program_restarts", "Restarts (new pids) seen by the exporter", labels=["program"])
        for info in infos:
            name = info["name"]
            is_running = info.get("statename") == "RUNNING"
            running.add_metric([name], 1.0 if is_running else 0.0)
            start, now = info.get("start", 0), info.get("now", 0)
            uptime.add_metric([name], float(now - start) if is_running and start else 0.0)
            with self._lock:
                restarts.add_metric([name], float(self._restarts.get(name, 0)))
        yield running
        yield uptime
        yield restarts
