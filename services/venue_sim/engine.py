"""Pure, deterministic matching engine of the venue simulator (no I/O, no wall clock).

One book per market in YES-price terms (pips, centi-contracts). An order on the NO
token at q is the opposite side at 1 - q, so BUY YES meets BUY NO (mint) and SELL YES
meets SELL NO (merge), as on Polymarket. Each call appends events to `events`; the
server drains them and turns them into wire messages.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable

from common.prices import price_to_str
from services.venue_sim import allowances, ledger
from services.venue_sim.book import ONE, Book, BookSide, Order, Side
from services.venue_sim.ids import SeededIds
from services.venue_sim.model import (
    FAK_KILLED,
    FOK_KILLED,
    GTD_BUFFER_S,
    NO_BALANCE,
    POST_ONLY_CROSSES,
    Account,
    Event,
    LevelChanged,
    OrderChanged,
    OrderRejected,
    OrderRequest,
    Placement,
    SimMarket,
    Trade,
    Traded,
)
from services.venue_sim.rules import check_request, on_grid

__all__ = [
    "Account", "Engine", "Event", "LevelChanged", "OrderChanged", "OrderRejected",
    "OrderRequest", "Placement", "SimMarket", "Trade", "Traded",
]


FINISHED_KEEP = 10_000
"""Finished (filled, cancelled, killed) orders of external accounts kept for queries.

