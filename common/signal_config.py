"""Configuration of the informed-flow signals (issue 5): `[quoting.signals]` and its tables.

Every signal has its own table with validated ranges and an `enabled` switch; `enabled` on
`[quoting.signals]` is the master switch. Per-market overrides nest like the rest of
`quoting`: `quoting = {signals = {enabled = true, vol_spike = {ratio = 4.0}}}` changes only
the named fields (common/config.py `Config.quoting_for` merges nested tables). The maths
each parameter feeds is documented in its module under strategy/signals/.

Units: dollars ($) for prices and price moves (0.01 = one cent), seconds for windows, plain
multipliers (>= 1) for widenings: a signal can widen or pull quotes, never narrow them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta

from common.config_base import ConfigSection, Fraction

__all__ = ["BookImbalanceConfig", "LeadLagConfig", "MomentumConfig", "Move", "PeriodConfig",
    "RegimeConfig", "ResolutionSignalConfig", "Seconds", "SignalsConfig", "ThresholdConfig",
    "ToxicityConfig", "VolSpikeConfig", "VolumeSpikeConfig", "Widen"]

Seconds = Annotated[float, Meta(gt=0, le=86_400)]
Widen = Annotated[float, Meta(ge=1, le=20)]
Move = Annotated[float, Meta(ge=0, le=1)]


class VolSpikeConfig(ConfigSection, frozen=True):
    """Short-window realised volatility of the mid against its baseline (vol_spike.py)."""

    enabled: bool = True
    fast_alpha: Annotated[float, Meta(gt=0, le=1)] = 0.3
    slow_alpha: Annotated[float, Meta(gt=0, le=1)] = 0.005
    ratio: Annotated[float, Meta(gt=1, le=100)] = 5.0
    min_sigma: Annotated[float, Meta(ge=0, le=1)] = 0.005
    """Floor of the baseline ($ per sqrt(s)), so a dead-flat market does not spike on a tick."""
    warmup_books: Annotated[int, Meta(ge=2, le=100_000)] = 20
    cooldown_s: Seconds = 10.0
    action: Literal["widen", "pull"] = "widen"
    widen: Widen = 2.0

    def __post_init__(self) -> None:
        if self.fast_alpha <= self.slow_alpha:
            raise ValueError("vol_spike.fast_alpha must be larger than slow_alpha")


class MomentumConfig(ConfigSection, frozen=True):
    """Drift of fair value (fast EMA minus slow EMA) widens or pulls the side it would run
    over (momentum.py)."""

    enabled: bool = True
    fast_s: Seconds = 0.5
    slow_s: Seconds = 10.0
    widen_threshold: Move = 0.03
    pull_threshold: Move = 0.08
    side_widen: Widen = 2.0
    skew: Annotated[float, Meta(ge=0, le=10)] = 0.0
    """Fair value moves with the drift by skew x drift (0: off)."""

    def __post_init__(self) -> None:
        if self.fast_s >= self.slow_s:
            raise ValueError("momentum.fast_s must be shorter than slow_s")
        if self.pull_threshold < self.widen_threshold:
            raise ValueError("momentum.pull_threshold must be >= widen_threshold")


class ToxicityConfig(ConfigSection, frozen=True):
    """VPIN-style order-flow toxicity over volume buckets (toxicity.py)."""

    enabled: bool = True
    bucket_contracts: Annotated[float, Meta(gt=0, le=1e9)] = 150.0
    buckets: Annotated[int, Meta(ge=1, le=1000)] = 4
    threshold: Fraction = 0.8
    """VPIN (mean |buy - sell| / volume per bucket) at or above which quotes widen."""
    one_sided: Fraction = 0.8
    """|net flow| / volume over the buckets at or above which the side it hits is pulled."""
    widen: Widen = 1.5
    nudge: Fraction = 0.5
    """Fair value leans with the flow by this many book half-spreads at |flow| = 1."""
    max_age_s: Seconds = 10.0
    """Buckets older than this are forgotten: old flow says nothing about the next trade."""


class VolumeSpikeConfig(ConfigSection, frozen=True):
    """Short-window trade volume against its long average pauses quoting (volume_spike.py)."""

    enabled: bool = True
    fast_s: Seconds = 5.0
    slow_s: Seconds = 300.0
    multiple: Annotated[float, Meta(gt=1, le=1000)] = 8.0
    min_contracts: Annotated[float, Meta(ge=0, le=1e9)] = 200.0
    """Volume (contracts) the fast window must hold before it can count as a spike."""
    warmup_s: Seconds = 60.0
    cooldown_s: Seconds = 10.0

    def __post_init__(self) -> None:
        if self.fast_s >= self.slow_s:
            raise ValueError("volume_spike.fast_s must be shorter than slow_s")


class BookImbalanceConfig(ConfigSection, frozen=True):
    """Top-N depth imbalance nudges fair value towards the thin side (book_imbalance.py)."""

    enabled: bool = True
    levels: Annotated[int, Meta(ge=1, le=50)] = 3
    deadzone: Fraction = 0.3
    weight: Fraction = 0.25
    """Nudge at full imbalance, as a fraction of the book's half-spread."""


