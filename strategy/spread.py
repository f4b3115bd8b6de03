"""Half-spread of the heuristic engine, pure: parameters and market conditions in, pips out.

    base  = clamp(spread, min_spread, max_spread)
    h     = (base + vol_mult * sigma)                  sigma: $ per sqrt(s), here in pips
            * (1 + resolution_widen * (1 - ttr / resolution_widen_window_s))   if ttr < window
            * (1 + liquidity_widen * (1 - depth / liquidity_min_depth))        if depth < min
            * (1 + inventory_widen * (|q| - thr) / (1 - thr))   if |q| > inventory_widen_threshold
    h     = clamp(h, min_spread, max_spread)                max_spread caps every widening

`ttr` is the time to resolution (s), `depth` the thinner side's size over the top levels
(contracts), `q` the inventory ratio. `SpreadParts` keeps each factor for diagnostics.
"""

from __future__ import annotations

from msgspec import Struct

from common.config import QuotingConfig
from common.prices import PRICE_SCALE

__all__ = ["SpreadParts", "base_half_spread", "clamp_half", "half_spread", "inventory_factor",
    "liquidity_factor", "resolution_factor"]


class SpreadParts(Struct, frozen=True, kw_only=True):
    """The half-spread (pips) and how it was built."""

    base: float
    vol_add: float = 0.0
    resolution_factor: float = 1.0
    liquidity_factor: float = 1.0
    inventory_factor: float = 1.0
    total: float = 0.0


def clamp_half(params: QuotingConfig, pips: float) -> float:
    """Clamp a half-spread in pips to [min_spread, max_spread]."""
    return min(max(pips, params.min_spread * PRICE_SCALE), params.max_spread * PRICE_SCALE)


def base_half_spread(params: QuotingConfig) -> float:
    """The configured half-spread clamped to [min_spread, max_spread], in pips."""
    return clamp_half(params, params.spread * PRICE_SCALE)


def resolution_factor(params: QuotingConfig, ttr_s: float | None) -> float:
    window = params.resolution_widen_window_s
    if ttr_s is None or window <= 0 or ttr_s >= window:
        return 1.0
    return 1.0 + params.resolution_widen * (1.0 - max(0.0, ttr_s) / window)


def liquidity_factor(params: QuotingConfig, depth_contracts: float) -> float:
    floor = params.liquidity_min_depth
    if floor <= 0 or depth_contracts >= floor:
        return 1.0
    return 1.0 + params.liquidity_widen * (1.0 - max(0.0, depth_contracts) / floor)


def inventory_factor(params: QuotingConfig, q_abs: float) -> float:
    thr = params.inventory_widen_threshold
    if q_abs <= thr or thr >= 1.0:
        return 1.0
    return 1.0 + params.inventory_widen * (min(1.0, q_abs) - thr) / (1.0 - thr)


def half_spread(
    params: QuotingConfig,
    *,
    sigma_pips: float = 0.0,
    ttr_s: float | None = None,
    depth_contracts: float = float("inf"),
    q_abs: float = 0.0,
) -> SpreadParts:
    """The heuristic half-spread with every widening (module docstring), in pips."""
    base = base_half_spread(params)
    vol_add = params.vol_mult * max(0.0, sigma_pips)
    res = resolution_factor(params, ttr_s)
    liq = liquidity_factor(params, depth_contracts)
    inv = inventory_factor(params, q_abs)
    total = clamp_half(params, (base + vol_add) * res * liq * inv)
    return SpreadParts(
        base=base, vol_add=vol_add, resolution_factor=res, liquidity_factor=liq,
        inventory_factor=inv, total=total,
    )
