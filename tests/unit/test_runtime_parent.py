"""A program stops (its normal SIGTERM path) when supervisord dies under it (issue 15,
item 8: kill -9 of supervisord must not leave an unsupervised stack quoting), and a stop
path that hangs cannot keep it running (common/runtime.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from common import tasks
from tests.support.wait import eventually

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import signal, sys, time
from common import runtime
def stopped(*_):
    print("SIGTERM", flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, stopped)
print("armed" if runtime.stop_with_parent() else "not armed", flush=True)
time.sleep(30)
"""

PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1]], stdout=open(sys.argv[2], "w"))
print(child.pid, flush=True)
time.sleep(30)
"""


def test_a_program_gets_sigterm_when_its_supervisor_is_killed(tmp_path: Path) -> None:
    out = tmp_path / "child.out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    parent = subprocess.Popen([sys.executable, "-c", PARENT, CHILD, str(out)],
                              stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert parent.stdout is not None
        child_pid = int(parent.stdout.readline())
        eventually(lambda: out.exists() and "armed" in out.read_text(), timeout=20,
                   what="the child armed its parent-death signal")
        assert out.read_text().startswith("armed")
        os.kill(parent.pid, signal.SIGKILL)  # supervisord killed with -9
        parent.wait(10)
        eventually(lambda: "SIGTERM" in out.read_text(), timeout=10,
                   what="the orphaned child was told to stop")

        def gone() -> bool:
            try:
                os.kill(child_pid, 0)
            except ProcessLookupError:
                return True
            return False
        eventually(gone, timeout=10, what="the child exited")
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(10)
        if parent.stdout is not None:
            parent.stdout.close()


STUBBORN = """
import asyncio, sys
from common import runtime
kept = []
async def ignores_cancellation():
    while True:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            pass
async def main(stop):
    if sys.argv[1] == "task":  # a task that swallows its cancellation; main stops normally
        kept.append(asyncio.create_task(ignores_cancellation(), name="stubborn-task"))
        print("ready", flush=True)
        await stop.wait()
    else:  # main's own stop path hangs
        print("ready", flush=True)
        await stop.wait()
        await asyncio.Event().wait()
runtime.run("test", "stubborn", main, stop_deadline_s=float(sys.argv[2]))
"""


def _stopped_after_sigterm(how: str, deadline_s: float) -> tuple[int, float, str]:
    """Start a program that hangs on its stop `how`, SIGTERM it; its exit code, the
    seconds from the signal to its exit, and its log."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", STUBBORN, how, str(deadline_s)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        return proc.returncode, time.monotonic() - t0, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)


def test_a_task_that_ignores_its_cancellation_cannot_keep_a_program_from_stopping() -> None:
    """asyncio's own shutdown waits for such a task forever: the program would outlive a
    dead supervisord (a Polymarket executor did, reconnecting to a dead venue)."""
    code, took_s, err = _stopped_after_sigterm("task", deadline_s=120)
    assert code == 1, err
    assert tasks.STOP_GRACE_S <= took_s < tasks.STOP_GRACE_S + 10, took_s
    assert "still running 5.0 s after their cancellation: stubborn-task" in err, err
    assert "stubborn has tasks that ignored their cancellation: exiting by force" in err, err


def test_a_stop_path_that_hangs_is_cut_off_at_the_stop_deadline() -> None:
    code, took_s, err = _stopped_after_sigterm("main", deadline_s=1.0)
    assert code == 1, err
    assert 1.0 <= took_s < 10, took_s
    assert "stubborn still runs 1 s after its stop signal: exiting by force" in err, err