class RegimeConfig(ConfigSection, frozen=True):
    """Trending / mean-reverting / volatile from recent mid returns (regime.py)."""

    enabled: bool = True
    window: Annotated[int, Meta(ge=4, le=1000)] = 30
    min_returns: Annotated[int, Meta(ge=3, le=1000)] = 8
    trend_efficiency: Fraction = 0.7
    """|sum of returns| / sum of |returns| at or above which the market is trending."""
    mean_revert_autocorr: Annotated[float, Meta(ge=-1, le=0)] = -0.4
    volatile_sigma: Annotated[float, Meta(gt=0, le=1)] = 0.02
    """Realised volatility ($ per sqrt(s)) at or above which the market is volatile."""
    trending_widen: Widen = 1.5
    mean_reverting_widen: Widen = 1.0
    volatile_widen: Widen = 2.0


class ResolutionSignalConfig(ConfigSection, frozen=True):
    """Final window before resolution: quotes are pulled (strategy/resolution.py)."""

    enabled: bool = True
    pull_window_s: Annotated[float, Meta(ge=0, le=1e8)] = 60.0


class LeadLagConfig(ConfigSection, frozen=True):
    """An external reference that moves first shifts fair value (lead_lag.py)."""

    enabled: bool = True
    sensitivity: Annotated[float, Meta(ge=0, le=1000)] = 0.0
    """$ of probability per unit log-return of the reference (5.0: a 1% move is 5 cents);
    0 = learn it from the feed and the book."""
    lag_s: Annotated[float, Meta(ge=0, le=86_400)] = 0.0
    """Time constant of the book catching up with the reference; 0 = learn it (the best
    fit of 0.5-16 s, lead_lag.py; no shift until `min_samples` learning samples)."""
    learn_horizon_s: Seconds = 5.0
    learn_alpha: Annotated[float, Meta(gt=0, le=1)] = 0.05
    min_samples: Annotated[int, Meta(ge=1, le=100_000)] = 20
    max_shift: Move = 0.05
    max_age_ms: Annotated[int, Meta(gt=0, le=3_600_000)] = 2000


class ThresholdConfig(ConfigSection, frozen=True):
    """Binary-option fair value from the reference (threshold.py; `fv_method = "threshold"`)."""

    annual_vol: Annotated[float, Meta(ge=0, le=100)] = 0.0
    """Annualised volatility of the reference; 0 = learn it from the feed."""
    vol_alpha: Annotated[float, Meta(gt=0, le=1)] = 0.05
    min_samples: Annotated[int, Meta(ge=2, le=100_000)] = 20
    horizon_s: Seconds = 5.0
    """Holding horizon of a quote for the gamma widening."""
    gamma_widen: Annotated[float, Meta(ge=0, le=100)] = 1.0
    max_widen: Widen = 4.0
    max_age_ms: Annotated[int, Meta(gt=0, le=3_600_000)] = 2000


class PeriodConfig(ConfigSection, frozen=True):
    """Fixed-period markets (15-minute up/down): early, middle and final phases (period.py)."""

    enabled: bool = True
    period_s: Annotated[float, Meta(ge=0, le=86_400 * 31)] = 0.0
    """Length of a period; 0 = the market has no periods."""
    offset_s: Annotated[float, Meta(ge=0, le=86_400 * 31)] = 0.0
    """Periods start at unix multiples of period_s plus this."""
    early_s: Annotated[float, Meta(ge=0, le=86_400)] = 60.0
    final_s: Annotated[float, Meta(ge=0, le=86_400)] = 120.0
    pull_s: Annotated[float, Meta(ge=0, le=86_400)] = 15.0
    early_widen: Widen = 1.5
    final_widen: Widen = 2.0

    def __post_init__(self) -> None:
        if self.pull_s > self.final_s:
            raise ValueError("period.pull_s must be <= final_s")
        if self.period_s and self.early_s + self.final_s > self.period_s:
            raise ValueError("period.early_s + final_s must fit in period_s")


class SignalsConfig(ConfigSection, frozen=True):
    """The master switch, the combination caps and one table per signal."""

    enabled: bool = False
    """Off by default: the engine quotes exactly as without issue 5 (README "Signals")."""
    max_widen: Widen = 4.0
    """Cap of the combined widening (before `max_spread`, which caps it again)."""
    max_fv_nudge: Move = 0.05
    vol_spike: VolSpikeConfig = VolSpikeConfig()
    momentum: MomentumConfig = MomentumConfig()
    toxicity: ToxicityConfig = ToxicityConfig()
    volume_spike: VolumeSpikeConfig = VolumeSpikeConfig()
    book_imbalance: BookImbalanceConfig = BookImbalanceConfig()
    regime: RegimeConfig = RegimeConfig()
    resolution: ResolutionSignalConfig = ResolutionSignalConfig()
    lead_lag: LeadLagConfig = LeadLagConfig()
    threshold: ThresholdConfig = ThresholdConfig()
    period: PeriodConfig = PeriodConfig()
