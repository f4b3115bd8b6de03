"""Kalshi orders on the simulator's shared engine: placing, cancelling, client order ids.

Kalshi's book holds bids only: a `bid` at p is BUY YES at p, an `ask` at p is BUY NO
at 1 - p. Client order ids are unique among an account's open orders; the engine's
forgetting of a finished order also drops its client id and group membership.
The routes are in kalshi_routes.py.
"""

from __future__ import annotations

from typing import Any

from services.venue_sim import kalshi_wire as kw
from services.venue_sim.book import ONE, Order
from services.venue_sim.counters import VenueCounters
from services.venue_sim.engine import Engine
from services.venue_sim.faults import Faults
from services.venue_sim.kalshi_groups import OrderGroups
from services.venue_sim.kalshi_keys import KalshiKeys
from services.venue_sim.kalshi_wire import KalshiReject
from services.venue_sim.markets import kalshi_tokens
from services.venue_sim.model import (
    NO_BALANCE,
    POST_ONLY_CROSSES,
    OrderRejected,
    OrderRequest,
    Trade,
)

__all__ = ["KalshiBook"]


class KalshiBook:
    """Kalshi accounts, orders and client order ids on top of the engine."""

    def __init__(self, engine: Engine, *, keys: KalshiKeys, groups: OrderGroups,
                 client_ids: dict[str, str], faults: Faults, counters: VenueCounters,
                 start_collateral: int) -> None:
        self.engine = engine
        self.keys = keys
        self.groups = groups
        self.faults = faults
        self.counters = counters
        self.start_collateral = start_collateral
        self.client_ids = client_ids
        """order id -> client order id (shared with the websocket hub's fill messages)."""
        self.open_ids: dict[tuple[str, str], str] = {}
        """(account, client order id) -> order id, for idempotency among open orders."""
        engine.on_forget.append(self._forget)

    def _forget(self, order: Order) -> None:
        """The engine dropped a finished order: drop its client id mappings too."""
        cid = self.client_ids.pop(order.id, "")
        if cid and self.open_ids.get((order.account, cid)) == order.id:
            del self.open_ids[(order.account, cid)]
        self.groups.forget(order.id)

    def register(self, key_id: str, pem: bytes) -> str:
        """Accept `pem` as the public key of `key_id`; open its account; return the account."""
        account = self.keys.register(key_id, pem)
        self.engine.open_account(account, self.start_collateral)
        return account

    # --- orders ----------------------------------------------------------------------------

    def place(self, account: str, ticker: str, bid: bool, yes_price: int, count: int,
              tif: str, post_only: bool, client_order_id: str, *, group: str = "") -> Order:
        """Place a `bid` (BUY YES) or `ask` (BUY NO) at a YES price; raise KalshiReject."""
        engine = self.engine
        market = engine.markets.get(ticker)
        if market is None or market.venue != "kalshi":
            raise KalshiReject(404, kw.MARKET_NOT_FOUND, f"market {ticker} not found")
        if client_order_id:
            prev = self.open_ids.get((account, client_order_id))
            if prev is not None and engine.orders.get(prev) is not None and \
                    engine.orders[prev].status == "LIVE":
                raise KalshiReject(409, kw.DUPLICATE_CLIENT_ORDER_ID,
                                   f"client_order_id {client_order_id} is already in use")
        order_group = self.groups.check_open(account, group)
        if post_only and self.faults.take("post_only_reject"):
            raise KalshiReject(400, kw.POST_ONLY_CROSS, "post only order would cross the book")
        yes_tok, no_tok = kalshi_tokens(ticker)
        token, price = (yes_tok, yes_price) if bid else (no_tok, ONE - yes_price)
        try:
            placement = engine.place(OrderRequest(
                order_id=engine.new_uuid(), account=account, asset_id=token, side="BUY",
                price=price, size=count, order_type=tif, post_only=post_only,
            ))
        except OrderRejected as exc:
            self.counters.orders_rejected += 1
            if exc.message == POST_ONLY_CROSSES:
                raise KalshiReject(400, kw.POST_ONLY_CROSS,
                                   "post only order would cross the book") from None
            if exc.message == NO_BALANCE:
                raise KalshiReject(400, kw.INSUFFICIENT_BALANCE, "insufficient balance") from None
            raise KalshiReject(400, kw.INVALID_ORDER, exc.message) from None
        self.counters.orders_accepted += 1
        order = placement.order
        self.client_ids[order.id] = client_order_id
        self.groups.attach(order_group, order.id)
        if client_order_id:
            self.open_ids[(account, client_order_id)] = order.id
        return order

    def order_of(self, account: str, order_id: str) -> Order:
        order = self.engine.orders.get(order_id)
        if order is None or order.account != account:
            raise KalshiReject(404, kw.NOT_FOUND, f"order {order_id} not found")
        return order

    def cancel(self, account: str, order_id: str) -> tuple[Order, int]:
        """Cancel (reduce to zero); return the order and how much was cancelled."""
        order = self.order_of(account, order_id)
        left = order.remaining if order.status == "LIVE" else 0
        if left:
            self.engine.cancel(account, order_id)
        return order, left

    def fills_of(self, order: Order) -> list[Trade]:
        """The trades of `order` still in its account's trade log (newest first)."""
        wanted = set(order.trade_ids)
        out: list[Trade] = []
        if not wanted:
            return out
        for trade in reversed(self.engine.accounts[order.account].trades):
            if trade.id in wanted and order.id in (trade.taker_order_id, trade.maker_order_id):
                out.append(trade)
                if len(out) == len(wanted):
                    break
        return out

    def as_json(self, order: Order) -> dict[str, Any]:
        return kw.order_json(order, ticker=order.market,
                             client_order_id=self.client_ids.get(order.id, ""),
                             user_id=order.account.removeprefix(kw.ACCOUNT_PREFIX),
                             fills=self.fills_of(order))
