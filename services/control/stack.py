"""Start and stop the stack under supervisord, and find a running one.

`pmm up` writes `<run_dir>/stack.json` and `.pmm/current.json` so later commands
(`status`, `kill`, `down`) find the stack without repeating --config.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
import xmlrpc.client
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import config as config_mod
from common.config import Config
from common.errors import ConfigError, PmmError
from services.control import stack_credentials

__all__ = ["CURRENT", "HOME", "StackError", "control_secret", "down", "environment", "find",
    "is_running", "restart_programs", "stop_programs", "supervisor", "up"]

HOME = Path(__file__).resolve().parents[2]
CURRENT = Path(".pmm/current.json")


class StackError(PmmError):
    """The stack is not in the state a command needs; the message says what to do."""


class _Supervisor:
    """An XML-RPC proxy to the stack's supervisord over its unix socket; closes its connection."""

    def __init__(self, run_dir: Path) -> None:
        sock = run_dir / "supervisor.sock"
        from supervisor.xmlrpc import SupervisorTransport  # only where supervisord is called

        self._transport = SupervisorTransport(None, None, f"unix://{sock}")
        self.proxy = xmlrpc.client.ServerProxy("http://127.0.0.1", transport=self._transport)

    def __enter__(self) -> Any:
        return self.proxy.supervisor

    def __exit__(self, *exc: object) -> None:
        self._transport.close()


def supervisor(run_dir: Path) -> _Supervisor:
    """Use as `with supervisor(run_dir) as sv: sv.getState()`."""
    return _Supervisor(run_dir)


def is_running(run_dir: Path) -> bool:
    if not (run_dir / "supervisor.sock").exists():
        return False
    try:
        with supervisor(run_dir) as sv:
            return bool(sv.getState()["statename"] == "RUNNING")
    except (OSError, xmlrpc.client.Fault, xmlrpc.client.ProtocolError):
        return False


def environment(
    cfg: Config, config_path: Path, *, paper: bool = False,
    notify: Callable[[str], None] = lambda text: print(text, file=sys.stderr),
) -> dict[str, str]:
    """The environment supervisord and every process run with (`paper`: PMM_PAPER=true, the
    executors fill on market data and need no trading credentials).

    It holds no secret: those go to files under `<run_dir>/secrets/` that supervisord.conf
    names for the programs that need them (services/control/stack_credentials.py)."""
    run_dir = cfg.run_dir
    env = dict(os.environ)
    venues = set(cfg.venues_in_use())
    env.update(
        PMM_HOME=str(HOME),
        PMM_CONFIG=str(config_path.resolve()),
        PMM_RUN_DIR=str(run_dir),
        PMM_PYTHON=sys.executable,
        PMM_QUOTERS=str(cfg.stack.quoters),
        PMM_SIM_AUTOSTART="true" if cfg.sim.enabled else "false",
        PMM_POLYMARKET="true" if "polymarket" in venues else "false",
        PMM_KALSHI="true" if "kalshi" in venues else "false",
        PMM_REFERENCE="true" if cfg.references else "false",
        PROMETHEUS_MULTIPROC_DIR=str(run_dir / "metrics"),
        PYTHONUNBUFFERED="1",
    )
    # glibc: two malloc arenas, not one per thread (common/heap.py)
    env.setdefault("MALLOC_ARENA_MAX", "2")
    if paper:
        env["PMM_PAPER"] = "true"
    try:
        stack_credentials.prepare(cfg, dict(os.environ), env, paper=paper, notify=notify)
    except ConfigError as exc:  # an unsafe secret file: the message names it and the chmod
        raise StackError(str(exc)) from exc
    return env


def control_secret(cfg: Config) -> bytes:
    """The control secret of the running stack (environment first, then its run dir)."""
    from common.auth import load_secret

    env_name = cfg.control.secret_env
    if not os.environ.get(env_name) and not os.environ.get(f"{env_name}_FILE"):
        path = cfg.run_dir / "secrets" / "control_secret"
        if path.exists():
            os.environ[f"{env_name}_FILE"] = str(path)
    return load_secret(env_name)


