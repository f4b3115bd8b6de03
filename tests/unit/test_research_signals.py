"""The backtest proof of issue 5, fast: signals on lose less to adverse selection than off.

Re-measured with issue 17's round-1 candidate (CANDIDATE below; ARCHITECTURE.md "Default
parameters") in its closed-loop market, on the martingale truth (README "Signals", seeds
1-20, 600 s): on toxic_flow the 60 s markout went from -114.96 to +26.57 USD with signals
on and the edge at the fill from -91.61 to +44.13; with the volatility widening off
(`vol_mult = 0`, the signals the only defence) the loss on picked-off fills went from
-3436.81 to -521.07. Each holds on seeds 1-4 too, asserted here. (On news_jump they cost
markout, 113.64 -> 74.28: they pull through the sweeps after a jump. That is why they ship
off; it is measured in the README, not asserted.)
"""

from __future__ import annotations

from research import runner
from research.backtest import BacktestParams
from research.compare import measure

SEEDS = (1, 2, 3, 4)
CANDIDATE = {"spread": 0.015, "vol_mult": 0.75, "skew": 0.0, "fv_method": "mid_price",
             "inventory_widen": 0.0}


def _total(scenario: str, signals: str, key: str, overrides: dict[str, object]) -> float:
    return sum(
        measure(runner.run_scenario(scenario, seed, overrides=overrides,
                                    params=BacktestParams(signals=signals)))[key]
        for seed in SEEDS)


def test_toxic_flow_markout_better_with_signals_at_the_candidate_defaults() -> None:
    off = _total("toxic_flow", "off", "markout_60s", CANDIDATE)
    on = _total("toxic_flow", "on", "markout_60s", CANDIDATE)
    assert on > off, (on, off)


def test_toxic_flow_edge_at_the_fill_better_with_signals() -> None:
    off = _total("toxic_flow", "off", "edge_0s", CANDIDATE)
    on = _total("toxic_flow", "on", "edge_0s", CANDIDATE)
    assert on > off, (on, off)


def test_toxic_flow_picked_off_loss_smaller_with_signals_as_the_only_defence() -> None:
    off = _total("toxic_flow", "off", "adverse_60s", {"vol_mult": 0.0})
    on = _total("toxic_flow", "on", "adverse_60s", {"vol_mult": 0.0})
    assert on > off, (on, off)
