"""Metrics of a backtest run: P&L, Sharpe, drawdown, fills, spread capture, inventory and
markouts. Pure functions over `RunResult`; money in USD floats rounded to 6 places (the
micro-dollar grid), so results print and compare exactly run after run.

Definitions (documented for operators in ARCHITECTURE.md "Research loop"):
- `pnl_usd`: cash + holdings marked at the final mid (risk's realized + marked P&L), net of
  fees; `pnl_true_usd` marks at the final true price where the data knows it.
- `sharpe_1m`: mean / stdev of the run's one-minute P&L increments, not annualised: a
  10-minute run cannot say what a day does, so the horizon is stated in the name instead
  of scaled up (the old `sharpe` multiplied 1-second increments by sqrt(86,400) and printed
  50-250 for nothing). Across seeds, compare the runs' P&L mean and sd.
- `max_drawdown_usd`: largest fall of sampled P&L from its running peak.
- `fill_rate`: filled size / placed size. `spread_capture_usd`: sum over fills of the edge to
  the mid at the fill (positive when we buy below / sell above mid).
- `markout_<h>s_usd`: sum over fills of the P&L of the fill marked `h` seconds later, at the
  true price when known (synthetic scenarios), else at the mid: negative is adverse selection.
- `adverse_selection_usd`: the classic decomposition of the effective spread, against the
  book's mid: the spread captured at the fill minus the fills' markout at the mid 60 s later
  (the "price impact" part); `adverse_share`: that over the spread captured (0 with none
  captured): the share of what we earned at the fill that the next minute took back.
- `time_at_top`: share of samples our order was at (or better than) the book's best price,
  averaged over the two sides.
- `reward_usd`: liquidity rewards earned where the scenario runs a programme: in each
  sample interval, the pool's rate times our share by the venue's formula on the book and
  our ladder (strategy/rewards.py); `total_usd` = `pnl_usd` + `reward_usd`;
  `time_scoring`: share of the time our orders scored (our Q_min above 0).
"""

from __future__ import annotations

import bisect
import math
from typing import Any

from common.prices import MONEY_SCALE, PRICE_SCALE, SIZE_SCALE
from research.backtest import MarketRun, RunResult

__all__ = ["SHARPE_STEP_S", "per_market", "summarize"]

SHARPE_STEP_S = 60
"""The P&L increment `sharpe_1m` is computed over."""


def _usd(micros: float) -> float:
    return round(micros / MONEY_SCALE, 6)


def _ref_at(r: MarketRun, ts: int, *, at_mid: bool = False) -> float | None:
    i = bisect.bisect_right(r.ref_ts, ts) - 1
    return (r.mid_px if at_mid else r.ref_px)[i] if i >= 0 else None


def _markout(r: MarketRun, horizon_ns: int, *, at_mid: bool = False) -> float:
    total = 0.0
    for f in r.fills:
        ref = _ref_at(r, f.ts_ns + horizon_ns, at_mid=at_mid)
        if ref is None:
            continue
        total += (ref - f.price) * f.size if f.buy else (f.price - ref) * f.size
    return total


def _spread_capture(r: MarketRun) -> float:
    total = 0.0
    for f in r.fills:
        i = bisect.bisect_right(r.ref_ts, f.ts_ns) - 1
        if i < 0:
            continue
        mid = r.mid_px[i]
        total += (mid - f.price) * f.size if f.buy else (f.price - mid) * f.size
    return total


