"""Inventory maths, pure: ratio, regime, skew and per-side sizes.

Skew (heuristic engine). With q = clamp(net / max_inventory, -1, 1) and h the half-spread
in pips, the continuous shift is `skew * q * 2h` pips (at skew 0.5 and a full long, one
half-spread: the ask sits at fair value). By default (`skew_rounding = "none"`) it is
applied exactly (`skew_pips`): bids snap down and asks snap up from the shifted centre, so
a shift under a tick moves one side, whichever crosses its tick boundary first (long 50 of
500 at the defaults, 1.75c on a 0.50 mid: 0.35c down, the bid 47.9 -> 0.47, the ask 51.4 ->
still 0.52), and larger ones move both. With `skew_rounding = "away"` it is whole ticks,
rounded AWAY from zero:

    shift_ticks = sign(q) * ceil(skew * |q| * 2h / tick)        reservation = fair - shift

so any inventory moves the whole ladder at least one tick away from the heavy side (25 YES
of 500 at skew 0.5, 2c: 0.1 tick -> 1 tick down), and bids and asks move by the same
number of ticks, which keeps the quoted width. A whole tick of skew for a small
position costs more spread than the inventory risk it saves (ARCHITECTURE.md "Default
parameters"); the exact shift leans against a position in proportion to it.

Regimes by |q|: neutral (<= moderate_threshold, 0.5), moderate (> 0.5), aggressive
(> aggressive_threshold, 0.8). The side that adds inventory is scaled by (1 - |q|) times
the regime's add factor (1, 0.5, 0.25); the side that reduces it by the reduce factor
(1, 1.5, 2). Summed over its levels the adding side never takes |net| past max_inventory.

YES and NO are one event: `net = YES - NO`; `min(YES, NO)` pairs are locked value, worth
$1 each at resolution whatever happens, so they carry no inventory risk.
"""

from __future__ import annotations

import math

from common.config import QuotingConfig
from common.prices import ONE_DOLLAR, SIZE_SCALE
from strategy.model import Regime

__all__ = [
    "inventory_ratio", "locked_value", "regime", "side_sizes", "size_factors", "skew_pips",
    "skew_ticks",
]

_EPS = 1e-9


def inventory_ratio(net_centi: int, params: QuotingConfig) -> float:
    """net / max_inventory clamped to [-1, 1]: +1 is a full long, -1 a full short."""
    return max(-1.0, min(1.0, net_centi / (params.max_inventory * SIZE_SCALE)))


def regime(q_abs: float, params: QuotingConfig) -> Regime:
    """neutral, moderate (> moderate_threshold) or aggressive (> aggressive_threshold)."""
    if q_abs > params.aggressive_threshold:
        return "aggressive"
    if q_abs > params.moderate_threshold:
        return "moderate"
    return "neutral"


def skew_ticks(q: float, params: QuotingConfig, half_spread_pips: float, tick: int) -> int:
    """Signed whole-tick shift of the ladder (positive: down, for a long), see module doc."""
    raw = params.skew * abs(q) * 2 * half_spread_pips / tick
    if raw <= _EPS:
        return 0
    ticks = max(1, math.ceil(raw - 1e-6))  # slack: 2.0000001 ticks is 2
    return ticks if q > 0 else -ticks


def skew_pips(q: float, params: QuotingConfig, half_spread_pips: float, tick: int) -> float:
    """Signed shift of the ladder's centre in pips (positive: down, for a long): whole ticks
    (`skew_ticks`) or, with `skew_rounding = "none"`, the exact `skew * q * 2h`."""
    if params.skew_rounding == "none":
        return params.skew * q * 2 * half_spread_pips
    return float(skew_ticks(q, params, half_spread_pips, tick) * tick)


def size_factors(q_abs: float, params: QuotingConfig) -> tuple[float, float]:
    """(adding-side factor, reducing-side factor) for an inventory ratio |q|."""
    r = regime(q_abs, params)
    if r == "aggressive":
        add, reduce = params.aggressive_add_factor, params.aggressive_reduce_factor
    elif r == "moderate":
        add, reduce = params.moderate_add_factor, params.moderate_reduce_factor
    else:
        add, reduce = 1.0, 1.0
    return max(0.0, 1.0 - q_abs) * add, reduce


def side_sizes(base_sizes: list[float], factor: float, room_centi: int) -> list[int]:
    """Scale base sizes (contracts) by `factor` into centi-contracts, capping the running
    total at `room_centi` so the whole side filling never exceeds it."""
    sizes: list[int] = []
    used = 0
    for base in base_sizes:
        size = max(0, min(math.floor(base * SIZE_SCALE * factor + 1e-6), room_centi - used))
        used += size
        sizes.append(size)
    return sizes


def locked_value(position_yes: int, position_no: int) -> int:
    """Micro-dollars locked by holding both sides: min(YES, NO) centi pairs pay $1 each."""
    return max(0, min(position_yes, position_no)) * ONE_DOLLAR
