"""A program stops (its normal SIGTERM path) when supervisord dies under it (issue 15,
item 8: kill -9 of supervisord must not leave an unsupervised stack quoting)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

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