def summarize(result: RunResult) -> dict[str, Any]:
    """The summary of a run, every market combined; the keys `pmm backtest --json` prints."""
    runs = list(result.markets.values())
    sample_ts, pnl_series = _combined_pnl(runs)
    pnl = sum(r.pnl(r.mid() or 0.0) for r in runs if r.mid() is not None)
    truth_known = any(r.has_truth for r in runs)
    pnl_true = sum(r.pnl(r.ref_px[-1]) for r in runs if r.ref_px) if truth_known else None
    fills = sum(len(r.fills) for r in runs)
    bought = sum(f.size for r in runs for f in r.fills if f.buy)
    sold = sum(f.size for r in runs for f in r.fills if not f.buy)
    v = result.params
    out: dict[str, Any] = {
        "pnl_usd": _usd(pnl),
        "pnl_true_usd": None if pnl_true is None else _usd(pnl_true),
        "sharpe_1m": round(_sharpe(_every(sample_ts, pnl_series, SHARPE_STEP_S)), 6),
        "max_drawdown_usd": _usd(_drawdown(pnl_series)),
        "fills": fills,
        "fill_volume": round((bought + sold) / SIZE_SCALE, 2),
        "fill_rate": round(_ratio(sum(f.size for r in runs for f in r.fills),
                                  result.placed_size), 6),
        "quotes_sent": sum(r.quotes_sent for r in runs),
        "orders_rejected": result.rejected,
        "spread_capture_usd": _usd(sum(_spread_capture(r) for r in runs)),
        "fees_usd": _usd(sum(r.fees for r in runs)),
        "max_abs_inventory": round(max((abs(s.net) for r in runs for s in r.samples),
                                       default=0) / SIZE_SCALE, 2),
        "mean_abs_inventory": round(_mean([abs(s.net) for r in runs for s in r.samples])
                                    / SIZE_SCALE, 4),
        "final_inventory": round(sum(r.net for r in runs) / SIZE_SCALE, 2),
        "markout_ref": "true" if truth_known else "mid",
    }
    for h in v.markout_horizons_s:
        out[f"markout_{h}s_usd"] = _usd(sum(_markout(r, h * 1_000_000_000) for r in runs))
    if "markout_60s_usd" not in out:
        out["markout_60s_usd"] = _usd(sum(_markout(r, 60 * 1_000_000_000) for r in runs))
    edge = sum(_spread_capture(r) for r in runs)
    adverse = edge - sum(_markout(r, 60 * 1_000_000_000, at_mid=True) for r in runs)
    out["adverse_selection_usd"] = _usd(adverse)
    out["adverse_share"] = round(adverse / edge, 6) if edge > 0 else 0.0
    out["time_at_top"] = round(_time_at_top([s for r in runs for s in r.samples]), 6)
    reward = sum(r.rewards.earned for r in runs)
    out["reward_usd"] = _usd(reward)
    out["total_usd"] = _usd(pnl + reward)
    counted = sum(r.rewards.counted_ns for r in runs)
    out["time_scoring"] = round(sum(r.rewards.scoring_ns for r in runs) / counted, 6) \
        if counted else 0.0
    out["events"] = result.events
    out["signals"] = ("on" if any(r.setup.quoting.signals.enabled for r in runs)
                      else "lead_lag" if any(r.setup.info.reference
                                             and r.setup.quoting.signals.lead_lag.enabled
                                             for r in runs) else "off")
    out["events_per_sec"] = round(result.events / result.wall_s) if result.wall_s > 0 else 0
    return out


def per_market(result: RunResult) -> dict[str, dict[str, Any]]:
    """Fills and P&L (marked at the final mid) of each market: what `pmm status` shows live."""
    out = {}
    for m, r in result.markets.items():
        mid = r.mid()
        out[m] = {
            "fills": len(r.fills),
            "bought": round(sum(f.size for f in r.fills if f.buy) / SIZE_SCALE, 2),
            "sold": round(sum(f.size for f in r.fills if not f.buy) / SIZE_SCALE, 2),
            "net_position": round(r.net / SIZE_SCALE, 2),
            "pnl_usd": _usd(r.pnl(mid)) if mid is not None else 0.0,
            "mark": None if mid is None else round(mid / PRICE_SCALE, 6),
        }
    return out


def _combined_pnl(runs: list[MarketRun]) -> tuple[list[int], list[int]]:
    """(sample times, P&L of every market summed) aligned by time: a market without a mid
    at a sample time is not sampled then, and counts with its last P&L (0 before any)."""
    times = sorted({s.ts_ns for r in runs for s in r.samples})
    last = [0] * len(runs)
    at = [{s.ts_ns: s.pnl for s in r.samples} for r in runs]
    out = []
    for ts in times:
        for i, by_ts in enumerate(at):
            if ts in by_ts:
                last[i] = by_ts[ts]
        out.append(sum(last))
    return times, out


def _every(ts: list[int], series: list[int], step_s: int) -> list[int]:
    """The series' value at the first sample and at each `step_s` after it (the last
    sample at or before each mark)."""
    if not ts:
        return []
    step = step_s * 1_000_000_000
    out, mark = [], ts[0]
    for i, t in enumerate(ts):
        while t >= mark:  # a gap longer than a step repeats the value held through it
            out.append(series[i] if t == mark else series[i - 1])
            mark += step
    return out


def _sharpe(series: list[int]) -> float:
    """Mean / sample stdev of the series' increments, unscaled; 0 below 2 increments."""
    if len(series) < 3:
        return 0.0
    diffs = [b - a for a, b in zip(series, series[1:], strict=False)]
    mean = math.fsum(diffs) / len(diffs)
    var = math.fsum((d - mean) ** 2 for d in diffs) / (len(diffs) - 1)
    if var <= 0:
        return 0.0
    return mean / math.sqrt(var)


def _time_at_top(samples: list[Any]) -> float:
    """Share of samples with our bid at or above the book's best bid, and likewise the ask
    at or below the best ask, averaged over the two sides."""
    if not samples:
        return 0.0
    bid = sum(1 for s in samples if s.bid is not None and s.book_bid is not None
              and s.bid >= s.book_bid)
    ask = sum(1 for s in samples if s.ask is not None and s.book_ask is not None
              and s.ask <= s.book_ask)
    return (bid + ask) / (2 * len(samples))


def _drawdown(series: list[int]) -> int:
    peak, worst = None, 0
    for v in series:
        peak = v if peak is None else max(peak, v)
        worst = max(worst, peak - v)
    return worst


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def _mean(xs: list[int]) -> float:
    return math.fsum(xs) / len(xs) if xs else 0.0
