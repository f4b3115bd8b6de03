"""Strategy configuration: [quoting], quote tiers and [[markets]] (re-exported by common.config)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from common.config_base import ConfigSection, Dollars, Fraction, PositiveMs
from common.prices import PRICE_SCALE, SIZE_SCALE
from common.signal_config import SignalsConfig

__all__ = ["MarketConfig", "QuoteTier", "QuotingConfig", "merge_quoting", "resolution_ns"]


class QuoteTier(ConfigSection, frozen=True):
    """One tier of a tiered ladder: its half-spread from the reservation price and its size."""

    spread: Annotated[float, Meta(gt=0, le=0.5)]
    size: Annotated[float, Meta(gt=0, le=1e7)]


class QuotingConfig(ConfigSection, frozen=True):
    """Strategy parameters. `spread`, `skew`, `skew_rounding`, `vol_mult`, `fv_method` and
    `inventory_widen` default to values chosen in the closed-loop research market (issue 17,
    ARCHITECTURE.md "Default parameters"); deploy/presets/habits.toml restores the
    operator's (shared/DESIGN.md). The rest follow DESIGN.md."""

    spread: Annotated[float, Meta(gt=0, le=0.5)] = 0.0175
    min_spread: Annotated[float, Meta(gt=0, le=0.5)] = 0.01
    max_spread: Annotated[float, Meta(gt=0, le=0.5)] = 0.10
    size: Annotated[float, Meta(gt=0, le=1e7)] = 50.0
    max_inventory: Annotated[float, Meta(gt=0, le=1e8)] = 500.0
    skew: Annotated[float, Meta(ge=0, le=10)] = 1.0
    skew_rounding: Literal["away", "none"] = "none"
    """How the heuristic engine applies `skew` (strategy/inventory.py): `away`, in whole
    ticks rounded away from zero (any inventory moves both sides at least a tick); `none`,
    the exact shift, which the ladder's own snapping turns into ticks side by side (a shift
    under a tick moves the side nearest its tick boundary first)."""
    vol_mult: Annotated[float, Meta(ge=0, le=1000)] = 1.0
    alpha: Annotated[float, Meta(gt=0, le=1)] = 0.3
    fv_method: Literal[
        "mid_price", "weighted_mid", "vwap", "ema", "microprice", "threshold"
    ] = "mid_price"
    interval_ms: PositiveMs = 5000
    threshold: Annotated[float, Meta(ge=0, le=0.5)] = 0.01
    max_orders: Annotated[int, Meta(ge=1, le=20)] = 1
    level_spacing: Annotated[float, Meta(ge=0, le=0.5)] = 0.0
    level_decay: Annotated[float, Meta(gt=0, le=1)] = 0.5
    max_quote_age_ms: PositiveMs = 30_000
    # --- quoting engine (issue 4; strategy/*, ARCHITECTURE.md "Quoting engine") ---
    model: Literal["heuristic", "avellaneda_stoikov", "symmetric"] = "heuristic"
    """`symmetric` is the baseline every comparison is made against (issue 17): one level
    each side at `spread` around the mid, `size` contracts (within `max_inventory`), no
    skew, no widening, no signals, no exit orders."""
    reward_reach: Annotated[float, Meta(ge=0, le=0.1)] = 0.0
    """Where the venue pays liquidity rewards (a Polymarket programme, strategy/rewards.py):
    how far (dollars) a side that does not score may move its best level in, into the
    band, raising it to the min size within the side's room. Never across the book, never
    on a side a signal widened. 0 = off."""
    vwap_window_ms: PositiveMs = 60_000
    vwap_max_trades: Annotated[int, Meta(ge=1, le=10_000)] = 200
    vol_alpha: Annotated[float, Meta(gt=0, le=1)] = 0.1
    vol_sample_ms: Annotated[int, Meta(ge=0, le=3_600_000)] = 30_000
    """The second volatility estimator samples the mid this often (strategy/volatility.py):
    a lagging mid's moves over longer spans track the value's; 0 = every update."""
    resolution_widen_window_s: Annotated[float, Meta(ge=0, le=1e8)] = 86_400.0
    resolution_widen: Annotated[float, Meta(ge=0, le=100)] = 1.0
    liquidity_min_depth: Annotated[float, Meta(ge=0, le=1e8)] = 50.0
    liquidity_widen: Annotated[float, Meta(ge=0, le=100)] = 1.0
    inventory_widen_threshold: Fraction = 0.5
    inventory_widen: Annotated[float, Meta(ge=0, le=100)] = 0.0
    moderate_threshold: Fraction = 0.5
    aggressive_threshold: Fraction = 0.8
    moderate_add_factor: Fraction = 0.5
    moderate_reduce_factor: Annotated[float, Meta(ge=1, le=10)] = 1.5
    aggressive_add_factor: Fraction = 0.25
    aggressive_reduce_factor: Annotated[float, Meta(ge=1, le=10)] = 2.0
    tiers: tuple[QuoteTier, ...] = ()
    gamma: Annotated[float, Meta(gt=0, le=100)] = 0.1
    order_intensity: Annotated[float, Meta(gt=0, le=1e6)] = 100.0
    """A-S's k (per dollar) until the market's trades give an estimate (strategy/
    intensity.py), or always with `intensity_window_s = 0`."""
    intensity_window_s: Annotated[float, Meta(ge=0, le=1e7)] = 900.0
    """How long the trade-arrival estimate remembers (its decay time); 0 = never estimate."""
    horizon_s: Annotated[float, Meta(gt=0, le=1e9)] = 3600.0
    stop_adding_window_s: Annotated[float, Meta(ge=0, le=1e8)] = 3600.0
    exit_window_s: Annotated[float, Meta(ge=0, le=1e8)] = 900.0
    exit_threshold: Fraction = 0.2
    # --- informed-flow signals (issue 5; common/signal_config.py, strategy/signals/) ---
    signals: SignalsConfig = SignalsConfig()


