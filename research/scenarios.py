"""Synthetic markets with named scenarios, each reproducible from a seed.

A hidden true probability walks in logit space (drift, volatility, jumps); background
makers quote a ladder around a lagging view of it; noise traders hit the best level at
random; informed traders trade when the book is off the true price by their edge. The
generator emits what ingest would publish - `BookSnapshot` and `TradePrint` in YES terms -
plus the true probability at every step, so the backtester can mark to the truth.

Ideas follow the venue simulator's flow (services/venue_sim/flow.py), reimplemented here
without a matching engine: a scenario is a plain stream of market data, so it can also be
written as a recording (`to_recording`) and replayed through the live stack.

Scenarios: `calm` (quiet random walk), `trending` (steady drift the makers lag), `news_jump`
(rare large jumps), `resolution` (the market resolves at the end: the truth converges to 0 or
1 and the engine's resolution handling is exercised), `toxic_flow` (frequent informed takers),
`adversarial` (frequent jumps the makers follow fast, and snipers 20 ms behind that go for
whichever of our quotes lags the truth).

The stream does not see us. The snipers (`sniper_*`, research/sniper.py) do: the
backtester runs them against our resting quotes, in every scenario, so a quote of ours that
lags the truth is picked off whether or not the background book lags too.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace

from common.messages import BookSnapshot, Level, MarketData, TradePrint
from common.prices import PRICE_SCALE, SIZE_SCALE, snap_down, snap_up
from research.sniper import SniperSpec

__all__ = ["SCENARIOS", "START_NS", "ScenarioSpec", "Tick", "generate", "resolves_at_ns",
           "sniper_of", "spec"]

START_NS = 1_767_225_600 * 1_000_000_000
"""Synthetic time starts at 2026-01-01T00:00:00Z (unix ns), the same for every run."""
TRUE_MIN, TRUE_MAX = 0.02, 0.98


@dataclass(frozen=True, slots=True)
class ScenarioSpec:
    """Everything that shapes one synthetic market. Rates are per second of market time."""

    name: str
    duration_s: float = 600.0
    step_ms: int = 100
    start: float = 0.5
    drift: float = 0.0
    volatility: float = 0.03
    jump_rate_hz: float = 0.0
    jump_size: float = 0.15
    maker_lag: float = 0.1
    maker_half_spread: float = 0.03
    maker_levels: int = 5
    maker_size: float = 150.0
    noise_rate_hz: float = 1.5
    noise_size: float = 25.0
    informed_rate_hz: float = 0.1
    informed_edge: float = 0.02
    informed_size: float = 40.0
    resolves: bool = False
    """True: the truth converges to the outcome over the last quarter, and the engine is told
    the market resolves `resolve_lead_s` after the start (default: halfway through the data
    it enters its stop-adding window of 3600 s)."""
    resolve_lead_s: float = 3900.0
    sniper_rate_hz: float = 1.0
    """Informed takers per second who look at OUR quotes (research/sniper.py); 0: none."""
    sniper_edge: float = 0.01
    sniper_size: float = 40.0
    sniper_latency_ms: int = 50
    tick: int = 100
    min_size: int = 500
    market: str = "sim-1"
    venue: str = "polymarket"


SCENARIOS: dict[str, ScenarioSpec] = {
    "calm": ScenarioSpec("calm"),
    "trending": ScenarioSpec("trending", start=0.3, drift=0.004, maker_lag=0.05),
    "news_jump": ScenarioSpec("news_jump", jump_rate_hz=1 / 120, jump_size=0.15, maker_lag=0.08),
    "resolution": ScenarioSpec("resolution", start=0.6, resolves=True, volatility=0.05,
                               maker_half_spread=0.06, noise_rate_hz=3.0),
    "toxic_flow": ScenarioSpec(
        "toxic_flow", informed_rate_hz=3.0, informed_edge=0.0, informed_size=80.0,
        maker_lag=0.02, volatility=0.1, noise_rate_hz=0.5, sniper_rate_hz=3.0, sniper_edge=0.0,
        sniper_size=80.0),
    "adversarial": ScenarioSpec(
        "adversarial", jump_rate_hz=1 / 30, jump_size=0.06, maker_lag=0.3, volatility=0.05,
        sniper_rate_hz=5.0, sniper_edge=0.005, sniper_size=60.0, sniper_latency_ms=20),
}


def spec(name: str, **overrides: float) -> ScenarioSpec:
    """The named scenario, with fields overridden (e.g. duration_s=60)."""
    try:
        base = SCENARIOS[name]
    except KeyError:
        from common.errors import ConfigError

        raise ConfigError(
            f"unknown scenario {name!r}; choose one of {', '.join(SCENARIOS)}") from None
    return replace(base, **overrides)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Tick:
    """One market-data event with the true probability at that moment (pips, float)."""

    ts_ns: int
    msg: MarketData
    true_price: float


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _expit(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def sniper_of(s: ScenarioSpec) -> SniperSpec | None:
    """The scenario's snipers, or None when it has none."""
    if s.sniper_rate_hz <= 0:
        return None
    return SniperSpec(rate_hz=s.sniper_rate_hz, edge=s.sniper_edge, size=s.sniper_size,
                      latency_ms=s.sniper_latency_ms)


