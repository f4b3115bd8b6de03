"""Signals on against signals off (issue 5): the same scenarios and seeds through the engine
twice, the markouts side by side. `pmm signals-compare` prints the table.

Per scenario, summed over seeds (money in USD):
- `markout_60s`: every fill marked to the TRUE price 60 s later (metrics.py), the issue's
  measure of adverse selection: higher is better.
- `per_contract`: markout_60s per contract filled, in cents: the quality of a fill whatever
  the volume.
- `adverse_60s`: the sum over fills whose 60 s markout is negative (the loss on the fills
  that were picked off); closer to 0 is better.
- `edge_0s`: markout at the fill's own moment (truth at the fill minus its price): the
  expected 60 s markout without the next minute's noise.
- `pnl`: P&L marked to the final true price; `fills`; `helped`: seeds where signals-on
  markout_60s >= signals-off.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from typing import Any

from common.config import Config
from common.prices import MONEY_SCALE, SIZE_SCALE
from research import runner
from research.backtest import BacktestParams, MarketRun, RunResult

__all__ = ["COLUMNS", "compare", "measure", "table"]

COLUMNS = ("markout_60s", "per_contract", "adverse_60s", "edge_0s", "pnl", "fills")


def _marks(r: MarketRun, horizon_ns: int) -> list[float]:
    out = []
    for f in r.fills:
        i = bisect.bisect_right(r.ref_ts, f.ts_ns + horizon_ns) - 1
        if i < 0:
            continue
        ref = r.ref_px[i]
        out.append((ref - f.price) * f.size if f.buy else (f.price - ref) * f.size)
    return out


def measure(result: RunResult) -> dict[str, float]:
    """The comparison's figures of one run (module docstring), unrounded."""
    runs = list(result.markets.values())
    m60 = [m for r in runs for m in _marks(r, 60 * 1_000_000_000)]
    m0 = [m for r in runs for m in _marks(r, 0)]
    volume = sum(f.size for r in runs for f in r.fills) / SIZE_SCALE
    pnl = sum(r.pnl(r.ref_px[-1]) for r in runs if r.ref_px)
    return {
        "markout_60s": sum(m60) / MONEY_SCALE,
        "adverse_60s": sum(m for m in m60 if m < 0) / MONEY_SCALE,
        "edge_0s": sum(m0) / MONEY_SCALE,
        "pnl": pnl / MONEY_SCALE,
        "fills": float(sum(len(r.fills) for r in runs)),
        "volume": volume,
    }


def compare(
    scenarios: Iterable[str], seeds: Iterable[int], *, cfg: Config | None = None,
    overrides: Mapping[str, Any] = {}, params: BacktestParams = BacktestParams(),
    scenario_overrides: Mapping[str, float] = {},
) -> list[dict[str, Any]]:
    """One row per scenario: every figure with signals off and on, and the seeds helped."""
    rows = []
    seed_list = list(seeds)
    for name in scenarios:
        tot: dict[str, dict[str, float]] = {"off": {}, "on": {}}
        helped = 0
        for seed in seed_list:
            got = {}
            for mode in ("off", "on"):
                run = runner.run_scenario(
                    name, seed, cfg=cfg, overrides=overrides,
                    scenario_overrides=scenario_overrides, params=BacktestParams(latency_ms=params.latency_ms,
                                          maker_fee_bps=params.maker_fee_bps, signals=mode))
                got[mode] = measure(run)
                for k, v in got[mode].items():
                    tot[mode][k] = tot[mode].get(k, 0.0) + v
            helped += got["on"]["markout_60s"] >= got["off"]["markout_60s"]
        row: dict[str, Any] = {"scenario": name, "seeds": len(seed_list), "helped": helped}
        for mode in ("off", "on"):
            t = tot[mode]
            per = 100 * t["markout_60s"] / t["volume"] if t["volume"] else 0.0
            row[f"markout_60s_{mode}"] = round(t["markout_60s"], 2)
            row[f"per_contract_{mode}"] = round(per, 3)
            row[f"adverse_60s_{mode}"] = round(t["adverse_60s"], 2)
            row[f"edge_0s_{mode}"] = round(t["edge_0s"], 2)
            row[f"pnl_{mode}"] = round(t["pnl"], 2)
            row[f"fills_{mode}"] = int(t["fills"])
        rows.append(row)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table (off / on in each cell)."""
    head = ("| scenario | seeds | markout_60s $ off / on | per contract c off / on | "
            "adverse_60s $ off / on | edge_0s $ off / on | P&L $ off / on | fills off / on | "
            "seeds helped |")
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        cells = [f"{r[f'{c}_off']} / {r[f'{c}_on']}" for c in COLUMNS]
        lines.append(f"| {r['scenario']} | {r['seeds']} | " + " | ".join(cells)
                     + f" | {r['helped']}/{r['seeds']} |")
    return "\n".join(lines)
