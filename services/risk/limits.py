"""Pure risk checks on a quote intent: approve it, clip it, or reject it.

A rejection never means "do nothing": the actor still forwards an empty ladder, so the
executor pulls the market's quotes. Clipping only ever removes size or levels, and it
prefers dropping the side that grows |net| over rejecting: the reducing side stays quoted.

Checks, in the order they apply (the reason string is the metrics label):
1. kill switch latched (global, venue or market) -> reject "kill"; paused -> "paused";
   halted by a loss limit -> "halted"; flattening -> "flatten"; book stale or older than
   `max_book_age_ms` -> "stale_book"
2. a level priced outside (0, 1) -> drop it, "invalid_price"
3. price collar: a bid above fair value + collar or above the book's best ask + collar
   (an ask below fair - collar or the best bid - collar) -> drop it, "price_collar"
4. self-cross: a bid at or above our own ask, on this market's ladder or on the live
   ladder of another market of the same event -> drop the side that grows |net| (both
   crossing sets when flat), "self_cross" (see `ladder.py`)
5. each level's size capped at `max_order_size` -> "max_order_size"
6. walking each side best level first, the position after every level fills must stay
   within `max_position_usd` ("position_limit") and `max_position_contracts`
   ("position_contracts"), keep the total exposure within `max_total_exposure_usd`
   ("exposure_limit") and the event's net within `max_event_position_usd`
   ("event_limit"). Money is converted at the level's own price (a bid at p risks p per
   contract, an ask at p - a BUY NO at 1 - p - risks 1 - p)
7. a level clipped below the market's min size is dropped
8. our spread (best ask - best bid) under `min_spread` -> drop the growing side, "min_spread"
9. more than `max_orders` levels -> drop the deepest, growing side first, "max_orders".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from msgspec import Struct

from common.config import MarketConfig, RiskConfig
from common.messages import Level
from common.prices import MONEY_SCALE, ONE_DOLLAR
from services.risk import ladder
from services.risk.market_limits import Limits, resolve

__all__ = ["BookTop", "Decision", "DecisionOutcome", "EventContext", "GateState", "REASONS",
    "check_intent", "reject", "throttle"]

DecisionOutcome = Literal["approved", "clipped", "rejected"]

REASONS = frozenset({
    "kill", "paused", "halted", "flatten", "stale_book", "invalid_price", "price_collar",
    "self_cross", "max_order_size", "position_limit", "position_contracts", "exposure_limit",
    "event_limit", "min_spread", "max_orders", "exit_clip", "rate_throttle", "duplicate",
    "unknown_market",
})
"""Every reason a decision can carry (a bounded label set for metrics)."""


class GateState(Struct, frozen=True, kw_only=True):
    """The switches that reject a market's intents outright."""

    killed: bool = False
    paused: bool = False
    halted: bool = False
    stale: bool = False
    flattening: bool = False


class BookTop(Struct, frozen=True, kw_only=True):
    """The best bid and ask of the market's book in YES pips (0: side empty or unknown)."""

    bid: int = 0
    ask: int = 0


class EventContext(Struct, frozen=True, kw_only=True):
    """What the other markets of the same event hold and quote (YES terms)."""

    other_net: int = 0
    bids: tuple[int, ...] = ()
    asks: tuple[int, ...] = ()


class Decision(Struct, frozen=True, kw_only=True):
    """What risk does with an intent; `bids`/`asks` are what goes to the executor."""

    outcome: DecisionOutcome
    bids: tuple[Level, ...] = ()
    asks: tuple[Level, ...] = ()
    reasons: tuple[str, ...] = ()
    exit_bids: tuple[Level, ...] = ()
    exit_asks: tuple[Level, ...] = ()


def reject(reason: str) -> Decision:
    """A rejection: the empty ladder, which pulls every quote of the market."""
    return Decision(outcome="rejected", reasons=(reason,))


