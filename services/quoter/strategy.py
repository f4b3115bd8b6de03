"""Quoting maths as pure functions: a book, a config and an inventory in; a ladder out.

Everything here is deterministic and free of I/O so the backtester and `pmm preview`
reuse it unchanged. Prices on input and output are integer pips in YES terms, sizes
integer centi-contracts (ARCHITECTURE.md "Units"); floats live only inside the maths.

The model, in dollars-per-contract thinking but computed in pips:

    h     = clamp(spread, min_spread, max_spread)                     half-spread
    q     = clamp(net / max_inventory, -1, 1)                         inventory ratio
    r     = fair - skew * q * 2h                                      reservation price
    bid_i = r - h - i * spacing        ask_i = r + h + i * spacing    spacing = level_spacing or h
    size_i = size * level_decay**i

So at `skew = 0.5` and a full long inventory the reservation drops by one half-spread:
the ask (the reducing side) sits at fair value and the bid a whole spread below it.
Both quotes move away from the heavy side; the side that adds inventory is scaled by
`1 - |q|` and, summed over its levels, never takes |net| past `max_inventory`.

Then, in order: bids snap down and asks snap up to the tick grid; a bid at or above the
book's best ask moves to one tick under it and an ask at or below the best bid moves to
one tick over it (post-only: we go behind the book, never cross it); each level is kept
strictly behind the one before it; a level outside [tick, 1 - tick] or smaller than
`min_size` is dropped (never clamped inward, which would make it more aggressive).
Bids therefore stay strictly below asks by construction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

from msgspec import Struct

from common.config import QuotingConfig
from common.messages import Level
from common.prices import ONE_DOLLAR, PRICE_SCALE, SIZE_SCALE, snap_down, snap_up

WEIGHTED_DEPTH = 3
"""Levels per side that `weighted_mid` averages over."""
_EPS = 1e-6
"""Float slack (in pips) before snapping, so 4799.9999999 snaps like 4800."""


class BookLike(Protocol):
    """What the strategy reads from a book: `BookSnapshot` satisfies it, as does `Book`."""

    @property
    def tick(self) -> int: ...

    @property
    def bids(self) -> Sequence[Level]: ...

    @property
    def asks(self) -> Sequence[Level]: ...


class Book(Struct, frozen=True, kw_only=True):
    """A plain book for callers without a BookSnapshot (preview, backtests, tests)."""

    tick: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]


class Ladder(Struct, frozen=True, kw_only=True):
    """The strategy's output: fair value (pips) and levels, best first on each side."""

    fair_value: int
    bids: tuple[Level, ...] = ()
    asks: tuple[Level, ...] = ()

    @property
    def empty(self) -> bool:
        """True when the ladder quotes nothing (pull every quote)."""
        return not self.bids and not self.asks


EMPTY = Ladder(fair_value=0)


def _weighted_side(levels: Sequence[Level]) -> float:
    top = levels[:WEIGHTED_DEPTH]
    total = sum(lv.size for lv in top)
    if total <= 0:
        return float(top[0].price)
    return sum(lv.price * lv.size for lv in top) / total


def fair_value(book: BookLike, method: str) -> float | None:
    """Estimate fair value in (float) pips, or None if the book cannot support one.

    A one-sided, empty or crossed/locked book has no fair value: quoting on it would
    be guessing, so the caller quotes nothing.

    - mid_price: (best bid + best ask) / 2.
    - weighted_mid: the mean of the size-weighted average price of the top
      `WEIGHTED_DEPTH` bids and of the top `WEIGHTED_DEPTH` asks.
    - microprice: top-of-book prices weighted by the opposite side's size,
      (bid * ask_size + ask * bid_size) / (bid_size + ask_size).
    - vwap, ema: TODO(full-strategy issue: trade VWAP and EMA fair values need trade
      history and state) - they fall back to weighted_mid until then.
    """
    if not book.bids or not book.asks:
        return None
    best_bid, best_ask = book.bids[0], book.asks[0]
    if best_bid.price >= best_ask.price:
        return None
    if method == "mid_price":
        return (best_bid.price + best_ask.price) / 2
    if method == "microprice":
        total = best_bid.size + best_ask.size
        if total <= 0:
            return (best_bid.price + best_ask.price) / 2
        return (best_bid.price * best_ask.size + best_ask.price * best_bid.size) / total
    # weighted_mid, and (for now) vwap and ema.
    return (_weighted_side(book.bids) + _weighted_side(book.asks)) / 2


def half_spread_pips(cfg: QuotingConfig) -> float:
    """The configured half-spread clamped to [min_spread, max_spread], in pips."""
    return min(max(cfg.spread, cfg.min_spread), cfg.max_spread) * PRICE_SCALE


