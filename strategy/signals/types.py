"""Plain data of the signals: per-signal state, one signal's effect, its reading, the action.

Frozen msgspec Structs like the rest of the engine's data (strategy/model.py), so
`EngineState` carries them and `engine.step` stays pure. This module imports nothing from
the engine, so model.py can import it without a cycle.
"""

from __future__ import annotations

from typing import Literal

from msgspec import Struct

__all__ = ["ACTIONS", "Combined", "Effect", "LagFit", "LeadLagState", "MomentumState", "NEUTRAL", "NONE",
    "QuoteAction", "RegimeState", "SignalReading", "SignalState", "ThresholdState",
    "ToxicityState", "VolSpikeState", "VolumeState"]

QuoteAction = Literal["both", "bid_only", "ask_only", "widen", "pull"]
"""One quote action per market: both sides as usual, one side only, both wider, or none."""

ACTIONS: tuple[QuoteAction, ...] = ("both", "bid_only", "ask_only", "widen", "pull")


class Effect(Struct, frozen=True, kw_only=True):
    """What one signal asks of the quotes. Factors are >= 1 (a signal never narrows);
    `fv_shift` moves fair value, in pips (positive: up)."""

    widen: float = 1.0
    widen_bid: float = 1.0
    widen_ask: float = 1.0
    pull_bid: bool = False
    pull_ask: bool = False
    fv_shift: float = 0.0


NONE = Effect()


class SignalReading(Struct, frozen=True, array_like=True):
    """One signal's reading for diagnostics and metrics: its value (units per signal,
    documented in its module), whether it acts on the quotes, and a short note of how."""

    name: str
    value: float
    active: bool
    note: str = ""


class Combined(Struct, frozen=True, kw_only=True):
    """Every effect folded into one: per-side widening, pulled sides, fair-value nudge."""

    action: QuoteAction = "both"
    widen_bid: float = 1.0
    widen_ask: float = 1.0
    pull_bid: bool = False
    pull_ask: bool = False
    fv_nudge: float = 0.0


NEUTRAL = Combined()


# --- per-signal state -------------------------------------------------------------------------


class VolSpikeState(Struct, frozen=True, kw_only=True):
    """Two variance-per-second estimators of the mid (fast, slow) and the cooldown end."""

    last: float | None = None
    last_ns: int = 0
    fast_sq: float = 0.0
    fast_dt_s: float = 0.0
    slow_sq: float = 0.0
    slow_dt_s: float = 0.0
    n: int = 0
    until_ns: int = 0


class MomentumState(Struct, frozen=True, kw_only=True):
    """Fast and slow time-constant EMAs of fair value (pips)."""

    fast: float | None = None
    slow: float | None = None
    last_ns: int = 0


class ToxicityState(Struct, frozen=True, kw_only=True):
    """The bucket being filled (buy, sell centi-contracts) and the closed ones as
    (end unix ns, buy, sell); the last trade price for the tick rule."""

    buy: int = 0
    sell: int = 0
    closed: tuple[tuple[int, int, int], ...] = ()
    last_price: int = 0
    last_side: int = 0


class VolumeState(Struct, frozen=True, kw_only=True):
    """Exponentially decaying sums of traded volume (contracts), fast and slow."""

    fast: float = 0.0
    slow: float = 0.0
    last_ns: int = 0
    first_ns: int = 0
    until_ns: int = 0


class RegimeState(Struct, frozen=True, kw_only=True):
    """Recent non-zero mid moves as (pips, seconds since the previous move), newest last."""

    last: float | None = None
    last_ns: int = 0
    moves: tuple[tuple[float, float], ...] = ()


class LagFit(Struct, frozen=True, kw_only=True):
    """One candidate lag: the EMA of the reference's log price with that time constant (what
    the book has absorbed), the learning sample anchor (that EMA, mid, time) and the
    regression sums of the book's moves on the EMA's."""

    lag_s: float
    ema_log: float | None = None
    anchor_log: float | None = None
    anchor_mid: float = 0.0
    anchor_ns: int = 0
    sxy: float = 0.0
    sxx: float = 0.0
    syy: float = 0.0
    n: int = 0


class LeadLagState(Struct, frozen=True, kw_only=True):
    """The last reading's time and one fit per candidate lag (one: the configured lag)."""

    last_ns: int = 0
    fits: tuple[LagFit, ...] = ()


class ThresholdState(Struct, frozen=True, kw_only=True):
    """Variance per second of the reference's log price, and the period strike."""

    last_log: float | None = None
    last_ns: int = 0
    sq: float = 0.0
    dt_s: float = 0.0
    n: int = 0
    period: int = -1
    period_strike: float = 0.0


class SignalState(Struct, frozen=True, kw_only=True):
    """Everything the signals remember about one market between steps."""

    last_mid: float | None = None
    vol_spike: VolSpikeState = VolSpikeState()
    momentum: MomentumState = MomentumState()
    toxicity: ToxicityState = ToxicityState()
    volume: VolumeState = VolumeState()
    regime: RegimeState = RegimeState()
    lead_lag: LeadLagState = LeadLagState()
    threshold: ThresholdState = ThresholdState()
