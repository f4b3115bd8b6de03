"""The synthetic market's mechanics: a hidden truth, background makers, takers, and (when a
backtest plays in it) our own resting orders as part of the book they trade against.

A hidden true probability walks in logit space (drift, volatility, jumps). Background
makers quote a ladder around a lagging view of it. Noise traders sweep the best levels at
random sizes; informed traders take whatever is priced past the truth by their edge.

**Open loop** (`own=None`): the market never sees us. That is what a recording is (the
market as it was, without our orders), and what `write_scenario` writes.

**Closed loop** (`own` given, what `run_scenario` uses): our resting orders are part of the
book, so the market fights back (issue 17):

- Takers sweep the combined book best price first. Where we are the better price we fill
  first; at an equal price the queue decides (the makers ahead of us, then us, then the
  makers behind). Whatever filled us is not taken from the makers, so our fills consume
  liquidity the taker would otherwise have taken from them.
- Informed traders trade against our stale quotes as much as the makers' (they take any
  price past the truth by their edge).
- The makers compete: each `compete_hz` on average they look at our best quotes, and a
  quote of ours at or inside their best is overbid by a tick, as long as that keeps them
  `compete_edge` from their view and does not cross our other side; they keep that price
  until their next look. Between looks, our quote owns the flow.
- The makers pull on toxicity: every price level an informed sweep takes from them widens
  their half-spread by `maker_pull` (times their half-spread), decaying with
  `maker_pull_decay_s`.
- A level the takers emptied refills over `refill_s` rather than at once.
- When the makers' view moves past a stale quote of ours, their new best takes it at our
  price (printed) rather than resting crossed with it.

The published book is the makers' (our orders are not in it, as common/fillmodel.py
assumes for every source of market data), and every trade is printed at its price and size,
ours included, as the venue prints it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from common.messages import BookSnapshot, Level, MarketData, ReferencePrice, TradePrint
from common.market_model import Makers, Takers, Truth, streams
from common.market_params import FlowParams
from common.prices import PRICE_SCALE, SIZE_SCALE

__all__ = ["REFERENCE_BASE", "REFERENCE_FEED", "START_NS", "TRUE_MAX", "TRUE_MIN", "Flow", "OwnBook",
           "ScenarioSpec", "Tick", "underlying"]

START_NS = 1_767_225_600 * 1_000_000_000
"""Synthetic time starts at 2026-01-01T00:00:00Z (unix ns), the same for every run."""
TRUE_MIN, TRUE_MAX = 0.02, 0.98
REFERENCE_FEED = "underlying"
"""The feed name of a scenario's reference (MarketInfo.reference of its market)."""
REFERENCE_BASE = 100_000.0
"""The underlying's price when the truth is in the middle of its band."""


class ScenarioSpec(FlowParams, frozen=True, kw_only=True):
    """Everything that shapes one synthetic market: the model's parameters
    (common/market_params.py, with the research market's defaults) and the scenario's own."""

    name: str
    duration_s: float = 600.0
    start: float = 0.5
    drift: float = 0.0
    jump_rate_hz: float = 0.0
    """Jumps of the truth per second (at most `jump_size` each)."""
    resolves: bool = False
    """True: the truth converges to the outcome over the last quarter, and the engine is told
    the market resolves `resolve_lead_s` after the start (default: halfway through the data
    it enters its stop-adding window of 3600 s)."""
    resolve_lead_s: float = 3900.0
    sniper_rate_hz: float = 0.0
    """Informed takers per second who look only at OUR quotes and go for the one that lags
    (research/sniper.py); 0: none. The informed traders above already trade against our
    quotes as much as the makers' (the book they sweep holds both)."""
    sniper_edge: float = 0.01
    sniper_size: float = 40.0
    sniper_latency_ms: int = 50
    reference_hz: float = 0.0
    """Readings per second of the market's underlying (a crypto price, say), published on
    feed `REFERENCE_FEED`: it moves with the truth at once, the makers follow it with their
    lag (what lead-lag exploits); 0: the market has no reference."""
    reference_scale: float = 0.05
    """Log-price of the underlying per unit of the truth's logit within its band."""
    tick: int = 100
    min_size: int = 500
    market: str = "sim-1"
    venue: str = "polymarket"
    reward_daily_usd: float = 100.0
    """The market's liquidity reward pool a day (Polymarket's formula, strategy/rewards.py;
    the backtest counts our share, research/backtest.py); 0: no programme."""
    reward_max_spread: float = 0.03
    """Dollars from the adjusted midpoint within which orders score."""
    reward_min_size: float = 20.0
    """Contracts an order needs to score."""