def inventory_ratio(net_contracts: float, cfg: QuotingConfig) -> float:
    """net / max_inventory clamped to [-1, 1]: +1 is a full long, -1 a full short."""
    return max(-1.0, min(1.0, net_contracts / cfg.max_inventory))


def reservation_pips(fair: float, net_contracts: float, cfg: QuotingConfig) -> float:
    """fair - skew * q * 2h: shifted down when long, up when short."""
    return fair - cfg.skew * inventory_ratio(net_contracts, cfg) * 2 * half_spread_pips(cfg)


def _side_sizes(cfg: QuotingConfig, adds: bool, q_abs: float, room_centi: int) -> list[int]:
    """Sizes (centi) for max_orders levels: decayed, scaled by 1 - |q| on the side that adds
    inventory, and capped so the whole side filling never takes |net| past max_inventory."""
    sizes: list[int] = []
    used = 0
    for i in range(cfg.max_orders):
        raw = cfg.size * SIZE_SCALE * cfg.level_decay**i
        if adds:
            raw *= 1.0 - q_abs
        size = max(0, min(math.floor(raw + _EPS), room_centi - used))
        used += size
        sizes.append(size)
    return sizes


def build_ladder(
    book: BookLike,
    cfg: QuotingConfig,
    net_contracts: float,
    min_size_centi: int,
    *,
    stale: bool = False,
) -> Ladder:
    """Compute the full desired ladder for one market (see the module docstring).

    `net_contracts` is the netted YES position (YES - NO) in contracts. A stale book,
    or one without a fair value, gives an empty ladder: pull every quote.
    """
    fair = fair_value(book, cfg.fv_method)
    if stale or fair is None:
        return Ladder(fair_value=0 if fair is None else _to_price(fair))
    tick = book.tick
    h = half_spread_pips(cfg)
    spacing = cfg.level_spacing * PRICE_SCALE if cfg.level_spacing > 0 else h
    r = reservation_pips(fair, net_contracts, cfg)
    q = inventory_ratio(net_contracts, cfg)
    max_inv_centi = math.floor(cfg.max_inventory * SIZE_SCALE + _EPS)
    net_centi = round(net_contracts * SIZE_SCALE)
    bid_sizes = _side_sizes(cfg, q > 0, abs(q), max_inv_centi - net_centi)
    ask_sizes = _side_sizes(cfg, q < 0, abs(q), max_inv_centi + net_centi)
    best_bid = book.bids[0].price if book.bids else None
    best_ask = book.asks[0].price if book.asks else None
    min_size = max(1, min_size_centi)

    bids: list[Level] = []
    prev: int | None = None
    for i, size in enumerate(bid_sizes):
        price = snap_down(math.floor(r - h - i * spacing + _EPS), tick)
        if best_ask is not None and price >= best_ask:
            price = snap_down(best_ask - 1, tick)
        if prev is not None and price >= prev:
            price = prev - tick
        if price < tick:
            break
        prev = price
        if size >= min_size:
            bids.append(Level(price=price, size=size))

    asks: list[Level] = []
    prev = None
    for i, size in enumerate(ask_sizes):
        price = snap_up(math.ceil(r + h + i * spacing - _EPS), tick)
        if best_bid is not None and price <= best_bid:
            price = snap_up(best_bid + 1, tick)
        if prev is not None and price <= prev:
            price = prev + tick
        if price > ONE_DOLLAR - tick:
            break
        prev = price
        if size >= min_size:
            asks.append(Level(price=price, size=size))

    return Ladder(fair_value=_to_price(fair), bids=tuple(bids), asks=tuple(asks))


def _to_price(value: float) -> int:
    return max(0, min(ONE_DOLLAR, round(value)))


def _side_changed(old: Sequence[Level], new: Sequence[Level], threshold_pips: int) -> bool:
    if len(old) != len(new):
        return True
    for a, b in zip(old, new, strict=True):
        if a.size != b.size:
            return True
        moved = abs(a.price - b.price)
        if moved and moved >= threshold_pips:
            return True
    return False


def ladder_changed(old: Ladder | None, new: Ladder, threshold_pips: int) -> bool:
    """Decide whether `new` must be sent in place of `old`.

    It must if nothing was sent yet, a level appeared or vanished, a size changed, or
    any price moved by at least `threshold_pips` (0 means any move at all). Price moves
    smaller than the threshold are absorbed: the old quote is still good enough.
    """
    if old is None:
        return True
    return _side_changed(old.bids, new.bids, threshold_pips) or _side_changed(
        old.asks, new.asks, threshold_pips
    )
