"""Kalshi trade API v2 REST on the simulator, under /trade-api/v2, on the shared engine.

Every route verifies the RSA-PSS signature of ``ts_ms + METHOD + path`` with the
account's registered public key (401 otherwise, also for a timestamp outside the
configured window). V2 event-order writes are primary; the legacy /portfolio/orders
writes are a compatibility layer on the same engine. Kalshi's book holds bids only:
a `bid` at p is BUY YES at p, an `ask` at p is BUY NO at 1 - p.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web

from common.errors import ConfigError, PriceError
from common.kalshi_auth import KEY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, load_public_pem, verify
from common.prices import price_from_str, size_from_str
from services.venue_sim import kalshi_wire as kw
from services.venue_sim.accounts import AuthFailed
from services.venue_sim.book import ONE, Order
from services.venue_sim.model import NO_BALANCE, POST_ONLY_CROSSES, OrderRejected, OrderRequest
from services.venue_sim.rest import reply

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
              tif: str, post_only: bool, client_order_id: str) -> Order:
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

    def as_json(self, order: Order) -> dict[str, Any]:
        return kw.order_json(order, ticker=order.market,
                             client_order_id=self.client_ids.get(order.id, ""),
                             user_id=order.account.removeprefix(kw.ACCOUNT_PREFIX))


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


def _created(order: Order, client_order_id: str, now_ms: int) -> dict[str, Any]:
    return {"order_id": order.id, "client_order_id": client_order_id,
            "fill_count": kw.fp(order.size_matched), "remaining_count": kw.fp(
                order.remaining if order.status == "LIVE" else 0),
            "average_fill_price": kw.dollars(order.yes_price) if order.size_matched else None,
            "average_fee_paid": "0.0000", "ts_ms": now_ms}


def add_kalshi_routes(app: web.Application, venue: Venue) -> None:  # noqa: C901 - route table
    """Register the Kalshi REST API and the simulator's key-registration endpoint."""
    kb: KalshiBook = venue.kalshi
    engine = venue.engine

    def signed(handler: Handler, *, trading: bool = False) -> Callable[[web.Request],
                                                                      Awaitable[web.Response]]:
        async def wrapped(request: web.Request) -> web.Response:
            path = request.raw_path.split("?", 1)[0]
            try:
                account = kb.authenticate(request.headers, request.method, path)
            except AuthFailed:
                venue.count_malformed("kalshi_auth")
                return reply(kw.err(kw.AUTH_FAILED, "invalid signature or timestamp"), 401)
            after = False
            if trading:
                faults = venue.faults
                if faults.take("slow"):
                    await asyncio.sleep(faults.slow_ms / 1000)
                if faults.take("http_429"):
                    return reply(kw.RATE_LIMITED, 429)
                if faults.take("http_500"):
                    return reply(kw.err("internal_error", "internal server error"), 500)
                after = faults.take("http_500_after")
            raw = await request.read()
            try:
                data = msgspec.json.decode(raw) if raw else None
            except (msgspec.DecodeError, UnicodeDecodeError):
                venue.count_malformed("kalshi_rest")
                return reply(kw.err(kw.BAD_REQUEST, "body is not JSON"), 400)
            try:
                resp = await handler(request, account, data)
            except KalshiReject as exc:
                resp = reply(exc.body(), exc.status)
            finally:
                venue.publish()
            if after:
                return reply(kw.err("internal_error", "internal server error"), 500)
            return resp

        return wrapped

    # --- public ---------------------------------------------------------------------------

    def kalshi_market(ticker: str) -> Any:
        m = engine.markets.get(ticker)
        if m is None or m.venue != "kalshi":
            raise KalshiReject(404, kw.MARKET_NOT_FOUND, f"market {ticker} not found")
        return m

    async def exchange_status(r: web.Request, account: str, data: Any) -> web.Response:
        return reply({"exchange_active": True, "trading_active": True,
                      "exchange_estimated_resume_time": None})

    async def markets(r: web.Request, account: str, data: Any) -> web.Response:
        rows = [kw.market_json(engine, m) for m in engine.markets.values() if m.venue == "kalshi"]
        wanted = [t for t in r.query.get("tickers", "").split(",") if t]
        if wanted:
            rows = [row for row in rows if row["ticker"] in wanted]
        page, cursor = kw.cursor_page(rows, r.query.get("cursor", ""),
                                      int(r.query.get("limit", kw.PAGE_LIMIT)))
        return reply({"markets": page, "cursor": cursor})

    async def market(r: web.Request, account: str, data: Any) -> web.Response:
        return reply({"market": kw.market_json(engine, kalshi_market(r.match_info["ticker"]))})

    async def orderbook(r: web.Request, account: str, data: Any) -> web.Response:
        m = kalshi_market(r.match_info["ticker"])
        yes, no = kw.book_levels(engine, m.condition_id)
        return reply({"orderbook_fp": {"yes_dollars": yes, "no_dollars": no}})

    # --- V2 writes ------------------------------------------------------------------------

    async def create_v2(r: web.Request, account: str, data: Any) -> web.Response:
        ticker, bid, price, count, tif, post_only, coid = _v2_order_args(data)
        order = kb.place(account, ticker, bid, price, count, tif, post_only, coid)
        return reply(_created(order, coid, venue.clock_ms()), 201)

    async def batch_create_v2(r: web.Request, account: str, data: Any) -> web.Response:
        items = data.get("orders") if isinstance(data, dict) else None
        if not isinstance(items, list) or len(items) > V2_MAX_BATCH:
            raise KalshiReject(400, kw.BAD_REQUEST, f"orders must be a list of at most "
                               f"{V2_MAX_BATCH}")
        out = []
        for item in items:
            try:
                ticker, bid, price, count, tif, post_only, coid = _v2_order_args(item)
                order = kb.place(account, ticker, bid, price, count, tif, post_only, coid)
                out.append(_created(order, coid, venue.clock_ms()))
            except KalshiReject as exc:
                coid = str(item.get("client_order_id") or "") if isinstance(item, dict) else ""
                out.append({"order_id": None, "client_order_id": coid, **exc.body()})
        return reply({"orders": out}, 201)

    def cancelled(order: Order, reduced: int) -> dict[str, Any]:
        return {"order_id": order.id, "client_order_id": kb.client_ids.get(order.id, ""),
                "reduced_by": kw.fp(reduced), "ts_ms": venue.clock_ms()}

    async def cancel_v2(r: web.Request, account: str, data: Any) -> web.Response:
        return reply(cancelled(*kb.cancel(account, r.match_info["order_id"])))

    async def batch_cancel_v2(r: web.Request, account: str, data: Any) -> web.Response:
        items = data.get("orders") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise KalshiReject(400, kw.BAD_REQUEST, "orders must be a list")
        out = []
        for item in items:
            oid = str(item.get("order_id", "")) if isinstance(item, dict) else ""
            try:
                out.append(cancelled(*kb.cancel(account, oid)))
            except KalshiReject as exc:
                out.append({"order_id": oid, "reduced_by": "0.00", **exc.body()})
        return reply({"orders": out})

    async def cancel_all_v2(r: web.Request, account: str, data: Any) -> web.Response:
        ids = engine.cancel_where(account)
        return reply({"orders": [{"order_id": i, "client_order_id": kb.client_ids.get(i, "")}
                                 for i in ids], "ts_ms": venue.clock_ms()})

    async def amend_v2(r: web.Request, account: str, data: Any) -> web.Response:
        order = kb.order_of(account, r.match_info["order_id"])
        try:
            side = data["side"]
            yes_price = price_from_str(str(data["price"]))
            total = size_from_str(str(data["count"]))
        except (KeyError, TypeError, PriceError) as exc:
            raise KalshiReject(400, kw.BAD_REQUEST, f"invalid amend: {exc}") from None
        if (side == "bid") != order.is_yes:
            raise KalshiReject(400, kw.INVALID_ORDER, "amend cannot change the side")
        own = yes_price if order.is_yes else ONE - yes_price
        try:
            engine.amend(account, order.id, own, total - order.size_matched)
        except OrderRejected as exc:
            code = kw.POST_ONLY_CROSS if exc.message == POST_ONLY_CROSSES else kw.INVALID_ORDER
            raise KalshiReject(exc.status, code if exc.status != 404 else kw.NOT_FOUND,
                               exc.message) from None
        new_coid = str(data.get("updated_client_order_id") or "")
        if new_coid:
            kb.client_ids[order.id] = new_coid
            kb.open_ids[(account, new_coid)] = order.id
        return reply(_created(order, kb.client_ids.get(order.id, ""), venue.clock_ms()))

    async def decrease_v2(r: web.Request, account: str, data: Any) -> web.Response:
        order = kb.order_of(account, r.match_info["order_id"])
        try:
            if isinstance(data, dict) and data.get("reduce_by") is not None:
                cut = size_from_str(str(data["reduce_by"]))
            else:
                cut = order.remaining - size_from_str(str(data["reduce_to"]))
        except (KeyError, TypeError, PriceError) as exc:
            raise KalshiReject(400, kw.BAD_REQUEST, f"invalid decrease: {exc}") from None
        try:
            left = engine.decrease(account, order.id, cut)
        except OrderRejected as exc:
            raise KalshiReject(404, kw.NOT_FOUND, exc.message) from None
        return reply({"order_id": order.id, "client_order_id": kb.client_ids.get(order.id, ""),
                      "remaining_count": kw.fp(left), "ts_ms": venue.clock_ms()})

    # --- legacy writes --------------------------------------------------------------------

    async def create_legacy(r: web.Request, account: str, data: Any) -> web.Response:
        ticker, bid, price, count, tif, post_only, coid = _legacy_order_args(data)
        order = kb.place(account, ticker, bid, price, count, tif, post_only, coid)
        return reply({"order": kb.as_json(order)}, 201)

    async def batch_create_legacy(r: web.Request, account: str, data: Any) -> web.Response:
        items = data.get("orders") if isinstance(data, dict) else None
        if not isinstance(items, list) or len(items) > LEGACY_MAX_BATCH:
            raise KalshiReject(400, kw.BAD_REQUEST,
                               f"orders must be a list of at most {LEGACY_MAX_BATCH}")
        out = []
        for item in items:
            coid = str(item.get("client_order_id") or "") if isinstance(item, dict) else ""
            try:
                args = _legacy_order_args(item)
                order = kb.place(account, *args)
                out.append({"client_order_id": coid, "order": kb.as_json(order), "error": None})
            except KalshiReject as exc:
                out.append({"client_order_id": coid, "order": None, **exc.body()})
        return reply({"orders": out}, 201)

    async def cancel_legacy(r: web.Request, account: str, data: Any) -> web.Response:
        order, reduced = kb.cancel(account, r.match_info["order_id"])
        return reply({"order": kb.as_json(order), "reduced_by": reduced // 100,
                      "reduced_by_fp": kw.fp(reduced)})

    async def batch_cancel_legacy(r: web.Request, account: str, data: Any) -> web.Response:
        ids = data.get("ids") if isinstance(data, dict) else None
        if ids is None and isinstance(data, dict):
            ids = [o.get("order_id") for o in data.get("orders") or () if isinstance(o, dict)]
        if not isinstance(ids, list) or len(ids) > LEGACY_MAX_BATCH:
            raise KalshiReject(400, kw.BAD_REQUEST, f"at most {LEGACY_MAX_BATCH} ids")
        out = []
        for oid in ids:
            try:
                order, reduced = kb.cancel(account, str(oid))
                out.append({"order_id": order.id, "order": kb.as_json(order),
                            "reduced_by": reduced // 100, "reduced_by_fp": kw.fp(reduced),
                            "error": None})
            except KalshiReject as exc:
                out.append({"order_id": str(oid), "order": None, **exc.body()})
        return reply({"orders": out})

    # --- portfolio reads ------------------------------------------------------------------

    def limit_of(r: web.Request, top: int) -> int:
        try:
            return max(1, min(top, int(r.query.get("limit", kw.PAGE_LIMIT))))
        except ValueError:
            raise KalshiReject(400, kw.BAD_REQUEST, "limit must be an integer") from None

    async def orders(r: web.Request, account: str, data: Any) -> web.Response:
        q = r.query
        rows = [o for o in engine.orders.values() if o.account == account]
        if q.get("ticker"):
            rows = [o for o in rows if o.market == q["ticker"]]
        if q.get("status"):
            rows = [o for o in rows if kw.status_of(o) == q["status"]]
        rows.sort(key=lambda o: o.created_ms, reverse=True)
        page, cursor = kw.cursor_page([kb.as_json(o) for o in rows], q.get("cursor", ""),
                                      limit_of(r, 200))
        return reply({"orders": page, "cursor": cursor})

    async def one_order(r: web.Request, account: str, data: Any) -> web.Response:
        return reply({"order": kb.as_json(kb.order_of(account, r.match_info["order_id"]))})

    async def fills(r: web.Request, account: str, data: Any) -> web.Response:
        q = r.query
        acct = engine.accounts[account]
        min_ts = int(q.get("min_ts", 0) or 0)
        rows = []
        for t in reversed(acct.trades):
            if t.match_ms // 1000 < min_ts or (q.get("ticker") and t.market != q["ticker"]):
                continue
            oid = t.taker_order_id if t.taker_account == account else t.maker_order_id
            if q.get("order_id") and oid != q["order_id"]:
                continue
            rows.append(kw.fill_json(t, account, kb.client_ids.get(oid, ""), ws=False))
        page, cursor = kw.cursor_page(rows, q.get("cursor", ""), limit_of(r, 200))
        return reply({"fills": page, "cursor": cursor})

    async def positions(r: web.Request, account: str, data: Any) -> web.Response:
        acct = engine.accounts[account]
        rows = []
        for m in engine.markets.values():
            if m.venue != "kalshi":
                continue
            yes, no = (acct.positions.get(t, 0) for t in kw.tokens(m.condition_id))
            if yes or no:
                rows.append({"ticker": m.condition_id, "position_fp": kw.fp(yes - no),
                             "market_exposure_dollars": "0.0000",
                             "realized_pnl_dollars": "0.0000", "fees_paid_dollars": "0.0000",
                             "total_traded_dollars": "0.0000",
                             "last_updated_ts": venue.clock_ms() // 1000})
        return reply({"market_positions": rows, "event_positions": [], "cursor": ""})

    async def balance(r: web.Request, account: str, data: Any) -> web.Response:
        acct = engine.accounts[account]
        free = acct.free_collateral()
        return reply({"balance": free // 10_000, "balance_dollars": kw.money(free),
                      "portfolio_value": acct.collateral // 10_000,
                      "updated_ts": venue.clock_ms() // 1000})

    # --- simulator only -------------------------------------------------------------------

    async def register_key(r: web.Request) -> web.Response:
        try:
            data = msgspec.json.decode(await r.read())
            account = kb.register(str(data["key_id"]), str(data["public_key_pem"]).encode())
        except (msgspec.DecodeError, UnicodeDecodeError, KeyError, TypeError, ConfigError) as exc:
            return reply(kw.err(kw.BAD_REQUEST, f"expected {{key_id, public_key_pem}}: {exc}"),
                         400)
        log.info("kalshi key registered", extra={"account": account})
        return reply({"account": account})

    router = app.router
    for path, fn in (
        ("/exchange/status", exchange_status), ("/markets", markets),
        ("/markets/{ticker}", market), ("/markets/{ticker}/orderbook", orderbook),
        ("/portfolio/orders", orders), ("/portfolio/orders/{order_id}", one_order),
        ("/portfolio/fills", fills), ("/portfolio/positions", positions),
        ("/portfolio/balance", balance),
    ):
        router.add_get(BASE + path, signed(fn))
    for method, path, fn in (
        ("POST", "/portfolio/events/orders/batched", batch_create_v2),
        ("DELETE", "/portfolio/events/orders/batched", batch_cancel_v2),
        ("POST", "/portfolio/events/orders", create_v2),
        ("DELETE", "/portfolio/events/orders", cancel_all_v2),
        ("DELETE", "/portfolio/events/orders/{order_id}", cancel_v2),
        ("POST", "/portfolio/events/orders/{order_id}/amend", amend_v2),
        ("POST", "/portfolio/events/orders/{order_id}/decrease", decrease_v2),
        ("POST", "/portfolio/orders/batched", batch_create_legacy),
        ("DELETE", "/portfolio/orders/batched", batch_cancel_legacy),
        ("POST", "/portfolio/orders", create_legacy),
        ("DELETE", "/portfolio/orders/{order_id}", cancel_legacy),
    ):
        router.add_route(method, BASE + path, signed(fn, trading=True))
    router.add_post("/_sim/kalshi/keys", register_key)
