"""Start the real stack under real supervisord for a test, on free ports in a short tmp dir."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from decimal import Decimal
from pathlib import Path
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from common import config as config_mod
from services.control import stack as stack_mod
from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[2]
REFERENCE_DEMO = "# --- reference feed demo"
"""Where a deploy/demo*.toml's reference feed demo starts (everything after it is left out)."""


def _as_from_a_terminal() -> None:
    """Ctrl-C as an operator's terminal delivers it: a suite started in the background (a
    non-interactive shell's `cmd &`) ignores SIGINT, and its children would inherit that,
    so the SIGINT case of `pmm demo` would wait forever."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Stack:
    """A running stack: its config, its simulator, its status, and its processes."""

    def __init__(self, *, extra: str = "", quoters: int = 2, seed: int = 11,
                 base: str = "demo.toml", references: bool = False,
                 relative_run_dir: bool = False, kalshi: str = "", quoting: str = "") -> None:
        """`base`: the deploy/ config whose [[markets]] the stack trades (demo-kalshi.toml...).
        `references`: keep the base's reference feed demo (issue 5: a market following a
        simulated feed, and the `reference` process); left out by default.
        `relative_run_dir`: write `run_dir = "run"`, relative to the config file.
        `kalshi`: more keys for [venues.kalshi] (the table is written here, so `extra` cannot);
        `quoting`: more keys for [quoting], likewise."""
        self.dir = Path(tempfile.mkdtemp(prefix="pmm-", dir="/tmp"))
        self.sim_port, self.control_port, self.exporter_port = free_port(), free_port(), free_port()
        demo = (ROOT / "deploy" / base).read_text()
        markets = demo[demo.index("[[markets]]"):]
        if not references and REFERENCE_DEMO in markets:
            markets = markets[:markets.index(REFERENCE_DEMO)]
        markets = markets.replace("127.0.0.1:8711", f"127.0.0.1:{self.sim_port}")
        text = f"""
