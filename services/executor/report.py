"""Pure summaries of our live orders in YES terms, for ExecutorReport."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from common.event_messages import RewardInfo
from common.messages import ExecutorReport, Level, Venue
from common.prices import complement
from services.executor.collateral import locked
from services.executor.orders import LiveOrder, MarketTokens

__all__ = ["ladder_of", "market_reports"]


def ladder_of(
    tokens: MarketTokens, orders: Iterable[LiveOrder]
) -> tuple[tuple[Level, ...], tuple[Level, ...], int]:
    """Our resting YES bids and YES-equivalent asks (best first) and the order count.

    BUY YES at p is a bid at p; BUY NO at q is an ask at 1 - q. Orders with a cancel in
    flight are left out; SELL orders (adopted from elsewhere) mirror the other side.
    """
    bids: dict[int, int] = {}
    asks: dict[int, int] = {}
    count = 0
    for o in orders:
        if o.state == "cancelling" or o.size <= 0:
            continue
        count += 1
        is_yes = o.token == tokens.yes_token
        yes_price = o.price if is_yes else complement(o.price)
        bid_side = is_yes == (o.side == "BUY")
        book = bids if bid_side else asks
        book[yes_price] = book.get(yes_price, 0) + o.size
    return (
        tuple(Level(price=p, size=s) for p, s in sorted(bids.items(), reverse=True)),
        tuple(Level(price=p, size=s) for p, s in sorted(asks.items())),
        count,
    )


def market_reports(venue: Venue, markets: Mapping[str, MarketTokens],
                   live: Iterable[LiveOrder], ts_ns: int, collateral: int | None = None,
                   rewards: Mapping[str, RewardInfo] | None = None) -> list[ExecutorReport]:
    """One ExecutorReport per configured market: our resting ladder there (`ladder_of`),
    the collateral it locks, the account's `collateral` and the market's `rewards`."""
    by_market: dict[str, list[LiveOrder]] = {m: [] for m in markets}
    for o in live:
        by_market.setdefault(o.market, []).append(o)
    out = []
    for m, tokens in markets.items():
        bids, asks, count = ladder_of(tokens, by_market[m])
        out.append(ExecutorReport(
            venue=venue, market=m, ts_ns=ts_ns, open_orders=count,
            best_bid=bids[0].price if bids else 0, best_ask=asks[0].price if asks else 0,
            bids=bids, asks=asks, locked=locked(by_market[m]), collateral=collateral,
            reward=(rewards or {}).get(m)))
    return out
