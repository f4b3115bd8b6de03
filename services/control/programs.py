"""Every supervisord program of a stack, for `pmm status`: its state, uptime and restarts,
and what the stack loses while it is down.

Read from supervisord itself (not from heartbeats, which only some roles send to the
control plane), so the quoters, control, the exporter and the simulator show too. Restarts
are counted from supervisord's own log (`spawned:` lines since supervisord last started),
so a one-shot command needs no memory of earlier pids; a watching view re-reads only what
the log grew by since its last frame. (A log rotated by supervisord loses the start line:
the count is then of the spawns in the current file.)
"""

from __future__ import annotations

import re
import xmlrpc.client
from pathlib import Path
from typing import Any

from services.control import stack

__all__ = ["IMPACT", "impact", "programs", "restarts_from_log"]

IMPACT = {
    "risk": "nothing quotes: executors cancel every order until risk is back",
    "executor": "no orders on its venue; the venue's own safety nets cancel ours",
    "ingest": "its venue's books go stale: those markets pull their quotes",
    "quoter": "its markets stop quoting (risk cancels them after quoter_timeout_ms)",
    "control": "pmm status, kill and reset cannot reach the stack",
    "exporter": "no metrics: dashboards and alerts go blind",
    "venue_sim": "the simulated venue is down: nothing trades",
    "reference": "markets that follow a reference feed lose it",
}
"""What the stack loses while a program of each role is down (by name prefix)."""

_SPAWNED = re.compile(r"spawned: '([^']+)' with pid")
_STARTED = "supervisord started with pid"


def impact(name: str) -> str:
    """What the stack loses while program `name` is down."""
    for prefix, text in IMPACT.items():
        if name.startswith(prefix):
            return text
    return ""


def restarts_from_log(text: str) -> dict[str, int]:
    """Per program, spawns after the first since supervisord last started."""
    spawns: dict[str, int] = {}
    _scan(text, spawns)
    return {name: n - 1 for name, n in spawns.items()}


def _scan(text: str, spawns: dict[str, int]) -> None:
    """Count `spawned:` lines into `spawns`, starting afresh at each supervisord start."""
    for line in text.splitlines():
        if _STARTED in line:
            spawns.clear()
        elif (m := _SPAWNED.search(line)) is not None:
            spawns[m.group(1)] = spawns.get(m.group(1), 0) + 1


class _LogTail:
    """Spawn counts of one supervisord log, updated from where the last read stopped."""

    def __init__(self) -> None:
        self.path: Path | None = None
        self.offset = 0
        self.spawns: dict[str, int] = {}

    def restarts(self, path: Path) -> dict[str, int]:
        try:
            size = path.stat().st_size
            if path != self.path or size < self.offset:  # another log, or rotated
                self.path, self.offset, self.spawns = path, 0, {}
            with path.open("rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except OSError:
            return {}
        end = chunk.rfind(b"\n") + 1  # a half-written last line waits for the next read
        self.offset += end
        _scan(chunk[:end].decode(errors="replace"), self.spawns)
        return {name: n - 1 for name, n in self.spawns.items()}


_TAIL = _LogTail()


def programs(run_dir: Path) -> list[dict[str, Any]]:
    """Every program of this stack: name, state, pid, uptime_s, restarts, impact ([] with no
    supervisord). Programs the config does not use (a venue not traded, the simulator
    against a real venue) are never started and left out."""
    if not stack.is_running(run_dir):
        return []
    try:
        with stack.supervisor(run_dir) as sv:
            infos: list[dict[str, Any]] = sv.getAllProcessInfo()
    except (OSError, xmlrpc.client.Error):
        return []
    restarts = _TAIL.restarts(run_dir / "logs" / "supervisord.log")
    out = []
    for info in sorted(infos, key=lambda i: str(i["name"])):
        name, state = str(info["name"]), str(info.get("statename", "?"))
        start, now = int(info.get("start") or 0), int(info.get("now") or 0)
        if state == "STOPPED" and not start:
            continue
        out.append({
            "name": name, "state": state, "pid": int(info.get("pid") or 0),
            "uptime_s": now - start if state == "RUNNING" and start else 0,
            "restarts": restarts.get(name, 0),
            "impact": "" if state == "RUNNING" else impact(name),
        })
    return out