[stack]
run_dir = "{'run' if relative_run_dir else f'{self.dir}/run'}"
quoters = {quoters}
[venues.polymarket]
rest_url = "http://127.0.0.1:{self.sim_port}"
ws_url = "ws://127.0.0.1:{self.sim_port}/ws"
gamma_url = "http://127.0.0.1:{self.sim_port}/gamma"
[venues.kalshi]
rest_url = "http://127.0.0.1:{self.sim_port}/trade-api/v2"
ws_url = "ws://127.0.0.1:{self.sim_port}/trade-api/ws/v2"
{kalshi}
[quoting]
interval_ms = 1000
{quoting}
[control]
http_port = {self.control_port}
[exporter]
port = {self.exporter_port}
[sim]
port = {self.sim_port}
seed = {seed}
{extra}
{markets}
"""
        self.config_path = self.dir / "pmm.toml"
        self.config_path.write_text(text)
        self.cfg = config_mod.load(self.config_path)
        self.run_dir = self.cfg.run_dir

    # --- lifecycle ---------------------------------------------------------------------------
    def pmm(self, *args: str, check: bool = True, timeout: float = 90,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """Run `pmm ARGS --config <this stack's>` in `cwd` (default: the stack's directory)."""
        cmd = [sys.executable, "-m", "services.control.cli", *args]
        if args and args[0] not in ("demo",) and "--config" not in args:
            cmd += ["--config", str(self.config_path)]
        proc = subprocess.run(cmd, cwd=cwd or self.dir, capture_output=True, text=True,
                              timeout=timeout,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        if check and proc.returncode != 0:
            raise AssertionError(f"pmm {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    def pmm_background(self, *args: str) -> subprocess.Popen[str]:
        cmd = [sys.executable, "-m", "services.control.cli", *args, "--config", str(self.config_path)]
        return subprocess.Popen(cmd, cwd=self.dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
                                preexec_fn=_as_from_a_terminal)

    def up(self) -> None:
        self.pmm("up")

    def down(self) -> None:
        if stack_mod.is_running(self.run_dir):
            self.pmm("down", check=False)

    def cleanup(self) -> None:
        self.down()
        pid_file = self.run_dir / "supervisord.pid"
        if pid_file.exists():  # last resort: never leave a supervisord behind
            try:
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        if os.environ.get("PMM_KEEP_TEST_RUN"):
            print(f"kept test run dir {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def logs(self) -> str:
        out = []
        for f in sorted((self.run_dir / "logs").glob("*.log")):
            out.append(f"==== {f.name}\n" + "\n".join(f.read_text(errors="replace").splitlines()[-30:]))
        return "\n".join(out)

    # --- views -------------------------------------------------------------------------------
    def sim_state(self) -> dict[str, Any]:
        r = httpx.get(f"http://127.0.0.1:{self.sim_port}/_sim/state", timeout=5)
        r.raise_for_status()
        data: dict[str, Any] = r.json()
        return data

    def status(self) -> dict[str, Any]:
        r = httpx.get(f"http://127.0.0.1:{self.control_port}/state", timeout=5)
        r.raise_for_status()
        data: dict[str, Any] = r.json()
        return data

    def status_cli(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.pmm("status", "--json").stdout)
        return data

    def processes(self) -> dict[str, dict[str, Any]]:
        with stack_mod.supervisor(self.run_dir) as sv:
            infos = sv.getAllProcessInfo()
        return {i["name"]: i for i in infos}

    def open_orders_by_market(self) -> Counter[str]:
        """Open orders at the simulator per pmm market id."""
        by_cid = {m.venue_market: m.id for m in self.cfg.markets}
        counts: Counter[str] = Counter()
        for acct in self.sim_state()["accounts"].values():
            for o in acct["open_orders"]:
                counts[by_cid.get(o["market"], o["market"])] += 1
        return counts

    def sim_positions(self) -> dict[str, tuple[Decimal, Decimal]]:
        """Per market, (YES, NO) shares our account holds according to the simulator: its
        exact positions. (Its `fills` list keeps only the newest TRADES_KEEP trades: summing
        it undercounted a busy stack by thousands of contracts, which the chaos tests read
        as fills lost.) Where the list is whole, it must agree with the positions."""
        from services.venue_sim.markets import kalshi_tokens

        tokens = {}
        for m in self.cfg.markets:
            yes, no = (m.yes_token, m.no_token) if m.venue == "polymarket" else kalshi_tokens(
                m.venue_market)
            tokens[yes] = (m.id, 0)
            tokens[no] = (m.id, 1)
        pos: dict[str, list[Decimal]] = {m.id: [Decimal(0), Decimal(0)] for m in self.cfg.markets}
        summed: dict[str, list[Decimal]] = {m.id: [Decimal(0), Decimal(0)] for m in self.cfg.markets}
        whole = True
        for acct in self.sim_state()["accounts"].values():
            for token, size in acct["positions"].items():
                if token in tokens:
                    market, idx = tokens[token]
                    pos[market][idx] += Decimal(size)
            whole = whole and acct["trades_total"] == len({f["trade_id"] for f in acct["fills"]})
            for f in acct["fills"]:
                market, idx = tokens[f["asset_id"]]
                sign = 1 if f["side"] == "BUY" else -1
                summed[market][idx] += sign * Decimal(f["size"])
        assert not whole or summed == pos, f"the simulator's fills {summed} != its positions {pos}"
        return {k: (v[0], v[1]) for k, v in pos.items()}

    def sim_fill_count(self) -> int:
        """Trades our accounts took part in, however many the simulator still lists."""
        return sum(a["trades_total"] for a in self.sim_state()["accounts"].values())


@contextmanager
def running(**kwargs: Any) -> Iterator[Stack]:
    """A started stack for a test module: its logs are printed if anything fails, and it is
    always stopped and cleaned up."""
    s = Stack(**kwargs)
    try:
        s.up()
        yield s
    except BaseException:
        print(s.logs())
        raise
    finally:
        s.cleanup()
