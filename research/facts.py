"""Stylised facts of a synthetic market, measured the way the published figures are, so the
scenarios can be calibrated against them (ARCHITECTURE.md "Calibration").

Measured on the market without us (open loop, what a recording of it holds):

- `spread_c`: time-averaged best ask minus best bid, in cents of a $1 contract;
- `top_depth`: contracts at the best bid and best ask (mean of the two, over snapshots);
- `depth_5c_usd`: dollars resting within 5 cents of the mid, both sides;
- `trade_median` / `trade_mean` / `trade_p90`: contracts per trade print;
- `trade_median_usd`: dollars per print (size x price);
- `trades_per_min`;
- `informed_share`: the informed takers' share of the traded volume;
- `taker_return_pct`: what takers made per dollar they paid, marked at the true probability
  at the trade (its expected value at settlement), in percent: the figure published for
  Kalshi's takers (-1.12%, Becker 2026) read the other way round.

And one closed-loop figure: `naive_markout_c`, the markout at 60 s against the truth per
contract filled, in cents, of the symmetric baseline (one level each side at 0.02, the half-spread
every comparison uses): what a naive maker earns or loses per contract once the market fights back.
"""

from __future__ import annotations

import statistics
from typing import Any

from common.messages import BookSnapshot, TradePrint
from common.prices import PRICE_SCALE, SIZE_SCALE
from research import scenarios
from research.flow import Flow

__all__ = ["FACTS", "PUBLISHED", "facts", "naive_markout_c", "outside", "table"]

FACTS = ("spread_c", "top_depth", "depth_5c_usd", "trade_median", "trade_mean", "trade_p90",
         "trade_median_usd", "trades_per_min", "informed_share", "taker_return_pct",
         "naive_markout_c")


Range = tuple[float, float]

PUBLISHED: dict[str, dict[str, tuple[Range, str]]] = {
    "liquid": {
        "spread_c": ((1.0, 2.5), "Dubach 2026 (arXiv 2604.24366): median 400 bps of mid at "
                                 "0.4-0.6, i.e. ~2c; liquid markets 1-2c"),
        "trade_median_usd": ((10.0, 40.0), "Kalshi median $35 (Burgi, Deng & Whelan 2025); "
                                           "Polymarket Super Bowl LX median 26 shares "
                                           "(Capitola Research)"),
        "taker_return_pct": ((-3.7, 0.0), "Kalshi takers -1.12% (Becker 2026); maker-taker "
                                          "gap 0.17-7.3 pp by category"),
    },
    "thin": {
        "spread_c": ((5.0, 15.0), "thin markets 5-15c (Kalshi outside the top markets; "
                                  "Polymarket shows the last trade past 10c)"),
        "trade_median_usd": ((10.0, 40.0), "as liquid"),
        "taker_return_pct": ((-10.0, -1.0), "takers lose most where spreads are wide "
                                            "(Becker 2026: 4.8-7.3 pp in thin categories)"),
    },
    "toxic": {
        "spread_c": ((1.0, 4.0), "as liquid, wider under informed flow"),
        "trade_median_usd": ((10.0, 40.0), "as liquid"),
        "taker_return_pct": ((-0.5, 2.5), "informed-heavy categories: takers ahead in "
                                          "crypto/finance (+1.3 / +2.3 pp, zpt.capital "
                                          "2026); Becker finance gap 0.17 pp"),
    },
}
"""What each kind of scenario is calibrated to: the published range of a fact and its
source (ARCHITECTURE.md "Calibration" has the full citations)."""

KIND = {"calm": "liquid", "trending": "liquid", "news_jump": "liquid", "adversarial": "liquid",
        "underlying": "liquid",
        "resolution": "thin", "toxic_flow": "toxic"}


