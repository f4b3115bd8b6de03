"""Named synthetic markets, each reproducible from a seed (the mechanics: research/flow.py).

Scenarios: `calm` (quiet random walk), `trending` (steady drift the makers lag), `news_jump`
(rare large jumps), `resolution` (the market resolves at the end: the truth converges to 0 or
1 and the engine's resolution handling is exercised), `toxic_flow` (frequent informed takers),
`adversarial` (frequent jumps the makers follow fast, and snipers 20 ms behind that go for
whichever of our quotes lags the truth), `underlying` (a market on a price traded elsewhere:
its reference feed moves with the truth at once, the makers follow it over seconds, and
snipers go for our quotes that lag; the one scenario where lead-lag has something to see).

`generate` is the market without us (open loop): what a recording of it holds. A backtest of
a scenario (research/runner.py `run_scenario`) plays in it closed loop: our quotes are in
the book the takers sweep and the makers overbid, and the informed takers treat our quotes
like the makers'. The snipers (`sniper_*`, research/sniper.py; toxic_flow and adversarial)
are the extra: they look only at our resting quotes and go for the one that lags most.
"""

from __future__ import annotations

from collections.abc import Iterator

import msgspec

from research.flow import REFERENCE_FEED, START_NS, Flow, OwnBook, ScenarioSpec, Tick
from common.prices import PRICE_SCALE, SIZE_SCALE
from research.sniper import SniperSpec
from strategy.rewards import Programme

__all__ = ["SCENARIOS", "START_NS", "ScenarioSpec", "Tick", "generate", "reference_of",
           "resolves_at_ns", "reward_of", "sniper_of", "spec"]


SCENARIOS: dict[str, ScenarioSpec] = {
    "calm": ScenarioSpec(name="calm"),
    "trending": ScenarioSpec(name="trending", start=0.3, drift=0.004, maker_lag=0.01),
    "news_jump": ScenarioSpec(name="news_jump", jump_rate_hz=1 / 120, jump_size=0.15),
    "resolution": ScenarioSpec(
        name="resolution", start=0.6, resolves=True, volatility=0.05, maker_half_spread=0.04,
        noise_rate_hz=0.3),
    "toxic_flow": ScenarioSpec(
        name="toxic_flow", informed_rate_hz=0.6, informed_size=80.0, volatility=0.06,
        noise_rate_hz=0.1, sniper_rate_hz=3.0, sniper_edge=0.0, sniper_size=80.0),
    "adversarial": ScenarioSpec(
        name="adversarial", jump_rate_hz=1 / 30, jump_size=0.06, maker_lag=0.3, volatility=0.05,
        sniper_rate_hz=5.0, sniper_edge=0.005, sniper_size=60.0, sniper_latency_ms=20),
    "underlying": ScenarioSpec(
        name="underlying", volatility=0.05, jump_rate_hz=1 / 60, jump_size=0.06,
        sniper_rate_hz=3.0, sniper_edge=0.005, sniper_size=40.0, reference_hz=10.0),
}


def spec(name: str, **overrides: float) -> ScenarioSpec:
    """The named scenario, with fields overridden (e.g. duration_s=60)."""
    try:
        base = SCENARIOS[name]
    except KeyError:
        from common.errors import ConfigError

        raise ConfigError(
            f"unknown scenario {name!r}; choose one of {', '.join(SCENARIOS)}") from None
    return msgspec.structs.replace(base, **overrides)


def reference_of(s: ScenarioSpec) -> str:
    """The scenario's reference feed (MarketInfo.reference), "" without one."""
    return REFERENCE_FEED if s.reference_hz > 0 else ""


def sniper_of(s: ScenarioSpec) -> SniperSpec | None:
    """The scenario's snipers, or None when it has none."""
    if s.sniper_rate_hz <= 0:
        return None
    return SniperSpec(rate_hz=s.sniper_rate_hz, edge=s.sniper_edge, size=s.sniper_size,
                      latency_ms=s.sniper_latency_ms)


def reward_of(s: ScenarioSpec) -> Programme | None:
    """The scenario's liquidity reward programme (None: it has none)."""
    if s.reward_daily_usd <= 0:
        return None
    return Programme(max_spread=round(s.reward_max_spread * PRICE_SCALE),
                     min_size=round(s.reward_min_size * SIZE_SCALE), daily_usd=s.reward_daily_usd)


def resolves_at_ns(s: ScenarioSpec) -> int | None:
    return START_NS + int(s.resolve_lead_s * 1e9) if s.resolves else None


def generate(s: ScenarioSpec, seed: int, own: OwnBook | None = None) -> Iterator[Tick]:
    """Yield the scenario's market data in time order; the same (spec, seed) gives the same
    stream, bit for bit. With `own`, closed loop: our orders are in the book (flow.py)."""
    return iter(Flow(s, seed, own))
