"""Pure ladder diffing: desired ladder (YES terms) + live orders -> cancels and placements.

Expression (ARCHITECTURE.md): a bid at p is BUY YES at p, an ask at p is BUY NO at
1 - p. One order rests per (token, price). A live order is kept when it sits at a
desired (token, price) with 0 < remaining <= desired size, which keeps its queue
priority; a partially filled order is not topped up. Everything else is cancelled,
and missing levels are placed. Orders with a cancel already in flight are neither
kept nor cancelled again, and block a new placement at their (token, price) until
reconciliation settles them: an ambiguous cancel must never become a duplicate.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from common.messages import Level
from common.prices import complement, snap_down, snap_up, valid_price
from services.executor.orders import (
    CLIENT_KEY_PREFIX, Actions, Amend, DesiredOrder, LiveOrder, MarketTokens,
)

__all__ = [
    "Key", "MIN_MARKETABLE_NOTIONAL", "diff", "express_exits", "express_ladder", "pair_amends",
    "snap_ladder",
]

Key = tuple[str, int]


def snap_ladder(
    bids: Sequence[Level], asks: Sequence[Level], tick: int
) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
    """Move a YES ladder onto the `tick` grid without making it more aggressive.

    Bids snap down and asks snap up (a post-only level never moves towards the other
    side), so a ladder priced on an old, finer grid is re-expressed on the venue's
    current one instead of being rejected level by level. Levels already on the grid
    are unchanged; two levels landing on one price are merged by `express_ladder`.
    """
    if tick <= 1:
        return tuple(bids), tuple(asks)
    return (tuple(lv if lv.price % tick == 0 else Level(snap_down(lv.price, tick), lv.size)
                  for lv in bids),
            tuple(lv if lv.price % tick == 0 else Level(snap_up(lv.price, tick), lv.size)
                  for lv in asks))


def express_ladder(
    tokens: MarketTokens, bids: Sequence[Level], asks: Sequence[Level]
) -> tuple[list[DesiredOrder], list[Level]]:
    """Turn a YES ladder into BUY orders; return them and the levels that cannot be placed.

    Levels off the tick grid, outside [tick, 1 - tick], or below the market's minimum
    size are returned as invalid. Two levels landing on one (token, price) are merged.
    """
    merged: dict[Key, DesiredOrder] = {}
    invalid: list[Level] = []
    legs = [(lv, tokens.yes_token, "YES", lv.price) for lv in bids]
    legs += [(lv, tokens.no_token, "NO", complement(lv.price)) for lv in asks]
    for level, token, outcome, price in legs:
        if (
            level.size <= 0
            or level.size < tokens.min_size
            or not valid_price(price, tokens.tick)
        ):
            invalid.append(level)
            continue
        key = (token, price)
        prev = merged.get(key)
        size = level.size + (prev.size if prev is not None else 0)
        merged[key] = DesiredOrder(
            market=tokens.market, token=token, outcome=outcome,  # type: ignore[arg-type]
            price=price, size=size,
        )
    return list(merged.values()), invalid


def diff(desired: Sequence[DesiredOrder], live: Iterable[LiveOrder]) -> Actions:
    """The cancels and placements that turn `live` into exactly `desired` (by token, price)."""
    want: dict[Key, DesiredOrder] = {}
    for d in desired:
        want[(d.token, d.price)] = d
    groups: dict[Key, list[LiveOrder]] = {}
    cancels: list[str] = []
    blocked: set[Key] = set()
    for order in live:
        if order.state == "cancelling":
            # Its cancel had an ambiguous answer: it may still rest at the venue. Placing
            # another order at the same (token, price) could double the size there, so the
            # level waits until reconciliation says whether it is gone.
            blocked.add((order.token, order.price))
            continue
        if order.side != "BUY":
            cancels.append(order.order_id)
            continue
        groups.setdefault((order.token, order.price), []).append(order)
    kept: set[Key] = set()
    for key, orders in groups.items():
        wanted = want.get(key)
        keep: LiveOrder | None = None
        if wanted is not None:
            for order in orders:
                if 0 < order.size <= wanted.size and (keep is None or order.size > keep.size):
                    keep = order
        if keep is not None:
            kept.add(key)
        cancels.extend(o.order_id for o in orders if o is not keep)
    placements = tuple(d for key, d in want.items() if key not in kept and key not in blocked)
    return Actions(cancels=tuple(cancels), placements=placements)


def pair_amends(actions: Actions, live: Iterable[LiveOrder]) -> Actions:
    """Turn each cancel and placement on the same token into one amend (Kalshi).

    An amend moves a resting order in place: one request instead of two, and the level
    is never absent. Per token, the orders to cancel and the levels to place are paired
    in price order; the rest stay cancels or placements. Only confirmed live BUY orders
    are amended (an in-flight one has no venue id to amend yet).
    """
    by_id = {o.order_id: o for o in live}
    olds: dict[str, list[LiveOrder]] = {}
    for oid in actions.cancels:
        o = by_id.get(oid)
        if o is not None and o.state == "live" and o.side == "BUY" \
                and not oid.startswith(CLIENT_KEY_PREFIX):
            olds.setdefault(o.token, []).append(o)
    news: dict[str, list[DesiredOrder]] = {}
    for d in actions.placements:
        if d.tif == "GTC":
            news.setdefault(d.token, []).append(d)
    amends: list[Amend] = []
    for token, orders in olds.items():
        levels = sorted(news.get(token, ()), key=lambda d: d.price)
        amends += [Amend(order=o, to=d)
                   for o, d in zip(sorted(orders, key=lambda o: o.price), levels)]
    moved = {a.order.order_id for a in amends}
    placed = {id(a.to) for a in amends}
    return Actions(cancels=tuple(i for i in actions.cancels if i not in moved),
                   placements=tuple(d for d in actions.placements if id(d) not in placed),
                   amends=tuple(amends))


MIN_MARKETABLE_NOTIONAL = 1_000_000
"""Polymarket refuses a marketable order under $1 notional (micro-dollars)."""


def express_exits(
    tokens: MarketTokens, exit_bids: Sequence[Level], exit_asks: Sequence[Level], *,
    min_notional: int = 0,
) -> tuple[list[DesiredOrder], list[Level]]:
    """Exit levels as marketable fill-and-kill BUY orders, and the levels that cannot go.

    Same expression and checks as `express_ladder` (tick grid, [tick, 1 - tick], the
    market's minimum size), plus a minimum notional (price x size, micro-dollars) where
    the venue has one for marketable orders.
    """
    orders, invalid = express_ladder(tokens, exit_bids, exit_asks)
    out: list[DesiredOrder] = []
    for o in orders:
        if o.price * o.size < min_notional:
            invalid.append(Level(price=o.price, size=o.size))
            continue
        out.append(DesiredOrder(market=o.market, token=o.token, outcome=o.outcome,
                                price=o.price, size=o.size, tif="FAK"))
    return out, invalid
