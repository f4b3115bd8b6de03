"""The synthetic market's decisions, one model for the research market (research/flow.py)
and the venue simulator's flow (services/venue_sim/flow.py), so a strategy meets the same
market in a backtest and against the simulator (issue 17).

- `Truth`: a hidden probability walking in logit space (drift, volatility, jumps; optionally
  converging to its outcome), a martingale without drift and convergence, and the makers'
  lagging view of it.
- `Makers`: where the background makers' ladder sits: around their view at a half-spread
  that widens after informed trades take their levels (`hit`, decaying), overbidding the
  best quotes of others they last looked at (`compete_hz`), never closer to their view
  than `compete_edge` and never crossing.
- `Takers`: the draws of noise traders (Poisson arrivals, lognormal sizes) and informed
  traders (arrivals, and the limits past which a quote is mispriced against the truth).

Each part draws from its own seeded stream (`streams`), so what our orders change in one
part (a level the makers skip, an overbid) never shifts another's draws: with and without
our quotes, the truth and the takers' arrivals are the same path. Each host keeps its own
book: research/flow.py a dictionary of levels beside our paper orders, the simulator its
matching engine.
"""

from __future__ import annotations

import math
import random
from typing import NamedTuple

from common.market_params import FlowParams
from common.prices import PRICE_SCALE, SIZE_SCALE, snap_down, snap_up

__all__ = ["Makers", "Streams", "Takers", "Truth", "streams"]


class Streams(NamedTuple):
    truth: random.Random
    takers: random.Random
    rivals: random.Random
    """The makers' looks at others' quotes."""
    jitter: random.Random
    """Sizes other makers add or cancel at a level (the research book only)."""


def streams(key: str) -> Streams:
    """Independent seeded streams for one market; `key` names the market and the seed."""
    return Streams(*(random.Random(f"{key}:{part}") for part in Streams._fields))


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _expit(x: float) -> float:
    return 1 / (1 + math.exp(-x))


class Truth:
    """The hidden probability `p` and the makers' view of it, one step at a time."""

    __slots__ = ("drift", "hi", "jump_rate_hz", "jump_size", "lag", "lo", "outcome", "p",
                 "rng", "view", "volatility")

    def __init__(self, rng: random.Random, *, start: float, volatility: float, lag: float,
                 drift: float = 0.0, jump_rate_hz: float = 0.0, jump_size: float = 0.0,
                 lo: float = 0.02, hi: float = 0.98) -> None:
        if not lo < hi:
            raise ValueError(f"the truth's band needs lo < hi, got [{lo}, {hi}]")
        self.rng = rng
        self.drift, self.volatility, self.lag = drift, volatility, lag
        self.jump_rate_hz, self.jump_size = jump_rate_hz, jump_size
        self.lo, self.hi = lo, hi
        self.outcome = 1.0 if rng.random() < start else 0.0
        """Where the truth goes when it converges (`step(converge=...)`)."""
        self.p = self.view = start

    def step(self, dt: float, *, converge: float | None = None) -> float:
        """Walk `dt` seconds; `converge` steps left to close on the outcome (1/8 of the gap
        per eight steps left). Returns the new truth.

        Without `drift` and `converge` the truth is a martingale, as a probability must be
        (a position marked at it has no expected gain or loss):

        - the walk is in the logit of where the truth sits inside its band `[lo, hi]`, so
          it never leaves the band and is never clipped (a clip at a bound takes away only
          the moves past it: a drift back towards the middle);
        - the walk carries the Ito correction `(u - 1/2) sigma^2` (`u` that position in the
          band), without which the truth would drift back towards the middle too;
        - a jump goes up by `up` with probability `down / (up + down)`, down by `down`
          otherwise, each at most `jump_size` and half the room to its bound, so near a
          bound a jump is smaller and likelier towards the room, and its mean is zero."""
        rng = self.rng
        lo, width, sigma = self.lo, self.hi - self.lo, self.volatility
        u = min(max((self.p - lo) / width, 1e-9), 1 - 1e-9)
        x = (_logit(u) + (self.drift + (u - 0.5) * sigma * sigma) * dt
             + sigma * math.sqrt(dt) * rng.gauss(0.0, 1.0))
        p = lo + width * _expit(x)
        if rng.random() < self.jump_rate_hz * dt:
            up = min(self.jump_size, (self.hi - p) / 2)
            down = min(self.jump_size, (p - lo) / 2)
            draw = rng.random()
            if up + down > 0:
                p += up if draw < down / (up + down) else -down
        if converge is not None:
            p += (self.outcome - p) / max(converge / 8, 1.0)
        return self.follow(p)

    def follow(self, p: float) -> float:
        """Set the truth (a market that follows a reference feed) and move the view."""
        self.p = min(self.hi, max(self.lo, p))
        self.view += self.lag * (self.p - self.view)
        return self.p


