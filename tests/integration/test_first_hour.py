"""The operator's first hour (issue 21), on a real stack under supervisord: a relative
run_dir used from other working directories, every program in `pmm status`, the notice of
a kill switch latched across `pmm down` / `pmm up`, and the live view when the output is
not a terminal. One stack; tests run in file order.
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.stack import Stack
from tests.support.wait import eventually

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def elsewhere() -> Iterator[tuple[Path, Path]]:
    """Two working directories that are neither the checkout nor the config's directory."""
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        yield Path(a), Path(b)


@pytest.fixture(scope="module")
def stack(elsewhere: tuple[Path, Path]) -> Iterator[Stack]:
    s = Stack(relative_run_dir=True)
    try:
        s.pmm("up", cwd=elsewhere[0])
        yield s
    except BaseException:
        print(s.logs())
        raise
    finally:
        s.cleanup()


def test_a_relative_run_dir_is_the_config_files_wherever_pmm_runs(
        stack: Stack, elsewhere: tuple[Path, Path]) -> None:
    assert 'run_dir = "run"' in stack.config_path.read_text()
    assert stack.run_dir == stack.config_path.parent / "run"
    assert (stack.run_dir / "supervisor.sock").exists()  # where `pmm up` put it
    for cwd in elsewhere:
        assert not (cwd / "run").exists()
    # kill and reset travel over the run_dir's sockets: they answer from anywhere
    out = stack.pmm("kill", "--reason", "first hour", cwd=elsewhere[1])
    assert "NO ANSWER" not in out.stdout + out.stderr
    eventually(lambda: stack.status()["kill"]["active"], timeout=10, what="the kill latched")
    stack.pmm("reset", cwd=Path("/"))
    eventually(lambda: not stack.status()["kill"]["active"], timeout=10, what="reset")


def test_status_lists_every_program_with_state_uptime_and_restarts(stack: Stack) -> None:
    infos = stack.processes()
    names = {n for n, i in infos.items() if i["start"]}  # the ones this stack started
    assert {n for n in infos if n not in names} == {"executor-kalshi", "ingest-kalshi",
                                                    "reference"}, "unused on this config"
    doc = json.loads(stack.pmm("status", "--json").stdout)
    progs = {p["name"]: p for p in doc["programs"]}
    assert set(progs) == names
    assert {"quoter-0", "quoter-1", "control", "exporter", "venue_sim", "risk"} <= names
    assert all(p["state"] == "RUNNING" and p["restarts"] == 0 for p in progs.values()), progs
    old = progs["quoter-1"]["pid"]
    os.kill(old, signal.SIGKILL)
    eventually(lambda: stack.processes()["quoter-1"]["pid"] not in (old, 0), timeout=30,
               what="supervisord restarts quoter-1")
    doc = json.loads(stack.pmm("status", "--json").stdout)
    again = {p["name"]: p for p in doc["programs"]}
    assert again["quoter-1"]["restarts"] == 1 and again["risk"]["restarts"] == 0
    text = stack.pmm("status").stdout
    assert "quoter-1" in text and "(1 restart)" in text and "venue_sim" in text


def test_a_stopped_program_says_what_the_stack_loses(stack: Stack) -> None:
    stack.pmm("status")  # warm
    from services.control import stack as control_stack

    with control_stack.supervisor(stack.run_dir) as sv:
        sv.stopProcess("exporter")
    try:
        text = stack.pmm("status").stdout
        assert "exporter is STOPPED: no metrics" in text, text
    finally:
        with control_stack.supervisor(stack.run_dir) as sv:
            sv.startProcess("exporter")


def test_a_kill_latched_before_down_is_announced_by_up(
        stack: Stack, elsewhere: tuple[Path, Path]) -> None:
    stack.pmm("kill", "--reason", "latched for the next up")
    eventually(lambda: stack.status()["kill"]["active"], timeout=10, what="the kill latched")
    stack.pmm("down", cwd=elsewhere[1])
    up = stack.pmm("up", cwd=elsewhere[1])
    assert "kill switch is latched (latched for the next up)" in up.stderr, up.stderr
    assert "pmm reset" in up.stderr
    stack.pmm("reset")
    eventually(lambda: not stack.status()["kill"]["active"], timeout=10, what="reset")


def test_watch_appends_plain_frames_when_not_a_terminal(stack: Stack) -> None:
    out = stack.pmm("status", "--watch", "--count", "2", "--interval", "0.2").stdout
    assert "\x1b" not in out, "escape codes written to a pipe"
    assert out.count("pmm status - ") == 2 and "programs: " in out
