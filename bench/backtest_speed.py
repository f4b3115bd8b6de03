"""Backtest events per second on this machine: every scenario, one process, one core.

Runs each named scenario (seed 1, default 600 s of market time) through the backtester
(live quoting engine + paper venue + queue fill model), prints events/s per scenario and
overall, and writes bench/results/backtest.json. Takes about 3 s.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from research import runner, scenarios  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration-s", type=float, default=600.0, help="market time per run")
    args = parser.parse_args()
    figures: dict[str, float] = {}
    events = wall = 0.0
    for name in sorted(scenarios.SCENARIOS):
        result = runner.run_scenario(name, 1, scenario_overrides={"duration_s": args.duration_s})
        figures[name] = round(result.events / result.wall_s)
        events += result.events
        wall += result.wall_s
        print(f"{name:12s} {result.events:7d} events {result.wall_s:6.2f} s "
              f"{figures[name]:8.0f} events/s")
    overall = round(events / wall)
    print(f"overall      {int(events):7d} events {wall:6.2f} s {overall:8.0f} events/s")
    out = {"events_per_sec": overall, "by_scenario": figures, "events": int(events),
           "python": platform.python_version(), "machine": platform.machine()}
    path = ROOT / "bench" / "results" / "backtest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