def resolves_at_ns(s: ScenarioSpec) -> int | None:
    return START_NS + int(s.resolve_lead_s * 1e9) if s.resolves else None


def generate(s: ScenarioSpec, seed: int) -> Iterator[Tick]:
    """Yield the scenario's market data in time order; the same (spec, seed) gives the same
    stream, bit for bit."""
    rng = random.Random(f"{s.name}:{seed}")
    dt = s.step_ms / 1000
    steps = int(s.duration_s * 1000 / s.step_ms)
    outcome = 1.0 if rng.random() < s.start else 0.0
    p = view = s.start
    bids: dict[int, int] = {}
    asks: dict[int, int] = {}
    seq = 0
    tick = s.tick
    for k in range(steps):
        ts = START_NS + k * s.step_ms * 1_000_000
        x = _logit(p) + s.drift * dt + s.volatility * math.sqrt(dt) * rng.gauss(0.0, 1.0)
        p = _expit(x)
        if rng.random() < s.jump_rate_hz * dt:
            p += s.jump_size if rng.random() < 0.5 else -s.jump_size
        if s.resolves and k > steps * 3 // 4:  # converge to the outcome over the last quarter
            left = steps - k
            p += (outcome - p) / max(left / 8, 1.0)
        p = min(TRUE_MAX, max(TRUE_MIN, p))
        view += s.maker_lag * (p - view)
        _make(s, view, bids, asks, rng)
        trades: list[TradePrint] = []
        for _ in range(_poisson(rng, s.noise_rate_hz * dt)):
            size = round(s.noise_size * (0.5 + rng.random()) * SIZE_SCALE)
            trades += _take(s, ts, bids, asks, rng.random() < 0.5, size, None)
        if rng.random() < s.informed_rate_hz * dt:
            size = round(s.informed_size * SIZE_SCALE)
            buy_limit = snap_down(round((p - s.informed_edge) * PRICE_SCALE), tick)
            sell_limit = snap_up(round((p + s.informed_edge) * PRICE_SCALE), tick)
            if asks and min(asks) <= buy_limit:
                trades += _take(s, ts, bids, asks, True, size, buy_limit)
            elif bids and max(bids) >= sell_limit:
                trades += _take(s, ts, bids, asks, False, size, sell_limit)
        truth = p * PRICE_SCALE
        for t in trades:
            yield Tick(ts, t, truth)
        seq += 1
        book = BookSnapshot(
            venue=s.venue, market=s.market, seq=seq, ts_recv_ns=ts, ts_venue_ms=ts // 1_000_000,  # type: ignore[arg-type]
            tick=tick, min_size=s.min_size,
            bids=tuple(Level(pr, bids[pr]) for pr in sorted(bids, reverse=True)[:10]),
            asks=tuple(Level(pr, asks[pr]) for pr in sorted(asks)[:10]),
        )
        yield Tick(ts + 1, book, truth)


def _poisson(rng: random.Random, mean: float) -> int:
    n = int(mean)
    return n + (1 if rng.random() < mean - n else 0)


def _make(s: ScenarioSpec, view: float, bids: dict[int, int], asks: dict[int, int],
          rng: random.Random) -> None:
    """Move the makers' ladder to their view: drop stale levels, refill, jitter sizes."""
    tick = s.tick
    top_bid = snap_down(round((view - s.maker_half_spread) * PRICE_SCALE), tick)
    top_ask = snap_up(round((view + s.maker_half_spread) * PRICE_SCALE), tick)
    top_bid = min(max(top_bid, tick), PRICE_SCALE - 2 * tick)
    top_ask = max(min(top_ask, PRICE_SCALE - tick), top_bid + tick)
    want_b = {top_bid - i * tick for i in range(s.maker_levels) if top_bid - i * tick >= tick}
    want_a = {top_ask + i * tick for i in range(s.maker_levels)
              if top_ask + i * tick <= PRICE_SCALE - tick}
    base = round(s.maker_size * SIZE_SCALE)
    for side, want in ((bids, want_b), (asks, want_a)):
        for price in [pr for pr in side if pr not in want]:
            del side[price]
        for price in sorted(want):
            if price not in side:
                side[price] = base
            elif rng.random() < 0.05:  # someone adds or cancels at this level
                side[price] = max(s.min_size, round(side[price] * (0.6 + 0.8 * rng.random())))


def _take(s: ScenarioSpec, ts: int, bids: dict[int, int], asks: dict[int, int], buy: bool,
          size: int, limit: int | None) -> list[TradePrint]:
    """A taker sweeps the opposite side up to `limit`; one print per level touched."""
    side = asks if buy else bids
    out: list[TradePrint] = []
    while size > 0 and side:
        best = min(side) if buy else max(side)
        if limit is not None and (best > limit if buy else best < limit):
            break
        qty = min(size, side[best])
        out.append(TradePrint(
            venue=s.venue, market=s.market, ts_recv_ns=ts, ts_venue_ms=ts // 1_000_000,  # type: ignore[arg-type]
            price=best, size=qty, side="BUY" if buy else "SELL"))
        side[best] -= qty
        size -= qty
        if side[best] <= 0:
            del side[best]
    return out
