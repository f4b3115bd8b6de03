"""The synthetic market's parameters, one definition for both of its hosts (issue 17): the
research scenarios (research/flow.py `ScenarioSpec`) and the venue simulator's `[sim.flow]`
(common/config_sim.py `SimFlowConfig`) extend `FlowParams`, each with its own defaults (the
simulator's market is busier, with wider makers) and the few fields only it has.

The defaults here are the research market's; the bounds are what `[sim.flow]` accepts.
"""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from common.config_base import ConfigSection, Fraction

__all__ = ["FlowParams"]


class FlowParams(ConfigSection, frozen=True):
    """The makers, the takers and the truth's walk (common/market_model.py); rates are per
    second of market time."""

    step_ms: Annotated[int, Meta(ge=1, le=60_000)] = 100
    volatility: Annotated[float, Meta(ge=0, le=1)] = 0.03
    """Stdev of the truth's logit per square-root second."""
    jump_size: Fraction = 0.15
    """The largest jump of the truth (either way; half the room to its bound at most)."""
    maker_lag: Annotated[float, Meta(gt=0, le=1)] = 0.02
    """Fraction of the gap to the truth the makers' view closes per step."""
    maker_half_spread: Fraction = 0.005
    maker_levels: Annotated[int, Meta(ge=0, le=50)] = 10
    maker_size: Annotated[float, Meta(gt=0, le=1e6)] = 200.0
    """Contracts per level of the makers' ladder."""
    noise_rate_hz: Annotated[float, Meta(ge=0, le=10_000)] = 0.15
    noise_size: Annotated[float, Meta(gt=0, le=1e6)] = 30.0
    """Median contracts per noise trade; sizes are lognormal (`noise_size_sigma`)."""
    noise_size_sigma: Annotated[float, Meta(ge=0, le=5)] = 1.5
    noise_size_cap: Annotated[float, Meta(ge=1, le=1000)] = 40.0
    """The largest noise trade, in medians."""
    noise_slippage: Annotated[int, Meta(ge=0, le=100)] = 2
    """Ticks past the best price a noise trader will pay (the rest of the order is left)."""
    informed_rate_hz: Annotated[float, Meta(ge=0, le=10_000)] = 0.1
    informed_size: Annotated[float, Meta(gt=0, le=1e6)] = 60.0
    informed_edge: Fraction = 0.0
    """How far past the truth (dollars) a price must be for an informed trader to take it."""
    compete_hz: Annotated[float, Meta(ge=0, le=1000)] = 0.5
    """How often (per second, on average) the makers look at others' best quotes (ours) to
    overbid them by a tick; 0: never (the makers ignore us)."""
    compete_edge: Fraction = 0.005
    """The closest to their view (dollars) the makers will overbid."""
    maker_pull: Annotated[float, Meta(ge=0, le=100)] = 0.5
    """Half-spread widening (a multiple of it) per price level an informed trade takes from
    the makers, decaying over `maker_pull_decay_s`."""
    maker_pull_decay_s: Annotated[float, Meta(ge=0, le=3600)] = 10.0
    refill_s: Annotated[float, Meta(ge=0, le=3600)] = 2.0
    """Seconds before the makers' level the takers emptied is back; 0: at the next step."""