class Makers:
    """Where the background makers' best bid and ask sit (YES pips), step by step."""

    __slots__ = ("alarm", "compete_edge", "compete_hz", "decay", "dt", "half_spread", "pull",
                 "rng", "seen", "tick")

    def __init__(self, rng: random.Random, *, half_spread: float, tick: int, dt: float,
                 compete_hz: float = 0.0, compete_edge: float = 0.005, pull: float = 0.0,
                 pull_decay_s: float = 10.0) -> None:
        self.rng = rng
        self.half_spread, self.tick, self.dt = half_spread, tick, dt
        self.compete_hz, self.compete_edge, self.pull = compete_hz, compete_edge, pull
        self.decay = math.exp(-dt / pull_decay_s) if pull_decay_s > 0 else 0.0
        self.alarm = 0.0
        """Widening of the half-spread (a multiple of it) after informed hits, decaying."""
        self.seen: tuple[int | None, int | None] = (None, None)
        """Others' best bid and ask when the makers last looked."""

    @classmethod
    def of(cls, p: FlowParams, rng: random.Random, *, tick: int) -> Makers:
        """The makers `p` describes, on a `tick` price grid."""
        return cls(rng, half_spread=p.maker_half_spread, tick=tick, dt=p.step_ms / 1000,
                   compete_hz=p.compete_hz, compete_edge=p.compete_edge, pull=p.maker_pull,
                   pull_decay_s=p.maker_pull_decay_s)

    def age(self) -> None:
        """One step passes: the alarm decays."""
        self.alarm *= self.decay

    def hit(self, levels: int) -> None:
        """Informed traders took `levels` price levels from the makers: widen."""
        self.alarm += self.pull * levels

    def tops(self, view: float, others: tuple[int | None, int | None] | None = None,
             ) -> tuple[int, int]:
        """The makers' best bid and ask now. `others`: the best bid and ask of everyone else's resting quotes (ours), or None
        when the makers cannot see any."""
        tick = self.tick
        half = self.half_spread * (1 + self.alarm)
        top_bid = round((view - half) * PRICE_SCALE / tick) * tick  # the nearest tick: a
        top_ask = round((view + half) * PRICE_SCALE / tick) * tick  # one-tick spread can happen
        if others is not None and self.compete_hz > 0:
            top_bid, top_ask = self._compete(view, top_bid, top_ask, others)
        top_bid = min(max(top_bid, tick), PRICE_SCALE - 2 * tick)
        top_ask = max(min(top_ask, PRICE_SCALE - tick), top_bid + tick)
        return top_bid, top_ask

    def _compete(self, view: float, top_bid: int, top_ask: int,
                 others: tuple[int | None, int | None]) -> tuple[int, int]:
        tick = self.tick
        if self.rng.random() < 1 - math.exp(-self.compete_hz * self.dt):
            self.seen = others
        seen_bid, seen_ask = self.seen
        now_bid, now_ask = others
        if seen_bid is not None and seen_bid >= top_bid:
            cap = snap_down(round((view - self.compete_edge) * PRICE_SCALE), tick)
            if now_ask is not None:
                cap = min(cap, now_ask - tick)
            top_bid = max(top_bid, min(seen_bid + tick, cap))
        if seen_ask is not None and seen_ask <= top_ask:
            cap = snap_up(round((view + self.compete_edge) * PRICE_SCALE), tick)
            if now_bid is not None:
                cap = max(cap, now_bid + tick)
            top_ask = min(top_ask, max(seen_ask - tick, cap))
        return top_bid, top_ask

    def ladder(self, top_bid: int, top_ask: int, levels: int) -> tuple[list[int], list[int]]:
        """The ladder's bid and ask prices, best first, on the price grid."""
        tick = self.tick
        bids = [top_bid - i * tick for i in range(levels) if top_bid - i * tick >= tick]
        asks = [top_ask + i * tick for i in range(levels)
                if top_ask + i * tick <= PRICE_SCALE - tick]
        return bids, asks


