"""Paper trading on replayed data agrees with a backtest of the same data.

A synthetic scenario is written as a recording, the real stack runs under supervisord in
paper mode (`pmm up --paper`: quoters, risk, paper executor, control; no simulator), ingest
is stopped and `python -m services.recorder replay` plays the recording onto the md bus at
real speed in its place. Then `pmm backtest --data` semantics (runner.run_data) run on the
same files with the same config, and fills and P&L are compared.

Start order matters: in this scenario every backtest fill happens in the first 1.3 s of
data (the quoter then widens after its inventory and never trades again), so the stack must
be listening before the first record. Nothing is restarted (a SUB reconnects to a freshly
bound ipc endpoint within its 100 ms reconnect interval); the test waits until the executor
publishes heartbeats (it has reconciled and runs its md streams) and the replayer waits
until all 5 md subscriptions of the market are in (quoter, risk, control, the executor's
tick watcher, the paper executor's fill stream) before it plays (ZeroMQ slow joiner).

Tolerance: fills within max(2, 25%) of the backtest's and P&L within max($1.50, 25%).
Measured in 5 runs (one under a CPU hog): 6 fills vs 6, P&L $3.11595 vs $3.11595. Differences
come from the live stack's timing: the quoter steps on wall-clock time (the volatility
estimator sees real inter-arrival times, not the recorded ones), books can be conflated by
a busy quoter, the decision-to-order latency is whatever the processes take (the backtest
assumes 50 ms), and the position reaches the quoter through risk one hop later.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from common import config as config_mod
from research import runner
from services.control import stack as stack_mod
from tests.integration.stack import ROOT, Stack
from tests.support.wait import eventually

MARKET = "fed-cut-dec"
SUBSCRIBERS = 5
"""md subscriptions of MARKET in a paper stack with one quoter (see the module docstring)."""
SCENARIO = {"duration_s": 30.0, "noise_rate_hz": 6.0, "market": MARKET, "start": 0.35,
            "sniper_rate_hz": 0.0, "maker_half_spread": 0.03, "noise_slippage": 10}
"""No snipers: they trade against our quotes inside the backtester only (research/sniper.py),
and the live paper executor replaying the recording has none, so the two would differ.
Makers 3c from their view and takers who sweep up to 10 ticks, so the stack's default
quotes (2c plus the volatility widening) trade within 30 s."""


@pytest.mark.timeout(150)
def test_paper_run_on_replayed_data_agrees_with_the_backtest() -> None:
    s = Stack(quoters=1)
    text = s.config_path.read_text().replace("[sim]\n", "[sim]\nenabled = false\n", 1)
    s.config_path.write_text(text)
    s.cfg = config_mod.load(s.config_path)
    data = s.dir / "rec"
    runner.write_scenario("calm", 4, data, SCENARIO)  # type: ignore[arg-type]
    try:
        s.pmm("up", "--paper")
        stack_mod.stop_programs(s.run_dir, ["ingest-polymarket"])
        eventually(lambda: s.status()["markets"], 20, what="control plane answers")

        def executor_alive() -> bool:
            procs = s.status()["processes"]
            return all(procs.get(p, {}).get("alive") for p in ("executor-polymarket", "risk"))

        eventually(executor_alive, 30, what="paper executor reconciled and heartbeating")
        replay = subprocess.Popen(
            [sys.executable, "-m", "services.recorder", "replay", "--config",
             str(s.config_path), "--dir", str(data), "--speed", "1", "--subscribers",
             str(SUBSCRIBERS), "--wait-s", "30"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)})
        _, err = replay.communicate(timeout=90)
        assert replay.returncode == 0, err[-2000:]
        print(next((ln for ln in err.splitlines() if "subscribers in" in ln), "no subscribers line"))

        def settled() -> dict[str, object] | None:
            m = next(x for x in s.status()["markets"] if x["id"] == MARKET)
            return m if m["open_orders"] >= 0 else None

        live = eventually(settled, 10, what="status of the replayed market")
        backtest = runner.summary(runner.run_data(data, cfg=s.cfg), markets=True)
        bt = backtest["markets"][MARKET]
        live_pnl = float(live["realized_pnl_usd"]) + float(live["marked_pnl_usd"])  # type: ignore[arg-type]
        report = {"paper_fills": live["fills"], "backtest_fills": bt["fills"],
                  "paper_pnl_usd": round(live_pnl, 6), "backtest_pnl_usd": bt["pnl_usd"],
                  "paper_net": live["net_position"], "backtest_net": bt["net_position"]}
        print("paper vs backtest:", json.dumps(report))
        assert bt["fills"] > 0
        assert abs(live["fills"] - bt["fills"]) <= max(2, 0.25 * bt["fills"]), report  # type: ignore[operator]
        assert abs(live_pnl - bt["pnl_usd"]) <= max(1.5, 0.25 * abs(bt["pnl_usd"])), report
    except BaseException:
        print(s.logs())
        raise
    finally:
        s.cleanup()