def _clip_side(
    levels: Sequence[Level],
    *,
    is_bid: bool,
    net: int,
    lim: Limits,
    total_limit: int,
    event_limit: int,
    other_exposure: int,
    event: EventContext,
    reasons: set[str],
) -> tuple[Level, ...]:
    # Plain locals and comparisons, no per-level lists: this runs for every level of every
    # intent (issue 9). Ties between limits name the alphabetically first, as min() over
    # (room, reason) pairs would.
    max_order = lim.order_centi
    min_size = max(1, lim.min_size_centi)
    position_money = lim.position_money
    position_centi = lim.position_centi
    exposure_room = total_limit - other_exposure
    event_net = event.other_net if is_bid else -event.other_net
    out: list[Level] = []
    cum = 0
    for lv in levels:
        size = lv.size
        if size > max_order:
            size = max_order
            reasons.add("max_order_size")
        rpc = lv.price if is_bid else ONE_DOLLAR - lv.price  # money at risk per contract
        # Quantity on the growing side (long for bids, short for asks) before this level.
        after = net + cum if is_bid else -(net - cum)
        room, why = position_money // rpc - after, "position_limit"
        r = exposure_room // rpc - after
        if r < room or (r == room and "exposure_limit" < why):
            room, why = r, "exposure_limit"
        if position_centi:
            r = position_centi - after
            if r < room or (r == room and "position_contracts" < why):
                room, why = r, "position_contracts"
        if event_limit:
            r = event_limit // rpc - (after + event_net)
            if r < room or (r == room and "event_limit" < why):
                room, why = r, "event_limit"
        if size > room:
            size = max(0, room)
            reasons.add(why)
        if size != lv.size and size < min_size:
            continue  # clipped below the venue minimum: drop it
        cum += size
        if size > 0:
            out.append(Level(price=lv.price, size=size))
    return tuple(out)


def check_intent(
    bids: Sequence[Level],
    asks: Sequence[Level],
    *,
    net: int,
    market: MarketConfig,
    risk: RiskConfig,
    other_exposure: int,
    gate: GateState,
    limits: Limits | None = None,
    fair_value: int = 0,
    book: BookTop = BookTop(),
    event: EventContext = EventContext(),
    exit_bids: Sequence[Level] = (),
    exit_asks: Sequence[Level] = (),
) -> Decision:
    """Approve, clip or reject a ladder (and its exit orders) for one market.

    `net` is the market's netted YES position (centi); `other_exposure` the money at
    risk (micro-dollars) in every other market, see `position.exposure`; `limits` the
    market's resolved limits (`market_limits.resolve`; derived from `market` and `risk` when
    omitted); `fair_value` 0 means unknown.
    """
    if gate.killed:
        return reject("kill")
    if gate.paused:
        return reject("paused")
    if gate.halted:
        return reject("halted")
    if gate.flattening:
        return reject("flatten")
    if gate.stale and (bids or asks):
        return reject("stale_book")
    lim = limits if limits is not None else resolve(risk, market)
    reasons: set[str] = set()
    b = ladder.valid(bids, reasons)
    a = ladder.valid(asks, reasons)
    b, a = ladder.collar(b, a, fair_value=fair_value, book_bid=book.bid, book_ask=book.ask,
                         collar=lim.collar_pips, reasons=reasons)
    b, a = ladder.no_self_cross(b, a, net=net, event_bids=event.bids, event_asks=event.asks,
                                reasons=reasons)
    total_limit = round(risk.max_total_exposure_usd * MONEY_SCALE)
    event_limit = round(risk.max_event_position_usd * MONEY_SCALE)
    new_bids = _clip_side(b, is_bid=True, net=net, lim=lim, total_limit=total_limit,
                          event_limit=event_limit, other_exposure=other_exposure, event=event,
                          reasons=reasons)
    new_asks = _clip_side(a, is_bid=False, net=net, lim=lim, total_limit=total_limit,
                          event_limit=event_limit, other_exposure=other_exposure, event=event,
                          reasons=reasons)
    new_bids, new_asks = ladder.min_spread(new_bids, new_asks, net=net,
                                           min_spread=lim.min_spread_pips, reasons=reasons)
    new_bids, new_asks = ladder.max_orders(new_bids, new_asks, net=net,
                                           max_orders=lim.max_orders, reasons=reasons)
    ex_bids, ex_asks = ladder.exits(exit_bids, exit_asks, net=net, lim=lim, book_bid=book.bid,
                                    book_ask=book.ask, reasons=reasons)
    outcome: DecisionOutcome = "clipped" if reasons else "approved"
    return Decision(outcome=outcome, bids=new_bids, asks=new_asks,
                    reasons=tuple(sorted(reasons)), exit_bids=ex_bids, exit_asks=ex_asks)


def throttle(tokens: float, last_ns: int, now_ns: int, rate_per_s: float,
             burst: int) -> tuple[bool, float, int]:
    """Token bucket: (allowed, tokens left, refill time). A rate of 0 always allows."""
    if rate_per_s <= 0:
        return True, float(burst), now_ns
    tokens = min(float(burst), tokens + max(0, now_ns - last_ns) * rate_per_s / 1e9)
    if tokens >= 1.0:
        return True, tokens - 1.0, now_ns
    return False, tokens, now_ns
