"""Pure risk checks on a quote intent: approve it, clip it, or reject it.

A rejection never means "do nothing": the actor still forwards an empty ladder, so the
executor pulls the market's quotes. Clipping only ever removes size or levels, and it
never touches a level that moves the netted position towards flat beyond what the
limits allow for flat itself: trades that reduce |net| are always let through.

Limits, in the order they apply:
1. kill switch latched (global, the market's venue, or the market) -> reject "kill"
2. paused -> reject "paused"; market halted (loss limit) -> reject "halted"
3. the market's book is stale -> reject "stale_book"
4. a level priced outside (0, 1) -> drop it, "invalid_price"
5. each level's size capped at `[risk] max_order_size` contracts -> "max_order_size"
6. walking each side best level first, the position after every level on it fills
   must stay within `max_position_usd` of the market ("position_limit") and keep the
   total exposure within `[risk] max_total_exposure_usd` ("exposure_limit"); both are
   converted to contracts at the level's own price (a bid at p risks p per contract,
   an ask at p - a BUY NO at 1 - p - risks 1 - p)
7. a level clipped below the market's min size is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from msgspec import Struct

from common.config import MarketConfig, RiskConfig
from common.messages import Level
from common.prices import MONEY_SCALE, ONE_DOLLAR, SIZE_SCALE

DecisionOutcome = Literal["approved", "clipped", "rejected"]

REASONS = frozenset({
    "kill", "paused", "halted", "stale_book", "invalid_price", "max_order_size",
    "position_limit", "exposure_limit", "unknown_market",
})
"""Every reason a decision can carry (a bounded label set for metrics)."""


class GateState(Struct, frozen=True, kw_only=True):
    """The switches that reject a market's intents outright."""

    killed: bool = False
    paused: bool = False
    halted: bool = False
    stale: bool = False


class Decision(Struct, frozen=True, kw_only=True):
    """What risk does with an intent; `bids`/`asks` are what goes to the executor."""

    outcome: DecisionOutcome
    bids: tuple[Level, ...] = ()
    asks: tuple[Level, ...] = ()
    reasons: tuple[str, ...] = ()


def reject(reason: str) -> Decision:
    """A rejection: the empty ladder, which pulls every quote of the market."""
    return Decision(outcome="rejected", reasons=(reason,))


def _clip_side(
    levels: Sequence[Level],
    *,
    is_bid: bool,
    net: int,
    market: MarketConfig,
    risk: RiskConfig,
    other_exposure: int,
    reasons: set[str],
) -> tuple[Level, ...]:
    position_limit = round(market.max_position_usd * MONEY_SCALE)
    total_limit = round(risk.max_total_exposure_usd * MONEY_SCALE)
    max_order = round(risk.max_order_size * SIZE_SCALE)
    min_size = max(1, market.min_size_centi)
    out: list[Level] = []
    cum = 0
    for lv in levels:
        if not 0 < lv.price < ONE_DOLLAR:
            reasons.add("invalid_price")
            continue
        size = lv.size
        if size > max_order:
            size = max_order
            reasons.add("max_order_size")
        risk_per_contract = lv.price if is_bid else ONE_DOLLAR - lv.price
        by_position = position_limit // risk_per_contract
        by_total = (total_limit - other_exposure) // risk_per_contract
        bound = max(0, min(by_position, by_total))
        # Long side of the bound for bids, short side for asks; room before this level.
        after = net + cum if is_bid else -(net - cum)
        room = bound - after
        if size > room:
            size = max(0, room)
            reasons.add("position_limit" if by_position <= by_total else "exposure_limit")
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
) -> Decision:
    """Approve, clip or reject a ladder for one market.

    `net` is the market's netted YES position (centi); `other_exposure` the money at
    risk (micro-dollars) in every other market, see `position.exposure`.
    """
    if gate.killed:
        return reject("kill")
    if gate.paused:
        return reject("paused")
    if gate.halted:
        return reject("halted")
    if gate.stale and (bids or asks):
        return reject("stale_book")
    reasons: set[str] = set()
    new_bids = _clip_side(
        bids, is_bid=True, net=net, market=market, risk=risk,
        other_exposure=other_exposure, reasons=reasons,
    )
    new_asks = _clip_side(
        asks, is_bid=False, net=net, market=market, risk=risk,
        other_exposure=other_exposure, reasons=reasons,
    )
    outcome: DecisionOutcome = "clipped" if reasons else "approved"
    return Decision(outcome=outcome, bids=new_bids, asks=new_asks, reasons=tuple(sorted(reasons)))


def market_loss_breached(realized: int, marked: int, market: MarketConfig) -> bool:
    """True when realized + marked P&L (micro-dollars) is at or below -max_loss_usd."""
    return realized + marked <= -round(market.max_loss_usd * MONEY_SCALE)


def total_loss_breached(total_pnl: int, risk: RiskConfig) -> bool:
    """True when the total P&L over every market is at or below -max_total_loss_usd."""
    return total_pnl <= -round(risk.max_total_loss_usd * MONEY_SCALE)