def up(
    cfg: Config, config_path: Path, *, progress: Callable[[str], None], timeout_s: float = 60,
    paper: bool = False,
) -> None:
    """Start supervisord with every program and wait until all are RUNNING."""
    run_dir = cfg.run_dir
    if is_running(run_dir):
        raise StackError(f"a stack is already running in {run_dir}; run `pmm down` first")
    refuse_a_moved_journal(cfg, config_path)
    try:
        (run_dir / "logs").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StackError(f"cannot create the run directory {run_dir}: {exc.strerror}; set "
                         "[stack] run_dir to a writable directory (an absolute path such as "
                         "/var/lib/pmm/run, or one relative to the config file)") from exc
    metrics_dir = run_dir / "metrics"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    env = environment(cfg, config_path, paper=paper, notify=progress)
    supervisord = Path(sys.executable).with_name("supervisord")
    progress(f"starting supervisord ({run_dir})")
    subprocess.run(
        [str(supervisord), "-c", str(HOME / "supervisord.conf")],
        env=env, check=True, cwd=HOME,
    )
    record = {"config": str(config_path.resolve()), "run_dir": str(run_dir)}
    (run_dir / "stack.json").write_text(json.dumps(record))
    CURRENT.parent.mkdir(parents=True, exist_ok=True)
    CURRENT.write_text(json.dumps(record))
    deadline = time.monotonic() + timeout_s
    last = ""
    while time.monotonic() < deadline:
        try:
            with supervisor(run_dir) as sv:
                infos = sv.getAllProcessInfo()
        except (OSError, xmlrpc.client.Fault):
            time.sleep(0.2)
            continue
        wanted = [i for i in infos if i["statename"] != "STOPPED"]
        bad = [i for i in wanted if i["statename"] in ("FATAL", "BACKOFF")]
        if bad:
            names = ", ".join(f"{i['name']} ({i['statename']})" for i in bad)
            raise StackError(
                f"{names} failed to start; read {run_dir}/logs/<name>.log, then `pmm down`"
            )
        running = sum(i["statename"] == "RUNNING" for i in wanted)
        line = f"{running}/{len(wanted)} processes running"
        if line != last:
            progress(line)
            last = line
        if wanted and running == len(wanted):
            return
        time.sleep(0.2)
    raise StackError(f"stack did not come up within {timeout_s:.0f}s; see {run_dir}/logs/")


def refuse_a_moved_journal(cfg: Config, config_path: Path) -> None:
    """A relative run_dir used to be resolved against the working directory (by the CLI)
    and the checkout (by the services); it is now the config file's. A stack brought up
    again after that change would start on an empty journal: its latched kill switch,
    halts and positions forgotten. Refuse, naming the journal and how to move it."""
    raw = tomllib.loads(config_path.read_text()).get("stack", {}).get("run_dir", ".pmm/run")
    if Path(raw).is_absolute() or (cfg.run_dir / "journal.sqlite").exists():
        return
    for base in dict.fromkeys((Path.cwd(), HOME)):
        old = (base / raw).resolve()
        if old != cfg.run_dir and (old / "journal.sqlite").exists():
            raise StackError(
                f"risk's journal for this config is in {old}, where a relative run_dir "
                f"({raw!r}) used to point; it is now resolved against the config file's "
                f"directory, to {cfg.run_dir}. Move it (`mv {old} {cfg.run_dir}`) or set "
                f"[stack] run_dir = \"{old}\", then `pmm up` again: starting on an empty "
                "journal would forget the kill switch, halts and positions")


def stop_programs(run_dir: Path, names: list[str]) -> None:
    """Stop the named process groups in order (each waits for its processes to exit)."""
    with supervisor(run_dir) as sv:
        for name in names:
            try:
                sv.stopProcessGroup(name, True)
            except xmlrpc.client.Fault:
                continue


def down(run_dir: Path, *, progress: Callable[[str], None], timeout_s: float = 30) -> None:
    """Stop every program in reverse priority order, then supervisord itself."""
    if not is_running(run_dir):
        raise StackError(f"no stack is running in {run_dir}; nothing to stop")
    progress("stopping every process (executors cancel their orders first)")
    with supervisor(run_dir) as sv:
        sv.shutdown()
    deadline = time.monotonic() + timeout_s
    pidfile = run_dir / "supervisord.pid"
    while time.monotonic() < deadline:
        if not pidfile.exists():
            progress("stack stopped")
            return
        time.sleep(0.1)
    raise StackError(f"supervisord did not exit within {timeout_s:.0f}s; check {pidfile}")


def find(config_arg: str | None) -> tuple[Config, Path]:
    """The config of the stack a command talks to: --config, $PMM_CONFIG, or the last `pmm up`."""
    path_text = config_arg or os.environ.get("PMM_CONFIG")
    if not path_text and CURRENT.exists():
        path_text = json.loads(CURRENT.read_text())["config"]
    if not path_text:
        raise StackError("no stack found: start one with `pmm up --config FILE` or pass --config")
    path = Path(path_text)
    return config_mod.load(path), path


def restart_programs(run_dir: Path, names: list[str], *, progress: Callable[[str], None]) -> None:
    """Restart the named process groups one after another so they re-read config and overlay."""
    if not is_running(run_dir):
        return
    with supervisor(run_dir) as sv:
        groups = {i["group"] for i in sv.getAllProcessInfo()}
        for name in names:
            if name not in groups:
                continue
            progress(f"restarting {name}")
            try:
                sv.stopProcessGroup(name, True)
                sv.startProcessGroup(name, True)
            except xmlrpc.client.Fault as exc:
                raise StackError(f"supervisord could not restart {name}: {exc.faultString}; "
                                 f"see {run_dir}/logs/{name}*.log") from exc
