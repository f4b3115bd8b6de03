"""Pure ladder-shape controls: price validity, collar, self-cross, min spread, order count,
exit orders and flatten orders. Prices in YES pips, sizes in centi-contracts.

"Growing side": bids grow a long position, asks a short one. When a control must drop
one side it drops the growing side and keeps the one that reduces |net|; flat, neither
side reduces, so both offending sets go.
"""

from __future__ import annotations

from collections.abc import Sequence

from common.messages import Level
from common.prices import ONE_DOLLAR
from services.risk.market_limits import Limits

__all__ = ["collar", "exits", "flatten_orders", "max_orders", "min_spread", "no_self_cross",
    "valid"]


def valid(levels: Sequence[Level], reasons: set[str]) -> tuple[Level, ...]:
    """Levels priced strictly inside (0, 1) with a positive size; others are dropped."""
    out = tuple(lv for lv in levels if 0 < lv.price < ONE_DOLLAR and lv.size > 0)
    if len(out) != len(levels):
        reasons.add("invalid_price")
    return out


def collar(
    bids: tuple[Level, ...], asks: tuple[Level, ...], *, fair_value: int, book_bid: int,
    book_ask: int, collar: int, reasons: set[str],
) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
    """Drop a bid more than `collar` pips through fair value or the book's best ask, and an
    ask more than `collar` below fair value or the best bid (0 fair/book: that bound is off)."""
    bid_caps = [x + collar for x in (fair_value, book_ask) if x > 0]
    ask_floors = [x - collar for x in (fair_value, book_bid) if x > 0]
    bid_cap = min(bid_caps) if bid_caps else ONE_DOLLAR
    ask_floor = max(ask_floors) if ask_floors else 0
    nb = tuple(lv for lv in bids if lv.price <= bid_cap)
    na = tuple(lv for lv in asks if lv.price >= ask_floor)
    if len(nb) != len(bids) or len(na) != len(asks):
        reasons.add("price_collar")
    return nb, na


def no_self_cross(
    bids: tuple[Level, ...], asks: tuple[Level, ...], *, net: int,
    event_bids: Sequence[int] = (), event_asks: Sequence[int] = (), reasons: set[str],
) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
    """Never a bid at or above our own ask: on this ladder (growing side dropped) and
    against the live ladders of the event's other markets (the new levels are dropped)."""
    if event_asks:
        lowest = min(event_asks)
        bids = _drop(bids, lambda p: p >= lowest, reasons)
    if event_bids:
        highest = max(event_bids)
        asks = _drop(asks, lambda p: p <= highest, reasons)
    if not bids or not asks:
        return bids, asks
    best_bid, best_ask = max(lv.price for lv in bids), min(lv.price for lv in asks)
    if best_bid < best_ask:
        return bids, asks
    reasons.add("self_cross")
    if net > 0:
        return tuple(lv for lv in bids if lv.price < best_ask), asks
    if net < 0:
        return bids, tuple(lv for lv in asks if lv.price > best_bid)
    return (tuple(lv for lv in bids if lv.price < best_ask),
            tuple(lv for lv in asks if lv.price > best_bid))


def _drop(levels: tuple[Level, ...], bad: object, reasons: set[str]) -> tuple[Level, ...]:
    out = tuple(lv for lv in levels if not bad(lv.price))  # type: ignore[operator]
    if len(out) != len(levels):
        reasons.add("self_cross")
    return out


def min_spread(
    bids: tuple[Level, ...], asks: tuple[Level, ...], *, net: int, min_spread: int,
    reasons: set[str],
) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
    """If our best ask - best bid is under `min_spread` pips, drop the growing side's
    offending levels (both sides' when flat); 0 is off."""
    if min_spread <= 0 or not bids or not asks:
        return bids, asks
    best_bid, best_ask = max(lv.price for lv in bids), min(lv.price for lv in asks)
    if best_ask - best_bid >= min_spread:
        return bids, asks
    reasons.add("min_spread")
    keep_bids = tuple(lv for lv in bids if best_ask - lv.price >= min_spread)
    keep_asks = tuple(lv for lv in asks if lv.price - best_bid >= min_spread)
    if net > 0:
        return keep_bids, asks
    if net < 0:
        return bids, keep_asks
    return keep_bids, keep_asks


def max_orders(
    bids: tuple[Level, ...], asks: tuple[Level, ...], *, net: int, max_orders: int,
    reasons: set[str],
) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
    """Keep at most `max_orders` levels (0 is off): drop the deepest levels, from the
    growing side first (from the longer side when flat)."""
    if max_orders <= 0 or len(bids) + len(asks) <= max_orders:
        return bids, asks
    reasons.add("max_orders")
    b, a = list(bids), list(asks)
    while len(b) + len(a) > max_orders:
        if net > 0 and b or net == 0 and len(b) >= len(a) and b or not a:
            b.pop()
        else:
            a.pop()
    return tuple(b), tuple(a)


def exits(
    exit_bids: Sequence[Level], exit_asks: Sequence[Level], *, net: int, lim: Limits,
    book_bid: int, book_ask: int, reasons: set[str],
) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
    """Exit orders only reduce |net|: exit asks while long, exit bids while short, their
    total never past flat, each capped at `max_order_size`, priced within the collar of
    the book's far side (an exit ask no lower than best bid - collar)."""
    if not exit_bids and not exit_asks:
        return (), ()
    ok_bids: list[Level] = []
    ok_asks: list[Level] = []
    left = max(0, -net)
    for lv in exit_bids:
        if not 0 < lv.price < ONE_DOLLAR or (book_ask and lv.price > book_ask + lim.collar_pips):
            continue
        size = min(lv.size, lim.order_centi, left)
        if size > 0:
            ok_bids.append(Level(lv.price, size))
            left -= size
    left = max(0, net)
    for lv in exit_asks:
        if not 0 < lv.price < ONE_DOLLAR or (book_bid and lv.price < book_bid - lim.collar_pips):
            continue
        size = min(lv.size, lim.order_centi, left)
        if size > 0:
            ok_asks.append(Level(lv.price, size))
            left -= size
    if tuple(ok_bids) != tuple(exit_bids) or tuple(ok_asks) != tuple(exit_asks):
        reasons.add("exit_clip")
    return tuple(ok_bids), tuple(ok_asks)


def flatten_orders(net: int, *, book_bid: int, book_ask: int,
                   lim: Limits) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
    """The exit orders that work a position back to flat: long -> an exit ask at the best
    bid, short -> an exit bid at the best ask, one clip of at most `max_order_size`.
    Nothing without that side of the book (never a blind price)."""
    if net > 0 and book_bid > 0:
        return (), (Level(book_bid, min(net, lim.order_centi)),)
    if net < 0 and book_ask > 0:
        return (Level(book_ask, min(-net, lim.order_centi)),), ()
    return (), ()