@dataclass(frozen=True, slots=True)
class Tick:
    """One market-data event with the true probability at that moment (pips, float)."""

    ts_ns: int
    msg: MarketData
    true_price: float


class OwnBook(Protocol):
    """Our resting orders on the market, as the closed-loop market trades against them
    (the backtester's paper venue)."""

    def at(self, ts_ns: int) -> None:
        """Bring our orders up to `ts_ns` (ladders that have arrived by then rest)."""

    def best(self, yes_bid: bool) -> int | None:
        """Our best price on a side (highest bid, lowest ask), None without an order."""

    def size_at(self, yes_bid: bool, price: int) -> int:
        """Our remaining size at `price` on a side."""

    def trade(self, ts_ns: int, price: int, size: int, aggressor_buy: bool, makers: int) -> int:
        """A taker trades `size` at `price` against us and the `makers` resting there now
        (no more of them can be ahead of us than that); the queue decides our share.
        Returns the size that filled us."""


class Flow:
    """One synthetic market, step by step; iterate it for its ticks. The same spec, seed
    and (closed loop) quotes give the same stream, bit for bit. The decisions (truth, the
    makers' tops, the takers' draws) are common/market_model.py's, each on its own stream:
    our quotes change what the makers do, never the truth path or the takers' arrivals."""

    def __init__(self, s: ScenarioSpec, seed: int, own: OwnBook | None = None) -> None:
        self.s = s
        self.own = own
        self.dt = s.step_ms / 1000
        rngs = streams(f"{s.name}:{seed}")
        self.jitter = rngs.jitter
        self.truth = Truth(rngs.truth, start=s.start, volatility=s.volatility, lag=s.maker_lag,
                           drift=s.drift, jump_rate_hz=s.jump_rate_hz, jump_size=s.jump_size,
                           lo=TRUE_MIN, hi=TRUE_MAX)
        self.makers = Makers.of(s, rngs.rivals, tick=s.tick)
        self.takers = Takers.of(s, rngs.takers, tick=s.tick, min_size=s.min_size)
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.eaten: set[tuple[bool, int]] = set()
        """(bid side, price) of levels takers ate into, refilling over `refill_s`."""
        self.base = round(s.maker_size * SIZE_SCALE)
        self.volume = {"noise": 0, "informed": 0}
        """Centi-contracts traded by each kind of taker so far (research/facts.py)."""

    def __iter__(self) -> Iterator[Tick]:
        s, dt, own = self.s, self.dt, self.own
        steps = int(s.duration_s * 1000 / s.step_ms)
        every = max(1, round(1000 / (s.reference_hz * s.step_ms))) if s.reference_hz > 0 else 0
        seq = 0
        for k in range(steps):
            ts = START_NS + k * s.step_ms * 1_000_000
            if own is not None:
                own.at(ts)
            # the truth converges to the outcome over the last quarter
            converge = steps - k if s.resolves and k > steps * 3 // 4 else None
            p = self.truth.step(dt, converge=converge)
            if every and k % every == 0:  # the underlying moves first
                ref = ReferencePrice(feed=REFERENCE_FEED, ts_ns=ts,
                                     price=underlying(p, s.reference_scale))
                yield Tick(ts, ref, p * PRICE_SCALE)
            self.makers.age()
            trades: list[TradePrint] = self._make(ts, self.truth.view)
            for buy, size in self.takers.noise(dt):
                best = self._best(buy)
                if best is not None:  # at most `noise_slippage` ticks through the touch
                    slip = s.noise_slippage * s.tick
                    trades += self._take(ts, buy, size, best + slip if buy else best - slip)
            informed = self.takers.informed(dt, p)
            if informed is not None:
                buy_limit, sell_limit, size = informed
                ask, bid = self._best(True), self._best(False)
                if ask is not None and ask <= buy_limit:
                    trades += self._take(ts, True, size, buy_limit, informed=True)
                elif bid is not None and bid >= sell_limit:
                    trades += self._take(ts, False, size, sell_limit, informed=True)
            truth = p * PRICE_SCALE
            for t in trades:
                yield Tick(ts, t, truth)
            seq += 1
            yield Tick(ts + 1, self._snapshot(ts, seq), truth)

    # --- the makers' book -------------------------------------------------------------------

    def _make(self, ts: int, view: float) -> list[TradePrint]:
        """Move the makers' ladder to their view (wider after informed hits, over our quotes
        when they compete), refill emptied levels, jitter sizes. Our quotes the new ladder
        crosses, the makers take (printed): they would not rest a bid above our ask."""
        s, own = self.s, self.own
        others = (own.best(True), own.best(False)) if own is not None else None
        top_bid, top_ask = self.makers.tops(view, others)
        prints = self._cross(ts, top_bid, top_ask) if own is not None else []
        want_b, want_a = self.makers.ladder(top_bid, top_ask, s.maker_levels)
        refill = self.base if s.refill_s <= 0 else max(1, round(self.base * self.dt / s.refill_s))
        rng, eaten = self.jitter, self.eaten
        for is_bid, side, want in ((True, self.bids, set(want_b)), (False, self.asks, set(want_a))):
            for price in [pr for pr in side if pr not in want]:
                del side[price]
                eaten.discard((is_bid, price))
            for price in sorted(want):
                if price not in side:
                    side[price] = self.base
                elif (is_bid, price) in eaten:  # takers ate into it: refilling
                    side[price] = min(self.base, side[price] + refill)
                    if side[price] >= self.base:
                        eaten.discard((is_bid, price))
                elif rng.random() < 0.05:  # someone adds or cancels at this level
                    side[price] = max(s.min_size, round(side[price] * (0.6 + 0.8 * rng.random())))
        return prints

    def _cross(self, ts: int, top_bid: int, top_ask: int) -> list[TradePrint]:
        """The makers' new tops take whatever of ours they cross, at our prices."""
        own = self.own
        assert own is not None
        out: list[TradePrint] = []
        for buy, limit in ((True, top_bid), (False, top_ask)):
            while True:
                ours = own.best(not buy)
                if ours is None or (ours > limit if buy else ours < limit):
                    break
                size = own.size_at(not buy, ours)
                got = own.trade(ts, ours, size, buy, 0)
                if got <= 0:
                    break
                out.append(self._print(ts, ours, got, buy))
        return out

    def _best(self, buy: bool) -> int | None:
        """The best price a taker on that side reaches: makers' and ours together."""
        side = self.asks if buy else self.bids
        live = [pr for pr, sz in side.items() if sz > 0]
        m = (min(live) if buy else max(live)) if live else None
        o = self.own.best(not buy) if self.own is not None else None
        if m is None or o is None:
            return m if o is None else o
        return min(m, o) if buy else max(m, o)

    # --- the takers -------------------------------------------------------------------------

    def _take(self, ts: int, buy: bool, size: int, limit: int | None, *,
              informed: bool = False) -> list[TradePrint]:
        """A taker sweeps the combined book up to `limit`; one print per price touched."""
        own = self.own
        side = self.asks if buy else self.bids
        out: list[TradePrint] = []
        while size > 0:
            best = self._best(buy)
            if best is None or (limit is not None and (best > limit if buy else best < limit)):
                break
            makers = side.get(best, 0)
            ours = own.size_at(not buy, best) if own is not None else 0
            qty = min(size, makers + ours)
            if qty <= 0:
                break
            got = own.trade(ts, best, qty, buy, makers) if own is not None and ours else 0
            out.append(self._print(ts, best, qty, buy))
            self.volume["informed" if informed else "noise"] += qty
            if best in side and qty > got:
                side[best] = max(0, makers - (qty - got))
                self.eaten.add((not buy, best))
                if informed:
                    self.makers.hit(1)
            size -= qty
        return out

    def _print(self, ts: int, price: int, size: int, buy: bool) -> TradePrint:
        s = self.s
        return TradePrint(
            venue=s.venue, market=s.market, ts_recv_ns=ts, ts_venue_ms=ts // 1_000_000,  # type: ignore[arg-type]
            price=price, size=size, side="BUY" if buy else "SELL")

    def _snapshot(self, ts: int, seq: int) -> BookSnapshot:
        s = self.s
        bids = sorted((pr for pr, sz in self.bids.items() if sz > 0), reverse=True)[:10]
        asks = sorted(pr for pr, sz in self.asks.items() if sz > 0)[:10]
        return BookSnapshot(
            venue=s.venue, market=s.market, seq=seq, ts_recv_ns=ts, ts_venue_ms=ts // 1_000_000,  # type: ignore[arg-type]
            tick=s.tick, min_size=s.min_size,
            bids=tuple(Level(pr, self.bids[pr]) for pr in bids),
            asks=tuple(Level(pr, self.asks[pr]) for pr in asks),
        )


def underlying(p: float, scale: float) -> float:
    """The underlying's price for truth `p`: log-linear in the logit of its place in the
    band, `REFERENCE_BASE` at the middle."""
    u = min(max((p - TRUE_MIN) / (TRUE_MAX - TRUE_MIN), 1e-9), 1 - 1e-9)
    return REFERENCE_BASE * math.exp(scale * math.log(u / (1 - u)))
