"""Kalshi trade API v2 REST on the simulator, under /trade-api/v2, on the shared engine.

Every route verifies the RSA-PSS signature of ``ts_ms + METHOD + path`` with the
account's registered public key (401 otherwise, also for a timestamp outside the
configured window). V2 event-order writes are primary; the legacy /portfolio/orders
writes are a compatibility layer on the same engine. Kalshi's book holds bids only:
a `bid` at p is BUY YES at p, an `ask` at p is BUY NO at 1 - p.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from common.errors import PriceError
from common.kalshi_auth import KEY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, load_public_pem, verify
from common.prices import price_from_str, size_from_str
from services.venue_sim import kalshi_wire as kw
from services.venue_sim.accounts import AuthFailed
from services.venue_sim.book import ONE, Order
from services.venue_sim.kalshi_groups import OrderGroups
from services.venue_sim.model import (
    NO_BALANCE,
    POST_ONLY_CROSSES,
    OrderRejected,
    OrderRequest,
    Trade,
)

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

    from services.venue_sim.server import Venue

log = logging.getLogger(__name__)

BASE = "/trade-api/v2"
LEGACY_MAX_BATCH = 20
V2_MAX_BATCH = 100
TIF = {"good_till_canceled": "GTC", "immediate_or_cancel": "FAK", "fill_or_kill": "FOK"}
Handler = Callable[[web.Request, str, Any], Awaitable[web.Response]]


class KalshiReject(Exception):
    """A definitive Kalshi error: HTTP status, code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict[str, Any]:
        return kw.err(self.code, self.message)


class KalshiBook:
    """Kalshi accounts (key id -> public key) and client order ids on top of the engine."""

    def __init__(self, venue: Venue) -> None:
        self.venue = venue
        self.keys: dict[str, RSAPublicKey] = {}
        self.client_ids: dict[str, str] = {}
        """order id -> client order id."""
        self.open_ids: dict[tuple[str, str], str] = {}
        """(account, client order id) -> order id, for idempotency among open orders."""
        self.groups = OrderGroups(venue)
        venue.engine.on_forget.append(self._forget)

    def _forget(self, order: Order) -> None:
        """The engine dropped a finished order: drop its client id mappings too."""
        cid = self.client_ids.pop(order.id, "")
        if cid and self.open_ids.get((order.account, cid)) == order.id:
            del self.open_ids[(order.account, cid)]
        self.groups.forget(order.id)

    def register(self, key_id: str, pem: bytes) -> str:
        """Accept `pem` as the public key of `key_id`; open its account; return the account."""
        self.keys[key_id] = load_public_pem(pem)
        account = kw.account_of(key_id)
        self.venue.open_external(account)
        return account

    def authenticate(self, headers: Any, method: str, path: str) -> str:
        """The account of a correctly signed, fresh request; AuthFailed otherwise."""
        key_id = headers.get(KEY_HEADER, "")
        ts = headers.get(TIMESTAMP_HEADER, "")
        sig = headers.get(SIGNATURE_HEADER, "")
        key = self.keys.get(key_id)
        try:
            age = abs(self.venue.clock_ms() - int(ts))
        except ValueError:
            raise AuthFailed("bad timestamp") from None
        if key is None or age > self.venue.sim.kalshi_auth_window_ms or not verify(
            key, sig, ts, method, path
        ):
            raise AuthFailed("authentication failed")
        return kw.account_of(key_id)

    # --- orders ----------------------------------------------------------------------------

    def place(self, account: str, ticker: str, bid: bool, yes_price: int, count: int,
              tif: str, post_only: bool, client_order_id: str, *, group: str = "") -> Order:
        """Place a `bid` (BUY YES) or `ask` (BUY NO) at a YES price; raise KalshiReject."""
        engine = self.venue.engine
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
        if post_only and self.venue.faults.take("post_only_reject"):
            raise KalshiReject(400, kw.POST_ONLY_CROSS, "post only order would cross the book")
        yes_tok, no_tok = kw.tokens(ticker)
        token, price = (yes_tok, yes_price) if bid else (no_tok, ONE - yes_price)
        try:
            placement = engine.place(OrderRequest(
                order_id=engine.new_uuid(), account=account, asset_id=token, side="BUY",
                price=price, size=count, order_type=tif, post_only=post_only,
            ))
        except OrderRejected as exc:
            self.venue.orders_rejected += 1
            if exc.message == POST_ONLY_CROSSES:
                raise KalshiReject(400, kw.POST_ONLY_CROSS,
                                   "post only order would cross the book") from None
            if exc.message == NO_BALANCE:
                raise KalshiReject(400, kw.INSUFFICIENT_BALANCE, "insufficient balance") from None
            raise KalshiReject(400, kw.INVALID_ORDER, exc.message) from None
        self.venue.orders_accepted += 1
        order = placement.order
        self.client_ids[order.id] = client_order_id
        self.groups.attach(order_group, order.id)
        if client_order_id:
            self.open_ids[(account, client_order_id)] = order.id
        return order

    def order_of(self, account: str, order_id: str) -> Order:
        order = self.venue.engine.orders.get(order_id)
        if order is None or order.account != account:
            raise KalshiReject(404, kw.NOT_FOUND, f"order {order_id} not found")
        return order

    def cancel(self, account: str, order_id: str) -> tuple[Order, int]:
        """Cancel (reduce to zero); return the order and how much was cancelled."""
        order = self.order_of(account, order_id)
        left = order.remaining if order.status == "LIVE" else 0
        if left:
            self.venue.engine.cancel(account, order_id)
        return order, left

    def fills_of(self, order: Order) -> list[Trade]:
        """The trades of `order` still in its account's trade log (newest first)."""
        wanted = set(order.trade_ids)
        out: list[Trade] = []
        if not wanted:
            return out
        for trade in reversed(self.venue.engine.accounts[order.account].trades):
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