A real venue answers `GET /order/{id}` and rejects a replayed order id forever; the
simulator does both for the newest FINISHED_KEEP finished orders (minutes of a busy soak,
the whole of any test) and forgets older ones, so its memory stays flat over long runs.
"""


class Engine:
    """Books, accounts and orders of every simulated market."""

    def __init__(
        self, markets: list[SimMarket], *, clock_ms: Callable[[], int], id_seed: int
    ) -> None:
        self.markets = {m.condition_id: m for m in markets}
        self.tokens: dict[str, tuple[SimMarket, bool]] = {}
        for m in markets:
            self.tokens[m.yes_token] = (m, True)
            self.tokens[m.no_token] = (m, False)
        self.books = {m.condition_id: Book() for m in markets}
        self.accounts: dict[str, Account] = {}
        self.orders: dict[str, Order] = {}
        """Live orders of everyone, plus the newest FINISHED_KEEP finished external ones."""
        self.seen: set[str] = set()
        """Ids of external orders in `orders` and of those not yet forgotten (duplicates)."""
        self._finished: deque[str] = deque()
        self.forgotten = 0
        self.on_forget: list[Callable[[Order], None]] = []
        """Called with each finished order dropped from `orders` (Kalshi's client ids)."""
        self.last_trade: dict[str, tuple[int, Side]] = {}
        """Per market: YES price and taker side (in YES terms) of the latest trade."""
        self.events: list[Event] = []
        self.clock_ms = clock_ms
        self.ids = SeededIds(id_seed)
        self._gtd: dict[str, Order] = {}
        self.wallets_approved = True
        """Whether a new Polymarket wallet starts with its collateral approved for both
        exchanges without limit (`[sim] approved`); if not, it must `approve` first."""

    # --- accounts -------------------------------------------------------------------------

    def open_account(self, address: str, collateral: int, *, internal: bool = False) -> Account:
        acct = self.accounts.get(address)
        if acct is None:
            acct = Account(address=address, internal=internal, collateral=collateral)
            self.accounts[address] = acct
        return acct

    def open_wallet(self, address: str, collateral: int) -> Account:
        """A Polymarket wallet: an account whose BUYs the exchange contracts fund only as
        far as it approved them (allowances.py, `wallets_approved`)."""
        fresh = address not in self.accounts
        acct = self.open_account(address, collateral)
        if fresh and not self.wallets_approved:
            acct.allowances = {}
        return acct

    def new_id(self) -> str:
        """A seeded 256-bit hex id (the background traders' order ids)."""
        return self.ids.hex256()

    def drain(self) -> list[Event]:
        out, self.events = self.events, []
        return out

    # --- queries --------------------------------------------------------------------------

    def best(self, market: str) -> tuple[int | None, int | None]:
        book = self.books[market]
        return book.bids.best(), book.asks.best()

    def depth(
        self, market: str, limit: int | None = None
    ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        book = self.books[market]
        return book.bids.depth(limit), book.asks.depth(limit)

    def level_size(self, market: str, yes_bid: bool, price: int) -> int:
        side = self.books[market].bids if yes_bid else self.books[market].asks
        return side.sizes.get(price, 0)

    def set_tick(self, market: str, tick: int) -> tuple[SimMarket, SimMarket]:
        """Switch a market's price grid to `tick`; return its (old, new) records."""
        old = self.markets[market]
        new = dataclasses.replace(old, tick=tick)
        self.markets[market] = new
        self.tokens[new.yes_token] = (new, True)
        self.tokens[new.no_token] = (new, False)
        return old, new

    # --- placing --------------------------------------------------------------------------

    def place(self, req: OrderRequest) -> Placement:
        """Validate, match and rest (or kill) one order; raise OrderRejected on a reject."""
        found = self.tokens.get(req.asset_id)
        if found is None:
            raise OrderRejected(f"order {req.order_id} is invalid. market not found for token")
        market, is_yes = found
        acct = self.accounts.get(req.account)
        if acct is None:
            raise OrderRejected(NO_BALANCE)
        check_request(req, market, acct, seen=self.seen, now_s=self.clock_ms() // 1000)
        if req.side == "BUY":
            allowances.check(acct, self.markets, market, req.price * req.size)
        book = self.books[market.condition_id]
        yes_bid = (req.side == "BUY") == is_yes
        limit = req.price if is_yes else ONE - req.price
        opposite = book.asks if yes_bid else book.bids
        crosses = opposite.crosses(limit)
        if req.post_only and crosses:
            raise OrderRejected(POST_ONLY_CROSSES)
        if req.order_type == "FOK" and opposite.fillable(limit, req.size) < req.size:
            raise OrderRejected(FOK_KILLED)
        if req.order_type == "FAK" and not crosses:
            raise OrderRejected(FAK_KILLED)

        now = self.clock_ms()
        order = Order(
            id=req.order_id, account=req.account, market=market.condition_id,
            asset_id=req.asset_id, is_yes=is_yes, side=req.side, price=req.price,
            original_size=req.size, order_type=req.order_type, post_only=req.post_only,
            expiration=req.expiration, created_ms=now,
        )
        if not acct.internal:
            self.seen.add(order.id)  # internal ids are random 256-bit: no need to remember them
        ledger.hold(acct, req.side, req.asset_id, req.price, req.size)
        self.orders[order.id] = order
        acct.open_orders[order.id] = order
        self.events.append(OrderChanged("PLACEMENT", order, 0, "LIVE", now))

        trades: list[Trade] = []
        if crosses:
            self._match(order, opposite, limit, market, trades, now)
        if order.remaining == 0:
            self._finish(order, "MATCHED")
        elif req.order_type in ("FOK", "FAK"):
            self._release(order)
            self._finish(order, "CANCELED")
            self.events.append(
                OrderChanged("CANCELLATION", order, order.size_matched, "CANCELED", now)
            )
        else:
            side = book.bids if yes_bid else book.asks
            size = side.add(order)
            self.events.append(LevelChanged(market.condition_id, yes_bid, limit, size, order.id))
            if req.order_type == "GTD":
                self._gtd[order.id] = order
        return Placement(order, tuple(trades))

    def _match(
        self, taker: Order, opposite: BookSide, limit: int, market: SimMarket,
        trades: list[Trade], now: int,
    ) -> None:
        while taker.remaining > 0:
            best = opposite.best()
            if best is None or (best < limit if opposite.is_bid else best > limit):
                break
            maker = opposite.levels[best][0]
            qty = min(taker.remaining, maker.remaining)
            trade = self._settle(taker, maker, best, qty, market, now)
            trades.append(trade)
            size = opposite.reduce(best, qty)
            if maker.remaining == 0:
                opposite.pop_front(best)
                self._finish(maker, "MATCHED")
            self.events.append(LevelChanged(market.condition_id, opposite.is_bid, best, size, maker.id))

    def _settle(
        self, taker: Order, maker: Order, yes_price: int, qty: int, market: SimMarket, now: int
    ) -> Trade:
        trade_id = self.ids.uuid4()
        tx_hash = self.ids.hex256()
        prices = []
        for order in (taker, maker):
            own = yes_price if order.is_yes else ONE - yes_price
            prices.append(own)
            acct = self.accounts[order.account]
            ledger.settle(acct, order, own, qty)
            if order.side == "BUY":
                allowances.spend(acct, market, own * qty)
            order.size_matched += qty
            order.trade_ids.append(trade_id)
        trade = Trade(
            id=trade_id, market=market.condition_id, match_ms=now, tx_hash=tx_hash, size=qty,
            yes_price=yes_price,
            taker_order_id=taker.id, taker_account=taker.account, taker_asset=taker.asset_id,
            taker_outcome="Yes" if taker.is_yes else "No", taker_side=taker.side,
            taker_price=prices[0],
            maker_order_id=maker.id, maker_account=maker.account, maker_asset=maker.asset_id,
            maker_outcome="Yes" if maker.is_yes else "No", maker_side=maker.side,
            maker_price=prices[1],
        )
        for order in (taker, maker):
            acct = self.accounts[order.account]
            if not acct.internal:
                acct.trades.append(trade)
                acct.trades_total += 1
        # Taker side in YES terms: a taker on the YES bid side lifted the offer.
        self.last_trade[market.condition_id] = (yes_price, "BUY" if taker.yes_bid else "SELL")
        self.events.append(
            OrderChanged(
                "UPDATE", maker, maker.size_matched,
                "MATCHED" if maker.remaining == 0 else "LIVE", now,
            )
        )
        self.events.append(
            OrderChanged(
                "UPDATE", taker, taker.size_matched,
                "MATCHED" if taker.remaining == 0 else "LIVE", now,
            )
        )
        self.events.append(Traded(trade))
        return trade

    def new_uuid(self) -> str:
        """A deterministic (seeded) UUID4, for venues whose ids are UUIDs (Kalshi)."""
        return self.ids.uuid4()

    def _release(self, order: Order) -> None:
        ledger.release(self.accounts[order.account], order, order.remaining)

    def _finish(self, order: Order, status: str) -> None:
        order.status = status
        acct = self.accounts[order.account]
        acct.open_orders.pop(order.id, None)
        self._gtd.pop(order.id, None)
        if acct.internal:
            self.orders.pop(order.id, None)
            return
        self._finished.append(order.id)
        while len(self._finished) > FINISHED_KEEP:
            self._forget(self._finished.popleft())

    def _forget(self, order_id: str) -> None:
        """Drop one finished external order: it is no longer listed, queried or a duplicate."""
        order = self.orders.pop(order_id, None)
        self.seen.discard(order_id)
        self.forgotten += 1
        if order is not None:
            for hook in self.on_forget:
                hook(order)

    # --- cancelling -----------------------------------------------------------------------

    def cancel(self, account: str, order_id: str, status: str = "CANCELED") -> str | None:
        """Cancel one live order of `account`; return None, or the reason it was not."""
        order = self.orders.get(order_id)
        if order is None or order.account != account:
            return "Order not found or already canceled"
        if order.status != "LIVE":
            return "already canceled or matched"
        book = self.books[order.market]
        side = book.bids if order.yes_bid else book.asks
        size = side.remove(order)
        self._release(order)
        self._finish(order, status)
        now = self.clock_ms()
        self.events.append(OrderChanged("CANCELLATION", order, order.size_matched, status, now))
        self.events.append(LevelChanged(order.market, order.yes_bid, order.yes_price, size, order.id))
        return None

    def cancel_where(
        self, account: str, market: str = "", asset_id: str = "", status: str = "CANCELED"
    ) -> list[str]:
        """Cancel every live order of `account`, optionally only in a market or on a token."""
        acct = self.accounts.get(account)
        if acct is None:
            return []
        ids = [
            o.id for o in acct.open_orders.values()
            if (not market or o.market == market) and (not asset_id or o.asset_id == asset_id)
        ]
        for oid in ids:
            self.cancel(account, oid, status)
        return ids

    def expire(self, now_s: int) -> list[str]:
        """Cancel GTD orders whose expiration (less the 60 s buffer) has passed."""
        due = [o for o in self._gtd.values() if o.expiration - GTD_BUFFER_S <= now_s]
        for o in due:
            self.cancel(o.account, o.id, "CANCELED")
        return [o.id for o in due]

    # --- amending (Kalshi) ------------------------------------------------------------------

    def decrease(self, account: str, order_id: str, reduce_by: int) -> int:
        """Shrink a live order in place, keeping its queue priority; return the new remaining.

        Reducing to zero cancels it. Raise OrderRejected (404) for an unknown order.
        """
        order = self.orders.get(order_id)
        if order is None or order.account != account or order.status != "LIVE":
            raise OrderRejected("order not found", 404)
        cut = min(max(0, reduce_by), order.remaining)
        if cut == order.remaining:
            self.cancel(account, order_id)
            return 0
        book = self.books[order.market]
        side = book.bids if order.yes_bid else book.asks
        size = side.reduce(order.yes_price, cut)
        ledger.release(self.accounts[account], order, cut)
        order.original_size -= cut
        now = self.clock_ms()
        self.events.append(OrderChanged("UPDATE", order, order.size_matched, "LIVE", now))
        self.events.append(LevelChanged(order.market, order.yes_bid, order.yes_price, size, order.id))
        return order.remaining

    def amend(self, account: str, order_id: str, price: int, remaining: int) -> Order:
        """Move a live post-only order to `price` (its own token terms) with `remaining` left.

        The order keeps its id and loses queue priority; an amend that would cross is
        refused like a post-only placement and leaves the order untouched.
        """
        order = self.orders.get(order_id)
        if order is None or order.account != account or order.status != "LIVE":
            raise OrderRejected("order not found", 404)
        market = self.markets[order.market]
        tick = market.tick
        if not on_grid(price, tick):
            raise OrderRejected(f"price {price_to_str(price)} is not on the market's price grid")
        if remaining <= 0 or remaining < market.min_size:
            raise OrderRejected("count below the market minimum")
        book = self.books[order.market]
        limit = price if order.is_yes else ONE - price
        opposite = book.asks if order.yes_bid else book.bids
        if opposite.crosses(limit):
            raise OrderRejected(POST_ONLY_CROSSES)
        acct = self.accounts[account]
        if order.side == "BUY":
            extra = price * remaining - order.price * order.remaining
            if extra > acct.free_collateral():
                raise OrderRejected(NO_BALANCE)
        side = book.bids if order.yes_bid else book.asks
        old_price = order.yes_price
        size = side.remove(order)
        self.events.append(LevelChanged(order.market, order.yes_bid, old_price, size, order.id))
        self._release(order)
        order.price = price
        order.original_size = order.size_matched + remaining
        ledger.hold(acct, order.side, order.asset_id, price, remaining)
        size = side.add(order)
        now = self.clock_ms()
        self.events.append(OrderChanged("UPDATE", order, order.size_matched, "LIVE", now))
        self.events.append(LevelChanged(order.market, order.yes_bid, order.yes_price, size, order.id))
        return order
