"""The backtest proof of issue 5, fast: signals on lose less to adverse selection than off.

Re-measured in issue 17's closed-loop market (README "Signals", seeds 1-20, 600 s): at the
defaults the 60 s markout was at least as high with signals on in 18 of 20 news_jump seeds
(6.65 -> 20.12 USD in all); on toxic_flow at `vol_mult = 1` the edge at the fill went from
-47.48 to +23.66 USD, and with the volatility widening off (`vol_mult = 0`, the signals the
only defence) the loss on picked-off fills from -1415.66 to -564.50. Each holds on seeds
1-4 too, asserted here (news_jump there only as "no worse": the default trades little).
"""

from __future__ import annotations

from research import runner
from research.backtest import BacktestParams
from research.compare import measure

SEEDS = (1, 2, 3, 4)


def _total(scenario: str, signals: str, key: str, overrides: dict[str, float]) -> float:
    return sum(
        measure(runner.run_scenario(scenario, seed, overrides=overrides,
                                    params=BacktestParams(signals=signals)))[key]
        for seed in SEEDS)


def test_news_jump_markout_with_signals_at_least_without() -> None:
    off = _total("news_jump", "off", "markout_60s", {})
    on = _total("news_jump", "on", "markout_60s", {})
    assert on >= off, (on, off)


def test_toxic_flow_edge_at_the_fill_better_with_signals() -> None:
    off = _total("toxic_flow", "off", "edge_0s", {"vol_mult": 1.0})
    on = _total("toxic_flow", "on", "edge_0s", {"vol_mult": 1.0})
    assert on > off, (on, off)


def test_toxic_flow_picked_off_loss_smaller_with_signals_as_the_only_defence() -> None:
    off = _total("toxic_flow", "off", "adverse_60s", {"vol_mult": 0.0})
    on = _total("toxic_flow", "on", "adverse_60s", {"vol_mult": 0.0})
    assert on > off, (on, off)
