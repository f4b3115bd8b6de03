"""Turn a reservation price, offsets and sizes into a valid post-only ladder, pure.

Level i of a side sits at `offsets[i]` pips from the reservation price r: layered
(`max_orders` levels, offset h + i * spacing with spacing = `level_spacing` or h, size
`size * level_decay**i`) or tiered (`tiers`: each its own half-spread and size).

Then, in order: bids snap down and asks snap up to the tick grid; a bid at or above the
book's best ask moves to one tick under it and an ask at or below the best bid to one tick
over it (post-only: behind the book, never crossing it); each level is kept strictly
behind the one before it; a level outside [tick, 1 - tick] ends the side and a level
smaller than the minimum size is dropped (never clamped inward, which would make it more
aggressive). Bids therefore stay strictly below asks.
"""

from __future__ import annotations

import math

from common.config import QuotingConfig
from common.messages import Level
from common.prices import ONE_DOLLAR, PRICE_SCALE, snap_down, snap_up
from strategy.model import BookLike

__all__ = ["ask_side", "bid_side", "layout"]

_EPS = 1e-6
"""Float slack (pips) before snapping, so 4799.9999999 snaps like 4800."""


def layout(
    params: QuotingConfig, half_spread_pips: float, base_pips: float
) -> tuple[list[float], list[float]]:
    """(offsets in pips, base sizes in contracts) per level, best first. Tier spreads
    widen in proportion to the half-spread's widening (`half_spread_pips / base_pips`)."""
    if params.tiers:
        widen = half_spread_pips / max(1e-9, base_pips)
        tiers = sorted(params.tiers, key=lambda t: t.spread)
        return [t.spread * PRICE_SCALE * widen for t in tiers], [t.size for t in tiers]
    h = half_spread_pips
    spacing = params.level_spacing * PRICE_SCALE if params.level_spacing > 0 else h
    offsets = [h + i * spacing for i in range(params.max_orders)]
    sizes = [params.size * params.level_decay**i for i in range(params.max_orders)]
    return offsets, sizes


def bid_side(
    book: BookLike, r: float, offsets: list[float], sizes: list[int], min_size: int
) -> tuple[Level, ...]:
    """Post-only bids at r - offset, best first (module docstring)."""
    tick = book.tick
    best_ask = book.asks[0].price if book.asks else None
    out: list[Level] = []
    prev: int | None = None
    for off, size in zip(offsets, sizes, strict=True):
        price = snap_down(math.floor(r - off + _EPS), tick)
        if best_ask is not None and price >= best_ask:
            price = snap_down(best_ask - 1, tick)
        if prev is not None and price >= prev:
            price = prev - tick
        if price < tick:
            break
        prev = price
        if size >= max(1, min_size):
            out.append(Level(price=price, size=size))
    return tuple(out)


def ask_side(
    book: BookLike, r: float, offsets: list[float], sizes: list[int], min_size: int
) -> tuple[Level, ...]:
    """Post-only asks at r + offset, best first (module docstring)."""
    tick = book.tick
    best_bid = book.bids[0].price if book.bids else None
    out: list[Level] = []
    prev: int | None = None
    for off, size in zip(offsets, sizes, strict=True):
        price = snap_up(math.ceil(r + off - _EPS), tick)
        if best_bid is not None and price <= best_bid:
            price = snap_up(best_bid + 1, tick)
        if prev is not None and price <= prev:
            price = prev + tick
        if price > ONE_DOLLAR - tick:
            break
        prev = price
        if size >= max(1, min_size):
            out.append(Level(price=price, size=size))
    return tuple(out)
