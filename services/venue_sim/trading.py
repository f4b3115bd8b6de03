"""Polymarket CLOB REST, L2 part: orders, cancels, open orders, trades, heartbeats, balances.

Every route checks the L2 HMAC headers over the exact request bytes first (401
`Unauthorized/Invalid api key` otherwise).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from aiohttp import web
from eth_utils import to_checksum_address

from services.venue_sim import wire
from services.venue_sim.accounts import ApiKey, AuthFailed, Heartbeats, KeyStore
from services.venue_sim.book import Order
from services.venue_sim.counters import VenueCounters
from services.venue_sim.engine import Engine
from services.venue_sim.faults import Faults, trading_faults
from services.venue_sim.lifecycle import TradeLifecycle
from services.venue_sim.model import (
    EXCHANGE_V2,
    NEG_RISK_EXCHANGE_V2,
    POST_ONLY_CROSSES,
    UNLIMITED,
    OrderRejected,
    OrderRequest,
)
from services.venue_sim.responses import reply
from services.venue_sim.rest import error, page
from services.venue_sim.signing import (
    SendOrder,
    checked_hash,
    price_and_size,
    send_order_decoder,
)
from services.venue_sim.wallets import EOA, funder_of

__all__ = ["MAX_BATCH", "add_trading_routes"]

log = logging.getLogger(__name__)

MAX_BATCH = 15
UNAUTHORIZED = "Unauthorized/Invalid api key"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
L2Handler = Callable[[web.Request, ApiKey, str], Awaitable[web.StreamResponse]]


def _all_post_only(body: str) -> bool:
    """Whether a POST /order or /orders body asks only for post-only orders."""
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return False
    rows = data if isinstance(data, list) else [data]
    return all(isinstance(r, dict) and r.get("postOnly") is True for r in rows)


def add_trading_routes(  # noqa: C901 - route table
    app: web.Application, *, engine: Engine, keys: KeyStore, heartbeats: Heartbeats,
    faults: Faults, counters: VenueCounters, lifecycle: TradeLifecycle,
    publish: Callable[[], None], clock_ms: Callable[[], int], venue_ms: Callable[[], int],
    start_collateral: int, verify_signatures: bool,
    scoring: tuple[L2Handler, L2Handler] | None = None,
) -> None:
    """Register the L2 (API-key signed) Polymarket REST routes; L2 timestamps are checked
    on `venue_ms`, the venue's own clock.

    `publish` sends what the engine did to the websockets; it runs after every write.
    """

    def open_external(address: str) -> None:
        engine.open_wallet(address, start_collateral)

    def l2(handler: L2Handler, *, trading: bool = False) -> Handler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            raw = await request.read()
            body = raw.decode("utf-8", errors="replace")
            path = request.raw_path.split("?", 1)[0]
            try:
                key = keys.verify_l2(
                    request.headers, request.method, path, body, venue_ms() // 1000
                )
            except AuthFailed:
                counters.count_malformed("rest_auth")
                return error(UNAUTHORIZED, 401)
            if not trading:
                return await handler(request, key, body)
            now_ms = clock_ms()
            if now_ms < faults.restart_until_ms:  # matching engine restarting
                return error("Too Early", 425)
            if now_ms < faults.post_only_until_ms and request.method == "POST" and \
                    not _all_post_only(body):
                wait_s = max(1, (faults.post_only_until_ms - now_ms + 999) // 1000)
                return reply({"error": "post-only mode: only post-only orders and cancels are "
                              "allowed", "code": "post_only_mode",
                              "retry_after_seconds": wait_s}, 503,
                             headers={"Retry-After": str(wait_s)})
            instead, after = await trading_faults(
                faults,
                lambda: reply({"error": "Too Many Requests"}, 429, headers={"Retry-After": "1"}),
                lambda: error("could not insert order", 500))
            if instead is not None:
                return instead
            resp = await handler(request, key, body)
            return error("could not insert order", 500) if after else resp

        return wrapped

    # --- trading (L2) ---------------------------------------------------------------------

    def place(key: ApiKey, send: SendOrder) -> dict[str, Any]:
        """Check and place one signed order; log and re-raise a reject with its context."""
        order = send.order
        found = engine.tokens.get(order.tokenId)
        m = None if found is None else found[0]
        context = {"market": "" if m is None else m.condition_id, "order_id": ""}
        try:
            if send.owner != key.api_key:
                raise OrderRejected("the order owner has to be the owner of the API KEY")
            if order.signer.lower() != key.address.lower():
                raise OrderRejected(
                    "the order signer address has to be the address of the API KEY"
                )
            if m is None:
                raise OrderRejected("Invalid order payload: unknown tokenId")
            order_id = checked_hash(
                order, neg_risk=m.neg_risk, verify=verify_signatures
            )
            context["order_id"] = order_id
            maker = to_checksum_address(order.maker)
            if maker != key.address:  # a proxy or Safe: its own venue account
                open_external(maker)
                keys.link(key, maker)
            if send.postOnly and faults.take("post_only_reject"):
                raise OrderRejected(POST_ONLY_CROSSES)
            price_pips, size = price_and_size(order, send.orderType)
            try:
                expiration = int(order.expiration or "0")
            except ValueError as exc:
                raise OrderRejected("invalid expiration") from exc
            placement = engine.place(OrderRequest(
                order_id=order_id, account=maker, asset_id=order.tokenId,
                side=order.side, price=price_pips, size=size, order_type=send.orderType,
                post_only=send.postOnly, expiration=expiration,
            ))
        except OrderRejected as exc:
            counters.orders_rejected += 1
            log.info("order rejected: %s", exc.message, extra=context)
            raise
        counters.orders_accepted += 1
        log.debug("order accepted", extra=context)
        return wire.send_order_response(placement)

    async def post_order(request: web.Request, key: ApiKey, body: str) -> web.StreamResponse:
        try:
            send = send_order_decoder.decode(body)
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            counters.count_malformed("rest_order")
            return error(f"Invalid order payload: {exc}")
        try:
            result = place(key, send)
        except OrderRejected as exc:
            return error(exc.message, exc.status)
        finally:
            publish()
        return reply(result)

    async def post_orders(request: web.Request, key: ApiKey, body: str) -> web.StreamResponse:
        try:
            legs = msgspec.json.decode(body)
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            counters.count_malformed("rest_order")
            return error(f"Invalid order payload: {exc}")
        if not isinstance(legs, list):
            counters.count_malformed("rest_order")
            return error("Invalid order payload: expected a JSON array of orders")
        if len(legs) > MAX_BATCH:
            return error(f"Too many orders in payload: {len(legs)}, max allowed: {MAX_BATCH}")
        results = []
        for leg in legs:
            try:
                send = msgspec.convert(leg, SendOrder)
            except msgspec.ValidationError as exc:
                counters.count_malformed("rest_order")
                results.append(wire.failed_order_response("", f"Invalid order payload: {exc}"))
                continue
            try:
                results.append(place(key, send))
            except OrderRejected as exc:
                results.append(wire.failed_order_response("", exc.message))
        publish()
        return reply(results)

    def mine(key: ApiKey) -> list[str]:
        """The venue accounts booked to the key: its signer and the makers it signed for."""
        return keys.accounts_of(key.address)

    def live_orders(key: ApiKey) -> list[Order]:
        return [o for a in mine(key) if a in engine.accounts
                for o in engine.accounts[a].open_orders.values()]

    def cancel_reply(key: ApiKey, ids: list[str]) -> web.Response:
        canceled, not_canceled = [], {}
        accounts = set(mine(key))
        for oid in dict.fromkeys(ids):
            order = engine.orders.get(oid)
            owner = order.account if order is not None and order.account in accounts else ""
            reason = engine.cancel(owner, oid)
            if reason is None:
                canceled.append(oid)
            else:
                not_canceled[oid] = reason
        publish()
        return reply({"canceled": canceled, "not_canceled": not_canceled})

    def json_body(body: str) -> Any:
        try:
            return msgspec.json.decode(body) if body else None
        except (msgspec.DecodeError, UnicodeDecodeError):
            counters.count_malformed("rest")
            return None

    async def cancel_one(request: web.Request, key: ApiKey, body: str) -> web.StreamResponse:
        data = json_body(body)
        if not isinstance(data, dict) or not isinstance(data.get("orderID"), str):
            return error("Invalid payload: expected {\"orderID\": ...}")
        return cancel_reply(key, [data["orderID"]])

    async def cancel_many(request: web.Request, key: ApiKey, body: str) -> web.StreamResponse:
        data = json_body(body)
        if not isinstance(data, list) or not all(isinstance(i, str) for i in data):
            return error("Invalid payload: expected a JSON array of order ids")
        return cancel_reply(key, data)

    async def cancel_all(request: web.Request, key: ApiKey, body: str) -> web.StreamResponse:
        return cancel_reply(key, [o.id for o in live_orders(key)])

    async def cancel_market(request: web.Request, key: ApiKey, body: str) -> web.StreamResponse:
        data = json_body(body) or {}
        if not isinstance(data, dict):
            return error("Invalid payload: expected {\"market\", \"asset_id\"}")
        cid, token = str(data.get("market") or ""), str(data.get("asset_id") or "")
        ids = [
            o.id for o in live_orders(key)
            if (not cid or o.market == cid) and (not token or o.asset_id == token)
        ]
        return cancel_reply(key, ids)

    async def open_orders(request: web.Request, key: ApiKey, body: str) -> web.StreamResponse:
        q = request.query
        owner = key.api_key
        rows = [
            wire.open_order(o, owner)
            for o in live_orders(key)
            if (not q.get("id") or o.id == q["id"])
            and (not q.get("market") or o.market == q["market"])
            and (not q.get("asset_id") or o.asset_id == q["asset_id"])
        ]
        return reply(page(rows, q.get("next_cursor", "")))

    async def get_order(request: web.Request, key: ApiKey, body: str) -> web.StreamResponse:
        o = engine.orders.get(request.match_info["order_id"])
        if o is None or o.account not in mine(key):
            return error("order not found", 404)
        return reply(wire.open_order(o, key.api_key))

    async def trades(request: web.Request, key: ApiKey, body: str) -> web.StreamResponse:
        q = request.query
        try:
            after = int(q.get("after") or 0)
            before = int(q.get("before") or 0)
        except ValueError:
            return error("Invalid query: after/before must be unix seconds")
        now = clock_ms()
        wanted = q.get("maker_address", "").lower()
        rows = []
        history = sorted(
            ((t, a) for a in mine(key) if a in engine.accounts and (not wanted or a.lower() == wanted)
             for t in engine.accounts[a].trades),
            key=lambda ta: ta[0].match_ms, reverse=True)
        for t, account in history:
            if q.get("id") and t.id != q["id"]:
                continue
            if q.get("market") and t.market != q["market"]:
                continue
            if q.get("asset_id") and q["asset_id"] not in (t.taker_asset, t.maker_asset):
                continue
            if (after and t.match_ms // 1000 < after) or (before and t.match_ms // 1000 > before):
                continue
            role = "TAKER" if t.taker_account == account else "MAKER"
            rows.append(wire.trade_record(
                t, viewer=account, role=role, status=lifecycle.status(t, now),
                owners=keys.owners(t.taker_account, t.maker_account), now_ms=now, event=False,
            ))
        return reply(page(rows, q.get("next_cursor", "")))

    async def heartbeat(request: web.Request, key: ApiKey, body: str) -> web.StreamResponse:
        data = json_body(body) or {}
        hb_id = data.get("heartbeat_id", "") if isinstance(data, dict) else ""
        accepted, value = heartbeats.beat(key.address, str(hb_id or ""), clock_ms())
        if not accepted:
            return error("Invalid Heartbeat ID", heartbeat_id=value)
        return reply({"heartbeat_id": value})

    async def balance(request: web.Request, key: ApiKey, body: str) -> web.StreamResponse:
        try:
            sig_type = int(request.query.get("signature_type") or EOA)
        except ValueError:
            return error("Invalid signature_type")
        funder = funder_of(key.address, sig_type)
        if funder is None:
            return error("Invalid signature_type")
        if funder != key.address:
            open_external(funder)
            keys.link(key, funder)
        acct = engine.accounts[funder]
        if request.query.get("asset_type", "COLLATERAL").upper() == "CONDITIONAL":
            amount = acct.positions.get(request.query.get("token_id", ""), 0) * 10_000
        else:
            amount = acct.collateral
        allowances = {s: str(UNLIMITED if (a := acct.allowance(s)) is None else a)
                      for s in (EXCHANGE_V2, NEG_RISK_EXCHANGE_V2)}
        return reply({"balance": str(amount), "allowances": allowances,
                      "allowance": allowances[EXCHANGE_V2]})

    async def api_keys(request: web.Request, key: ApiKey, body: str) -> web.StreamResponse:
        return reply({"apiKeys": [key.api_key]})

    r = app.router
    for path, fn in (
        ("/data/orders", open_orders), ("/data/order/{order_id}", get_order),
        ("/data/trades", trades), ("/balance-allowance", balance),
        ("/balance-allowance/update", balance), ("/auth/api-keys", api_keys),
    ):
        r.add_get(path, l2(fn))
    r.add_post("/order", l2(post_order, trading=True))
    r.add_post("/orders", l2(post_orders, trading=True))
    r.add_post("/v1/heartbeats", l2(heartbeat))
    if scoring is not None:  # liquidity rewards (pm_rewards.py)
        r.add_get("/order-scoring", l2(scoring[0]))
        r.add_post("/orders-scoring", l2(scoring[1]))
    r.add_delete("/order", l2(cancel_one, trading=True))
    r.add_delete("/orders", l2(cancel_many, trading=True))
    r.add_delete("/cancel-all", l2(cancel_all, trading=True))
    r.add_delete("/cancel-market-orders", l2(cancel_market, trading=True))