def _v2_order_args(item: Any) -> tuple[str, bool, int, int, str, bool, str]:
    """Read a CreateOrderV2Request; raise KalshiReject(400) if malformed."""
    try:
        side = item["side"]
        if side not in ("bid", "ask"):
            raise KeyError("side")
        tif = TIF[item.get("time_in_force", "good_till_canceled")]
        return (str(item["ticker"]), side == "bid", price_from_str(str(item["price"])),
                size_from_str(str(item["count"])), tif, bool(item.get("post_only", False)),
                str(item.get("client_order_id") or ""))
    except (KeyError, TypeError, PriceError) as exc:
        raise KalshiReject(400, kw.BAD_REQUEST, f"invalid order request: {exc}") from None


def _legacy_order_args(item: Any) -> tuple[str, bool, int, int, str, bool, str]:
    """Read a legacy CreateOrderRequest (side yes|no, action buy|sell, one price field)."""
    try:
        outcome, action = item["side"], item.get("action", "buy")
        if outcome not in ("yes", "no") or action not in ("buy", "sell"):
            raise KeyError("side/action")
        prices = [k for k in ("yes_price", "no_price", "yes_price_dollars", "no_price_dollars")
                  if item.get(k) is not None]
        if len(prices) != 1:
            raise KeyError("exactly one price field")
        field = prices[0]
        own = (int(item[field]) * 100 if not field.endswith("dollars")
               else price_from_str(str(item[field])))
        yes_price = own if field.startswith("yes") else ONE - own
        count = (size_from_str(str(item["count_fp"])) if item.get("count_fp") is not None
                 else int(item["count"]) * 100)
        buys_yes = (outcome == "yes") == (action == "buy")
        tif = TIF[item.get("time_in_force", "good_till_canceled")]
        return (str(item["ticker"]), buys_yes, yes_price, count, tif,
                bool(item.get("post_only", False)), str(item.get("client_order_id") or ""))
    except (KeyError, TypeError, ValueError, PriceError) as exc:
        raise KalshiReject(400, kw.BAD_REQUEST, f"invalid order request: {exc}") from None


def _created(order: Order, fills: list[Trade], client_order_id: str,
             now_ms: int) -> dict[str, Any]:
    """A CreateOrderV2Response / AmendOrderV2Response: what filled, at its real average price.

    `average_fill_price` is the count-weighted mean YES price of the order's fills (the
    V2 API quotes every price in YES terms), not the order's limit.
    """
    return {"order_id": order.id, "client_order_id": client_order_id,
            "fill_count": kw.fp(order.size_matched), "remaining_count": kw.fp(
                order.remaining if order.status == "LIVE" else 0),
            "average_fill_price": kw.average_yes_price(fills),
            "average_fee_paid": "0.0000", "ts_ms": now_ms}


def add_kalshi_routes(app: web.Application, venue: Venue) -> None:
    """Register the Kalshi REST API (see kalshi_routes.py)."""
    from services.venue_sim.kalshi_routes import add_kalshi_routes as add

    add(app, venue)
