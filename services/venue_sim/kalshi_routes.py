"""Kalshi trade API v2 routes of the simulator (REST under /trade-api/v2), on KalshiBook.

Market data (exchange status, markets, order books, events, series) is public; the
portfolio is signed; V2 event-order writes are primary, the legacy /portfolio/orders
writes a compatibility layer on the same engine. Every route goes through the envelope
in kalshi_http.py; the book logic is in kalshi.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import msgspec
from aiohttp import web

from common.errors import ConfigError, PriceError
from common.prices import price_from_str, size_from_str
from services.venue_sim import kalshi_wire as kw
from services.venue_sim.book import ONE, Order
from services.venue_sim.kalshi import KalshiBook
from services.venue_sim.kalshi_http import BASE, Signed
from services.venue_sim.kalshi_requests import created, legacy_order_args, v2_order_args
from services.venue_sim.kalshi_wire import KalshiReject
from services.venue_sim.listing import Listing
from services.venue_sim.markets import kalshi_tokens
from services.venue_sim.model import NO_BALANCE, POST_ONLY_CROSSES, OrderRejected
from services.venue_sim.responses import reply

__all__ = ["LEGACY_MAX_BATCH", "V2_MAX_BATCH", "add_kalshi_routes"]

log = logging.getLogger(__name__)

LEGACY_MAX_BATCH = 20
V2_MAX_BATCH = 100


def add_kalshi_routes(  # noqa: C901 - route table
    app: web.Application, *, book: KalshiBook, listing: Listing, signed: Signed,
    clock_ms: Callable[[], int], listed_ms: int,
) -> None:
    """Register the Kalshi REST API and the simulator's key-registration endpoint.

    Markets are reported listed at `listed_ms` (when the simulator started).
    """
    engine = book.engine

    # --- public ---------------------------------------------------------------------------

    def kalshi_market(ticker: str) -> Any:
        m = engine.markets.get(ticker)
        if m is None or m.venue != "kalshi":
            raise KalshiReject(404, kw.MARKET_NOT_FOUND, f"market {ticker} not found")
        return m

    def market_row(m: Any) -> dict[str, Any]:
        return kw.market_json(engine, m, listed_ms=listed_ms) | \
            kw.listing_fields(listing, m)

    async def exchange_status(r: web.Request, account: str, data: Any) -> web.Response:
        return reply({"exchange_active": True, "trading_active": True,
                      "exchange_estimated_resume_time": None})

    async def markets(r: web.Request, account: str, data: Any) -> web.Response:
        rows = [market_row(m) for m in engine.markets.values() if m.venue == "kalshi"]
        wanted = [t for t in r.query.get("tickers", "").split(",") if t]
        if wanted:
            rows = [row for row in rows if row["ticker"] in wanted]
        page, cursor = kw.cursor_page(rows, r.query.get("cursor", ""),
                                      int(r.query.get("limit", kw.PAGE_LIMIT)))
        return reply({"markets": page, "cursor": cursor})

    async def market(r: web.Request, account: str, data: Any) -> web.Response:
        return reply({"market": market_row(kalshi_market(r.match_info["ticker"]))})

    def kalshi_markets_where(keep: Callable[[str], bool]) -> list[Any]:
        return [m for m in engine.markets.values() if m.venue == "kalshi" and keep(
            m.condition_id)]

    async def event(r: web.Request, account: str, data: Any) -> web.Response:
        ticker = r.match_info["event_ticker"]
        rows = kalshi_markets_where(lambda t: kw.event_ticker_of(t) == ticker)
        if not rows:
            raise KalshiReject(404, kw.NOT_FOUND, f"event {ticker} not found")
        return reply({"event": kw.event_json(ticker, rows[0].name or ticker),
                      "markets": [market_row(m) for m in rows]})

    async def series(r: web.Request, account: str, data: Any) -> web.Response:
        ticker = r.match_info["series_ticker"]
        rows = kalshi_markets_where(
            lambda t: kw.series_ticker_of(kw.event_ticker_of(t)) == ticker)
        if not rows:
            raise KalshiReject(404, kw.NOT_FOUND, f"series {ticker} not found")
        return reply({"series": kw.series_json(ticker, rows[0].name or ticker)})

    async def orderbook(r: web.Request, account: str, data: Any) -> web.Response:
        m = kalshi_market(r.match_info["ticker"])
        yes, no = kw.book_levels(engine, m.condition_id)
        return reply({"orderbook_fp": {"yes_dollars": yes, "no_dollars": no}})

    # --- V2 writes ------------------------------------------------------------------------

    def group_of(item: Any) -> str:
        return str(item.get("order_group_id") or "") if isinstance(item, dict) else ""

    async def create_v2(r: web.Request, account: str, data: Any) -> web.Response:
        ticker, bid, price, count, tif, post_only, coid = v2_order_args(data)
        order = book.place(account, ticker, bid, price, count, tif, post_only, coid,
                         group=group_of(data))
        return reply(created(order, book.fills_of(order), coid, clock_ms()), 201)

    async def batch_create_v2(r: web.Request, account: str, data: Any) -> web.Response:
        items = data.get("orders") if isinstance(data, dict) else None
        if not isinstance(items, list) or len(items) > V2_MAX_BATCH:
            raise KalshiReject(400, kw.BAD_REQUEST, f"orders must be a list of at most "
                               f"{V2_MAX_BATCH}")
        out = []
        for item in items:
            try:
                ticker, bid, price, count, tif, post_only, coid = v2_order_args(item)
                order = book.place(account, ticker, bid, price, count, tif, post_only, coid,
                                 group=group_of(item))
                out.append(created(order, book.fills_of(order), coid, clock_ms()))
            except KalshiReject as exc:
                coid = str(item.get("client_order_id") or "") if isinstance(item, dict) else ""
                out.append({"order_id": None, "client_order_id": coid, **exc.body()})
        return reply({"orders": out}, 201)

    def cancelled(order: Order, reduced: int) -> dict[str, Any]:
        return {"order_id": order.id, "client_order_id": book.client_ids.get(order.id, ""),
                "reduced_by": kw.fp(reduced), "ts_ms": clock_ms()}

    async def cancel_v2(r: web.Request, account: str, data: Any) -> web.Response:
        return reply(cancelled(*book.cancel(account, r.match_info["order_id"])))

    async def batch_cancel_v2(r: web.Request, account: str, data: Any) -> web.Response:
        items = data.get("orders") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise KalshiReject(400, kw.BAD_REQUEST, "orders must be a list")
        out = []
        for item in items:
            oid = str(item.get("order_id", "")) if isinstance(item, dict) else ""
            try:
                out.append(cancelled(*book.cancel(account, oid)))
            except KalshiReject as exc:
                out.append({"order_id": oid, "reduced_by": "0.00", **exc.body()})
        return reply({"orders": out})

    async def cancel_all_v2(r: web.Request, account: str, data: Any) -> web.Response:
        engine.cancel_where(account)
        return web.Response(status=204)  # the spec's answer: 204, no body

    async def amend_v2(r: web.Request, account: str, data: Any) -> web.Response:
        order = book.order_of(account, r.match_info["order_id"])
        try:
            side = data["side"]
            yes_price = price_from_str(str(data["price"]))
            total = size_from_str(str(data["count"]))
        except (KeyError, TypeError, PriceError) as exc:
            raise KalshiReject(400, kw.BAD_REQUEST, f"invalid amend: {exc}") from None
        if (side == "bid") != order.is_yes:
            raise KalshiReject(400, kw.INVALID_ORDER, "amend cannot change the side")
        own = yes_price if order.is_yes else ONE - yes_price
        if book.faults.take("post_only_reject"):  # amends of resting orders are post-only
            raise KalshiReject(400, kw.POST_ONLY_CROSS, "post only order would cross the book")
        try:
            engine.amend(account, order.id, own, total - order.size_matched)
        except OrderRejected as exc:
            if exc.message == NO_BALANCE:  # Kalshi's own code and words, as for a placement
                raise KalshiReject(400, kw.INSUFFICIENT_BALANCE, "insufficient balance") from None
            code = kw.POST_ONLY_CROSS if exc.message == POST_ONLY_CROSSES else kw.INVALID_ORDER
            raise KalshiReject(exc.status, code if exc.status != 404 else kw.NOT_FOUND,
                               exc.message) from None
        new_coid = str(data.get("updated_client_order_id") or "")
        if new_coid:
            book.client_ids[order.id] = new_coid
            book.open_ids[(account, new_coid)] = order.id
        return reply(created(order, book.fills_of(order), book.client_ids.get(order.id, ""),
                              clock_ms()))

    async def decrease_v2(r: web.Request, account: str, data: Any) -> web.Response:
        order = book.order_of(account, r.match_info["order_id"])
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
        return reply({"order_id": order.id, "client_order_id": book.client_ids.get(order.id, ""),
                      "remaining_count": kw.fp(left), "ts_ms": clock_ms()})

    # --- legacy writes --------------------------------------------------------------------

    async def create_legacy(r: web.Request, account: str, data: Any) -> web.Response:
        ticker, bid, price, count, tif, post_only, coid = legacy_order_args(data)
        order = book.place(account, ticker, bid, price, count, tif, post_only, coid)
        return reply({"order": book.as_json(order)}, 201)

    async def batch_create_legacy(r: web.Request, account: str, data: Any) -> web.Response:
        items = data.get("orders") if isinstance(data, dict) else None
        if not isinstance(items, list) or len(items) > LEGACY_MAX_BATCH:
            raise KalshiReject(400, kw.BAD_REQUEST,
                               f"orders must be a list of at most {LEGACY_MAX_BATCH}")
        out = []
        for item in items:
            coid = str(item.get("client_order_id") or "") if isinstance(item, dict) else ""
            try:
                args = legacy_order_args(item)
                order = book.place(account, *args)
                out.append({"client_order_id": coid, "order": book.as_json(order), "error": None})
            except KalshiReject as exc:
                out.append({"client_order_id": coid, "order": None, **exc.body()})
        return reply({"orders": out}, 201)

    async def cancel_legacy(r: web.Request, account: str, data: Any) -> web.Response:
        order, reduced = book.cancel(account, r.match_info["order_id"])
        return reply({"order": book.as_json(order), "reduced_by": reduced // 100,
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
                order, reduced = book.cancel(account, str(oid))
                out.append({"order_id": order.id, "order": book.as_json(order),
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
        page, cursor = kw.cursor_page([book.as_json(o) for o in rows], q.get("cursor", ""),
                                      limit_of(r, 200))
        return reply({"orders": page, "cursor": cursor})

    async def one_order(r: web.Request, account: str, data: Any) -> web.Response:
        return reply({"order": book.as_json(book.order_of(account, r.match_info["order_id"]))})

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
            rows.append(kw.fill_json(t, account, book.client_ids.get(oid, ""), ws=False))
        page, cursor = kw.cursor_page(rows, q.get("cursor", ""), limit_of(r, 200))
        return reply({"fills": page, "cursor": cursor})

    async def positions(r: web.Request, account: str, data: Any) -> web.Response:
        acct = engine.accounts[account]
        rows = []
        for m in engine.markets.values():
            if m.venue != "kalshi":
                continue
            yes, no = (acct.positions.get(t, 0) for t in kalshi_tokens(m.condition_id))
            if yes or no:
                rows.append({"ticker": m.condition_id, "position_fp": kw.fp(yes - no),
                             "market_exposure_dollars": "0.0000",
                             "realized_pnl_dollars": "0.0000", "fees_paid_dollars": "0.0000",
                             "total_traded_dollars": "0.0000",
                             "last_updated_ts": kw.iso(clock_ms()), "exchange_index": 0})
        return reply({"market_positions": rows, "event_positions": [], "cursor": ""})

    async def balance(r: web.Request, account: str, data: Any) -> web.Response:
        acct = engine.accounts[account]
        free = acct.free_collateral()
        return reply({"balance": free // 10_000, "balance_dollars": kw.money(free),
                      "portfolio_value": acct.collateral // 10_000,
                      "updated_ts": clock_ms() // 1000})

    # --- simulator only -------------------------------------------------------------------

    async def register_key(r: web.Request) -> web.Response:
        try:
            data = msgspec.json.decode(await r.read())
            account = book.register(str(data["key_id"]), str(data["public_key_pem"]).encode())
        except (msgspec.DecodeError, UnicodeDecodeError, KeyError, TypeError, ConfigError) as exc:
            return reply(kw.err(kw.BAD_REQUEST, f"expected {{key_id, public_key_pem}}: {exc}"),
                         400)
        log.info("kalshi key registered", extra={"account": account})
        return reply({"account": account})

    router = app.router
    for path, fn in (
        ("/exchange/status", exchange_status), ("/markets", markets),
        ("/markets/{ticker}", market), ("/markets/{ticker}/orderbook", orderbook),
        ("/events/{event_ticker}", event), ("/series/{series_ticker}", series),
    ):
        router.add_get(BASE + path, signed(fn, public=True))
    for path, fn in (
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