class Takers:
    """What the takers do each step, drawn from one stream."""

    __slots__ = ("informed_edge", "informed_rate_hz", "informed_size", "min_size", "noise_cap",
                 "noise_rate_hz", "noise_sigma", "noise_size", "rng", "tick")

    def __init__(self, rng: random.Random, *, tick: int, min_size: int, noise_rate_hz: float,
                 noise_size: float, noise_sigma: float, noise_cap: float,
                 informed_rate_hz: float, informed_size: int, informed_edge: float) -> None:
        self.rng, self.tick, self.min_size = rng, tick, min_size
        self.noise_rate_hz, self.noise_size = noise_rate_hz, noise_size
        self.noise_sigma, self.noise_cap = noise_sigma, noise_cap
        self.informed_rate_hz, self.informed_size = informed_rate_hz, informed_size
        self.informed_edge = informed_edge

    @classmethod
    def of(cls, p: FlowParams, rng: random.Random, *, tick: int, min_size: int) -> Takers:
        """The takers `p` describes, in a market of that `tick` and `min_size`."""
        return cls(rng, tick=tick, min_size=min_size, noise_rate_hz=p.noise_rate_hz,
                   noise_size=p.noise_size * SIZE_SCALE, noise_sigma=p.noise_size_sigma,
                   noise_cap=p.noise_size_cap, informed_rate_hz=p.informed_rate_hz,
                   informed_size=max(round(p.informed_size * SIZE_SCALE), min_size),
                   informed_edge=p.informed_edge)

    def noise(self, dt: float, activity: float = 1.0) -> list[tuple[bool, int]]:
        """This step's noise trades: (buys YES, size in centi-contracts). Arrivals are the
        whole part of the expected count plus one with the remainder's probability; sizes
        are lognormal around `noise_size` (centi-contracts), capped at `noise_cap` medians."""
        rng = self.rng
        mean = self.noise_rate_hz * dt * activity
        count = int(mean) + (1 if rng.random() < mean - int(mean) else 0)
        out: list[tuple[bool, int]] = []
        for _ in range(count):
            draw = min(self.noise_cap, math.exp(self.noise_sigma * rng.gauss(0.0, 1.0)))
            size = max(self.min_size, round(self.noise_size * draw))
            out.append((rng.random() < 0.5, size))
        return out

    def informed(self, dt: float, truth: float) -> tuple[int, int, int] | None:
        """An informed trader this step: (highest YES price worth buying, lowest worth
        selling, size in centi-contracts), or None. They trade whichever side of the book
        is past the truth by `informed_edge`."""
        if self.rng.random() >= self.informed_rate_hz * dt:
            return None
        buy = snap_down(round((truth - self.informed_edge) * PRICE_SCALE), self.tick)
        sell = snap_up(round((truth + self.informed_edge) * PRICE_SCALE), self.tick)
        return buy, sell, self.informed_size