class MarketConfig(ConfigSection, frozen=True):
    """One binary event on one venue."""

    id: Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
    venue: Literal["polymarket", "kalshi"]
    venue_market: Annotated[str, Meta(min_length=1)]
    yes_token: str = ""
    no_token: str = ""
    tick: Annotated[float, Meta(ge=0.0001, le=0.1)] = 0.01
    min_size: Annotated[float, Meta(ge=0, le=1e6)] = 5.0
    neg_risk: bool = False
    name: str = ""
    max_position_usd: Dollars = 1000.0
    max_loss_usd: Dollars = 100.0
    sim_start_probability: Annotated[float, Meta(gt=0, lt=1)] = 0.5
    quoting: dict[str, Any] = {}
    resolves_at: str | float = ""
    """When the market resolves: ISO-8601 ("2026-12-31T23:00:00Z") or unix seconds; "" unknown."""
    event: str = ""
    """The real-world event this market prices; markets sharing it (across venues) share the
    per-event limit and self-cross prevention. "" = the market is its own event."""
    reference: str = ""
    """Name of an external reference price feed (ReferencePrice.feed) this market follows
    (lead-lag, threshold fair value); "" none."""
    strike: Annotated[float, Meta(ge=0)] = 0.0
    """For threshold markets ("will X be above K at resolution"): K in the reference's
    units; 0 = not a threshold market."""

    def __post_init__(self) -> None:
        if self.resolves_at != "" and self.resolves_at_ns is None:
            raise ValueError(
                f"resolves_at {self.resolves_at!r} is neither ISO-8601 "
                "(2026-12-31T23:00:00Z) nor unix seconds"
            )

    @property
    def resolves_at_ns(self) -> int | None:
        """Resolution time in unix nanoseconds, or None when unknown or unparseable."""
        return resolution_ns(self.resolves_at)

    @property
    def tick_pips(self) -> int:
        return round(self.tick * PRICE_SCALE)

    @property
    def min_size_centi(self) -> int:
        return round(self.min_size * SIZE_SCALE)


def merge_quoting(base: QuotingConfig, overrides: dict[str, Any]) -> dict[str, Any]:
    """`base` as plain data with `overrides` on top; nested tables (`signals`) merge key by
    key, so a market overriding one signal parameter keeps the [quoting] values of the rest."""

    def deep(into: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
        out = dict(into)
        for key, value in over.items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = deep(out[key], value)
            else:
                out[key] = value
        return out

    return deep(msgspec.to_builtins(base), dict(overrides))


def resolution_ns(value: str | float) -> int | None:
    """Parse a resolution time (ISO-8601 string, or unix seconds) to unix ns; None if absent."""
    if isinstance(value, int | float):
        return int(value * 1_000_000_000) if value > 0 else None
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp()) * 1_000_000_000 + when.microsecond * 1000