def facts(name: str, seed: int, **overrides: float) -> dict[str, float]:
    """The open-loop stylised facts of one scenario run (module docstring)."""
    spec = scenarios.spec(name, **overrides)
    flow = Flow(spec, seed)
    spreads: list[int] = []
    tops: list[float] = []
    near: list[float] = []
    sizes: list[int] = []
    notional: list[float] = []
    paid = won = 0.0
    for t in flow:
        msg = t.msg
        if isinstance(msg, TradePrint):
            sizes.append(msg.size)
            notional.append(msg.size / SIZE_SCALE * msg.price / PRICE_SCALE)
            if msg.side == "BUY":  # bought YES at price, worth the truth
                paid += msg.price * msg.size
                won += (t.true_price - msg.price) * msg.size
            else:  # sold YES: bought NO at 1 - price
                paid += (PRICE_SCALE - msg.price) * msg.size
                won += (msg.price - t.true_price) * msg.size
        elif isinstance(msg, BookSnapshot) and msg.bids and msg.asks:
            bid, ask = msg.bids[0].price, msg.asks[0].price
            spreads.append(ask - bid)
            tops.append((msg.bids[0].size + msg.asks[0].size) / 2 / SIZE_SCALE)
            mid, band = (bid + ask) / 2, 0.05 * PRICE_SCALE
            near.append(sum(lv.size / SIZE_SCALE * lv.price / PRICE_SCALE
                            for lv in (*msg.bids, *msg.asks) if abs(lv.price - mid) <= band))
    volume = sum(flow.volume.values())
    sizes.sort()
    return {
        "spread_c": round(statistics.fmean(spreads) / PRICE_SCALE * 100, 3) if spreads else 0.0,
        "top_depth": round(statistics.fmean(tops), 1) if tops else 0.0,
        "depth_5c_usd": round(statistics.fmean(near), 1) if near else 0.0,
        "trade_median": round(statistics.median(sizes) / SIZE_SCALE, 2) if sizes else 0.0,
        "trade_mean": round(statistics.fmean(sizes) / SIZE_SCALE, 2) if sizes else 0.0,
        "trade_p90": round(sizes[int(0.9 * (len(sizes) - 1))] / SIZE_SCALE, 2) if sizes else 0.0,
        "trade_median_usd": round(statistics.median(notional), 2) if notional else 0.0,
        "trades_per_min": round(len(sizes) / (spec.duration_s / 60), 2),
        "informed_share": round(flow.volume["informed"] / volume, 3) if volume else 0.0,
        "taker_return_pct": round(100 * won / paid, 3) if paid else 0.0,
    }


def naive_markout_c(name: str, seed: int, **overrides: float) -> float:
    """Cents per contract the symmetric baseline's fills are worth 60 s later (closed loop)."""
    from research import runner  # runner imports the backtester; facts alone need not

    result = runner.run_scenario(name, seed, overrides=runner.BASELINE,
                                 scenario_overrides=overrides)
    summ = runner.summary(result)
    volume = sum(f.size for r in result.markets.values() for f in r.fills) / SIZE_SCALE
    return round(summ["markout_60s_usd"] / volume * 100, 3) if volume else 0.0


def table(names: list[str], seeds: range, *, naive: bool = True) -> list[dict[str, Any]]:
    """Mean facts per scenario over `seeds` (the calibration table)."""
    rows = []
    for name in names:
        runs = [facts(name, s) | ({"naive_markout_c": naive_markout_c(name, s)} if naive else {})
                for s in seeds]
        rows.append({"scenario": name, "kind": KIND.get(name, "")} | {
            k: round(statistics.fmean(r[k] for r in runs), 3) for k in FACTS if k in runs[0]})
    return rows


def outside(row: dict[str, Any]) -> list[str]:
    """The facts of a `table` row outside their published range, described."""
    kind = row.get("kind", "")
    if kind not in PUBLISHED:
        return [f"{row['scenario']}: no published ranges for kind {kind!r}; add the scenario "
                f"to research/facts.py KIND ({', '.join(PUBLISHED)})"]
    out = []
    for fact, ((low, high), source) in PUBLISHED[kind].items():
        if not low <= row[fact] <= high:
            out.append(f"{row['scenario']}: {fact} {row[fact]} outside [{low}, {high}] "
                       f"({source})")
    return out
