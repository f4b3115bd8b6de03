"""Polymarket CLOB REST, public part: health, time, API keys (L1), market data.

Success is always HTTP 200 (the SDK raises on anything else); business rejects are
400 `{"error": ...}`, authentication failures 401, unknown things 404. The L2
trading endpoints live in `trading.py`, the simulator's own `/_sim` ones in `sim_routes.py`.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable
from typing import Any

import msgspec
from aiohttp import web

from common.prices import price_to_str
from services.venue_sim import wire
from services.venue_sim.accounts import AuthFailed, KeyStore
from services.venue_sim.counters import VenueCounters
from services.venue_sim.engine import Engine
from services.venue_sim.model import SimMarket
from services.venue_sim.responses import reply

__all__ = ["END_CURSOR", "PAGE_SIZE", "add_public_routes", "error", "page"]

log = logging.getLogger(__name__)

PAGE_SIZE = 500
END_CURSOR = "LTE="


def error(message: str, status: int = 400, **extra: Any) -> web.Response:
    return reply({"error": message, **extra}, status)


def _offset(cursor: str) -> int:
    try:
        return max(0, int(base64.b64decode(cursor or "MA==")))
    except (ValueError, binascii.Error):
        return 0


def page(rows: list[Any], cursor: str) -> dict[str, Any]:
    """One page of `rows`; cursors are base64 offsets ("MA==" first, "LTE=" after the last)."""
    start = _offset(cursor)
    data = rows[start:start + PAGE_SIZE]
    end = start + len(data)
    next_cursor = base64.b64encode(str(end).encode()).decode() if end < len(rows) else END_CURSOR
    return {"data": data, "next_cursor": next_cursor, "limit": PAGE_SIZE, "count": len(data)}


def add_public_routes(  # noqa: C901 - a route table
    app: web.Application, *, engine: Engine, keys: KeyStore, counters: VenueCounters,
    clock_ms: Callable[[], int], venue_ms: Callable[[], int], start_collateral: int,
) -> None:
    """Register the public Polymarket REST routes (the L2 ones are in trading.py).
    `venue_ms` is the venue's own clock: what `/time` reports and L1 auth is checked on."""

    def market_of_token(token: str) -> SimMarket | None:
        found = engine.tokens.get(token)
        return None if found is None else found[0]

    def token_market(request: web.Request) -> tuple[SimMarket, str] | None:
        token = request.match_info.get("token_id") or request.query.get("token_id", "")
        market = market_of_token(token)
        return None if market is None else (market, token)

    # --- public ---------------------------------------------------------------------------

    async def ok(_: web.Request) -> web.StreamResponse:
        return web.Response(text="OK")

    async def server_time(_: web.Request) -> web.StreamResponse:
        return reply(venue_ms() // 1000)

    async def version(_: web.Request) -> web.StreamResponse:
        return reply({"version": 2})

    async def l1_key(request: web.Request) -> web.StreamResponse:
        try:
            address, nonce = keys.verify_l1(request.headers, venue_ms() // 1000)
        except AuthFailed as exc:
            return error(str(exc), 401)
        key = keys.derive(address, nonce)
        engine.open_wallet(address, start_collateral)
        log.info("api key issued", extra={"account": address})
        return reply(key.creds())

    async def tick_size(request: web.Request) -> web.StreamResponse:
        found = token_market(request)
        if found is None:
            return error("market not found", 404)
        return reply({"minimum_tick_size": found[0].tick / 10_000})

    async def neg_risk(request: web.Request) -> web.StreamResponse:
        found = token_market(request)
        if found is None:
            return error("market not found", 404)
        return reply({"neg_risk": found[0].neg_risk})

    async def fee_rate(request: web.Request) -> web.StreamResponse:
        if token_market(request) is None:
            return error("market not found", 404)
        return reply({"base_fee": 0})

    def compact(m: SimMarket) -> dict[str, Any]:
        out: dict[str, Any] = {
            "c": m.condition_id,
            "t": [{"t": m.yes_token, "o": "Yes"}, {"t": m.no_token, "o": "No"}],
            "mts": m.tick / 10_000, "mos": m.min_size / 100,
            "fd": {"r": 0, "e": 1, "to": True}, "mbf": 0, "tbf": 0,
            "ao": True, "itode": False, "cbos": False,
        }
        if m.neg_risk:
            out["nr"] = True
        return out

    def full_market(m: SimMarket) -> dict[str, Any]:
        return {
            "condition_id": m.condition_id, "question": m.name, "market_slug": m.name,
            "active": True, "closed": False, "archived": False, "accepting_orders": True,
            "enable_order_book": True, "minimum_order_size": m.min_size / 100,
            "minimum_tick_size": m.tick / 10_000, "neg_risk": m.neg_risk,
            "maker_base_fee": 0, "taker_base_fee": 0, "seconds_delay": 0,
            "tokens": [
                {"token_id": m.yes_token, "outcome": "Yes", "price": 0.5, "winner": False},
                {"token_id": m.no_token, "outcome": "No", "price": 0.5, "winner": False},
            ],
        }

    async def clob_market(request: web.Request) -> web.StreamResponse:
        m = engine.markets.get(request.match_info["condition_id"])
        return error("market not found", 404) if m is None else reply(compact(m))

    async def market(request: web.Request) -> web.StreamResponse:
        m = engine.markets.get(request.match_info["condition_id"])
        return error("market not found", 404) if m is None else reply(full_market(m))

    async def markets(request: web.Request) -> web.StreamResponse:
        rows = [full_market(m) for m in engine.markets.values()]
        return reply(page(rows, request.query.get("next_cursor", "")))

    async def market_by_token(request: web.Request) -> web.StreamResponse:
        found = token_market(request)
        if found is None:
            return error("market not found", 404)
        m = found[0]
        return reply({"condition_id": m.condition_id, "primary_token_id": m.yes_token,
                      "secondary_token_id": m.no_token})

    async def book(request: web.Request) -> web.StreamResponse:
        found = token_market(request)
        if found is None:
            return error("No orderbook exists for the requested token id", 404)
        return reply(wire.book_summary(engine, found[0], found[1], clock_ms()))

    async def books(request: web.Request) -> web.StreamResponse:
        if request.method == "POST":
            try:
                params = msgspec.json.decode(await request.read())
                tokens = [str(p["token_id"]) for p in params]
            except (msgspec.DecodeError, UnicodeDecodeError, TypeError, KeyError):
                counters.count_malformed("rest")
                return error("Invalid payload: expected [{\"token_id\": ...}]")
        else:
            tokens = [t for t in request.query.get("token_ids", "").split(",") if t]
        out = []
        for token in tokens:
            m = market_of_token(token)
            if m is not None:
                out.append(wire.book_summary(engine, m, token, clock_ms()))
        return reply(out)

    def top(request: web.Request) -> tuple[int | None, int | None] | None:
        found = token_market(request)
        if found is None:
            return None
        m, token = found
        bids, asks = wire.token_levels(engine, m, token == m.yes_token)
        return (bids[0][0] if bids else None), (asks[0][0] if asks else None)

    async def midpoint(request: web.Request) -> web.StreamResponse:
        t = top(request)
        if t is None or t[0] is None or t[1] is None:
            return error("No orderbook exists for the requested token id", 404)
        mid = wire.money_to_str((t[0] + t[1]) * 50)
        return reply({"mid": mid, "mid_price": mid})

    async def price(request: web.Request) -> web.StreamResponse:
        t = top(request)
        side = request.query.get("side", "").upper()
        if t is None or side not in ("BUY", "SELL"):
            return error("Invalid side or token id", 400 if t is not None else 404)
        value = t[0] if side == "BUY" else t[1]
        return reply({"price": 0 if value is None else value / 10_000})

    async def spread(request: web.Request) -> web.StreamResponse:
        t = top(request)
        if t is None or t[0] is None or t[1] is None:
            return error("No orderbook exists for the requested token id", 404)
        return reply({"spread": wire.money_to_str((t[1] - t[0]) * 100)})

    async def last_trade_price(request: web.Request) -> web.StreamResponse:
        found = token_market(request)
        if found is None:
            return error("market not found", 404)
        m, token = found
        last = engine.last_trade.get(m.condition_id)
        if last is None:
            return reply({"price": "0.5", "side": ""})
        p, side = last
        if token != m.yes_token:
            p, side = 10_000 - p, ("SELL" if side == "BUY" else "BUY")
        return reply({"price": price_to_str(p), "side": side})

    # --- batch pricing (POST [{"token_id", "side"?}, ...]) ---------------------------------

    async def batch_params(request: web.Request) -> list[tuple[str, str]] | None:
        try:
            params = msgspec.json.decode(await request.read())
            return [(str(p["token_id"]), str(p.get("side") or "").upper()) for p in params]
        except (msgspec.DecodeError, UnicodeDecodeError, TypeError, KeyError, AttributeError):
            counters.count_malformed("rest")
            return None

    def tops_of(token: str) -> tuple[int | None, int | None] | None:
        m = market_of_token(token)
        if m is None:
            return None
        bids, asks = wire.token_levels(engine, m, token == m.yes_token)
        return (bids[0][0] if bids else None), (asks[0][0] if asks else None)

    async def midpoints(request: web.Request) -> web.StreamResponse:
        params = await batch_params(request)
        if params is None:
            return error("Invalid payload")
        out = {}
        for token, _ in params:
            t = tops_of(token)
            if t is not None and t[0] is not None and t[1] is not None:
                out[token] = wire.money_to_str((t[0] + t[1]) * 50)
        return reply(out)

    async def prices(request: web.Request) -> web.StreamResponse:
        params = await batch_params(request)
        if params is None:
            return error("Invalid payload")
        out: dict[str, dict[str, float]] = {}
        for token, side in params:
            t = tops_of(token)
            if t is None or side not in ("BUY", "SELL"):
                continue
            value = t[0] if side == "BUY" else t[1]
            out.setdefault(token, {})[side] = 0 if value is None else value / 10_000
        return reply(out)

    async def spreads(request: web.Request) -> web.StreamResponse:
        params = await batch_params(request)
        if params is None:
            return error("Invalid payload")
        out = {}
        for token, _ in params:
            t = tops_of(token)
            if t is not None and t[0] is not None and t[1] is not None:
                out[token] = wire.money_to_str((t[1] - t[0]) * 100)
        return reply(out)

    async def last_trades_prices(request: web.Request) -> web.StreamResponse:
        params = await batch_params(request)
        if params is None:
            return error("Invalid payload")
        if len(params) > 500:
            return error("too many token ids: max 500")
        out = []
        for token, _ in params:
            m = market_of_token(token)
            if m is None:
                continue
            last = engine.last_trade.get(m.condition_id)
            p, side = (5_000, "") if last is None else last
            if last is not None and token != m.yes_token:
                p, side = 10_000 - p, ("SELL" if side == "BUY" else "BUY")
            out.append({"token_id": token, "price": price_to_str(p), "side": side})
        return reply(out)

    r = app.router
    for path, fn in (
        ("/ok", ok), ("/time", server_time), ("/version", version),
        ("/auth/derive-api-key", l1_key), ("/tick-size", tick_size),
        ("/tick-size/{token_id}", tick_size), ("/neg-risk", neg_risk),
        ("/neg-risk/{token_id}", neg_risk), ("/fee-rate", fee_rate),
        ("/fee-rate/{token_id}", fee_rate), ("/clob-markets/{condition_id}", clob_market),
        ("/markets", markets), ("/markets/{condition_id}", market),
        ("/markets-by-token/{token_id}", market_by_token), ("/book", book), ("/books", books),
        ("/midpoint", midpoint), ("/price", price), ("/spread", spread),
        ("/last-trade-price", last_trade_price),
    ):
        r.add_get(path, fn)
    r.add_post("/auth/api-key", l1_key)
    r.add_post("/books", books)
    for path, fn in (("/midpoints", midpoints), ("/prices", prices), ("/spreads", spreads),
                     ("/last-trades-prices", last_trades_prices)):
        r.add_post(path, fn)
