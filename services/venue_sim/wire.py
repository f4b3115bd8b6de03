"""Polymarket JSON shapes (REST and websocket) built from engine state.

Prices and sizes are decimal strings; websocket timestamps are milliseconds as
strings; `match_time`/`created_at` are seconds. Book levels are listed best-last
(bids ascending, asks descending), as the official SDK assumes.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from common.prices import MONEY_SCALE, price_to_str, size_to_str
from services.venue_sim.book import ONE, Order
from services.venue_sim.engine import Engine, LevelChanged, Placement, SimMarket, Trade

__all__ = [
    "AMOUNT_MICROS_PER_CENTI", "best_bid_ask", "book_event", "book_summary",
    "failed_order_response", "last_trade_prices", "money_to_str", "open_order", "order_event",
    "price_change", "send_order_response", "token_levels", "trade_record",
]

AMOUNT_MICROS_PER_CENTI = 10_000


def money_to_str(micros: int) -> str:
    text = format(Decimal(micros) / MONEY_SCALE, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def token_levels(
    engine: Engine, market: SimMarket, is_yes: bool
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(bids, asks) of one token, each best first, in that token's prices."""
    bids, asks = engine.depth(market.condition_id)
    if is_yes:
        return bids, asks
    return [(ONE - p, s) for p, s in asks], [(ONE - p, s) for p, s in bids]


def book_summary(engine: Engine, market: SimMarket, asset_id: str, ts_ms: int) -> dict[str, Any]:
    """REST OrderBookSummary with a hash the SDK's generate_orderbook_summary_hash accepts."""
    is_yes = asset_id == market.yes_token
    bids, asks = token_levels(engine, market, is_yes)
    last = engine.last_trade.get(market.condition_id)
    last_price = "0.5" if last is None else price_to_str(last[0] if is_yes else ONE - last[0])
    summary: dict[str, Any] = {
        "market": market.condition_id,
        "asset_id": asset_id,
        "timestamp": str(ts_ms),
        "hash": "",
        "bids": [{"price": price_to_str(p), "size": size_to_str(s)} for p, s in reversed(bids)],
        "asks": [{"price": price_to_str(p), "size": size_to_str(s)} for p, s in reversed(asks)],
        "min_order_size": size_to_str(market.min_size),
        "tick_size": price_to_str(market.tick),
        "neg_risk": market.neg_risk,
        "last_trade_price": last_price,
    }
    text = json.dumps(summary, separators=(",", ":"), ensure_ascii=False)
    summary["hash"] = hashlib.sha1(text.encode()).hexdigest()  # noqa: S324 - venue's own hash
    return summary


def book_event(engine: Engine, market: SimMarket, asset_id: str, ts_ms: int) -> dict[str, Any]:
    return {"event_type": "book", **book_summary(engine, market, asset_id, ts_ms)}


def _top(engine: Engine, market: SimMarket, is_yes: bool) -> tuple[str, str]:
    bid, ask = engine.best(market.condition_id)
    if not is_yes:
        bid, ask = (None if ask is None else ONE - ask), (None if bid is None else ONE - bid)
    return ("0" if bid is None else price_to_str(bid)), ("1" if ask is None else price_to_str(ask))


def best_bid_ask(engine: Engine, market: SimMarket, asset_id: str, ts_ms: int) -> dict[str, Any]:
    """`best_bid_ask` (sent only to subscriptions with custom_feature_enabled)."""
    is_yes = asset_id == market.yes_token
    bid, ask = _top(engine, market, is_yes)
    return {
        "event_type": "best_bid_ask", "market": market.condition_id, "asset_id": asset_id,
        "best_bid": bid, "best_ask": ask,
        "spread": price_to_str(int(Decimal(ask) * 10_000) - int(Decimal(bid) * 10_000)),
        "timestamp": str(ts_ms),
    }


def price_change(
    engine: Engine, market: SimMarket, changes: list[LevelChanged], ts_ms: int
) -> dict[str, Any]:
    """One `price_change` covering both tokens; `size` is the level's new aggregate."""
    yes_top, no_top = _top(engine, market, True), _top(engine, market, False)
    entries = []
    for c in changes:
        entries.append({
            "asset_id": market.yes_token, "price": price_to_str(c.price),
            "size": size_to_str(c.size), "side": "BUY" if c.yes_bid else "SELL",
            "hash": c.order_id, "best_bid": yes_top[0], "best_ask": yes_top[1],
        })
        entries.append({
            "asset_id": market.no_token, "price": price_to_str(ONE - c.price),
            "size": size_to_str(c.size), "side": "SELL" if c.yes_bid else "BUY",
            "hash": c.order_id, "best_bid": no_top[0], "best_ask": no_top[1],
        })
    return {
        "event_type": "price_change", "market": market.condition_id,
        "price_changes": entries, "timestamp": str(ts_ms),
    }


def last_trade_prices(market: SimMarket, trade: Trade) -> list[dict[str, Any]]:
    """One `last_trade_price` per token (a YES trade at p is a NO trade at 1 - p)."""
    yes_side = "BUY" if (trade.taker_side == "BUY") == (trade.taker_asset == market.yes_token) else "SELL"
    common = {
        "event_type": "last_trade_price", "market": market.condition_id,
        "size": size_to_str(trade.size), "fee_rate_bps": "0",
        "timestamp": str(trade.match_ms), "transaction_hash": trade.tx_hash,
    }
    return [
        {**common, "asset_id": market.yes_token, "price": price_to_str(trade.yes_price),
         "side": yes_side},
        {**common, "asset_id": market.no_token, "price": price_to_str(ONE - trade.yes_price),
         "side": "SELL" if yes_side == "BUY" else "BUY"},
    ]


def open_order(order: Order, owner: str) -> dict[str, Any]:
    """OpenOrder as served by /data/orders and /data/order/{id}."""
    return {
        "id": order.id,
        "status": order.status,
        "owner": owner,
        "maker_address": order.account,
        "market": order.market,
        "asset_id": order.asset_id,
        "side": order.side,
        "original_size": size_to_str(order.original_size),
        "size_matched": size_to_str(order.size_matched),
        "price": price_to_str(order.price),
        "outcome": "Yes" if order.is_yes else "No",
        "expiration": str(order.expiration),
        "order_type": order.order_type,
        "associate_trades": list(order.trade_ids),
        "created_at": order.created_ms // 1000,
    }


def order_event(
    kind: str, order: Order, size_matched: int, status: str, ts_ms: int, owner: str
) -> dict[str, Any]:
    """User channel `order` event (PLACEMENT, UPDATE or CANCELLATION)."""
    return {
        "event_type": "order", "type": kind, "id": order.id, "owner": owner,
        "order_owner": owner, "market": order.market, "asset_id": order.asset_id,
        "side": order.side, "original_size": size_to_str(order.original_size),
        "size_matched": size_to_str(size_matched), "price": price_to_str(order.price),
        "associate_trades": list(order.trade_ids), "outcome": "Yes" if order.is_yes else "No",
        "created_at": str(order.created_ms // 1000), "expiration": str(order.expiration),
        "order_type": order.order_type, "status": status, "maker_address": order.account,
        "timestamp": str(ts_ms),
    }


def trade_record(
    trade: Trade, *, viewer: str, role: str, status: str, owners: dict[str, str],
    now_ms: int, event: bool,
) -> dict[str, Any]:
    """A trade as one party sees it: REST /data/trades row, or a user-channel `trade` event.

    Top-level fields describe the taker order; the maker's fill is in `maker_orders`.
    """
    match_s = str(trade.match_ms // 1000)
    record: dict[str, Any] = {
        "id": trade.id, "taker_order_id": trade.taker_order_id, "market": trade.market,
        "asset_id": trade.taker_asset, "side": trade.taker_side,
        "size": size_to_str(trade.size), "fee_rate_bps": "0",
        "price": price_to_str(trade.taker_price), "status": status,
        "match_time": match_s, "last_update": str(now_ms // 1000),
        "outcome": trade.taker_outcome, "bucket_index": 0,
        "owner": owners.get(trade.taker_account, ""),
        "maker_address": viewer, "transaction_hash": trade.tx_hash,
        "trader_side": role,
        "maker_orders": [{
            "order_id": trade.maker_order_id, "owner": owners.get(trade.maker_account, ""),
            "maker_address": trade.maker_account, "matched_amount": size_to_str(trade.size),
            "price": price_to_str(trade.maker_price), "fee_rate_bps": "0",
            "asset_id": trade.maker_asset, "outcome": trade.maker_outcome,
            "side": trade.maker_side,
        }],
    }
    if event:
        record.update({
            "event_type": "trade", "type": "TRADE", "trade_owner": owners.get(viewer, ""),
            "timestamp": str(now_ms),
        })
    else:
        record["err_msg"] = ""
    return record


def send_order_response(placement: Placement) -> dict[str, Any]:
    order, trades = placement.order, placement.trades
    shares = sum(t.size for t in trades)
    usd = sum(t.size * t.taker_price for t in trades)
    making, taking = (usd, shares) if order.side == "BUY" else (shares, usd)
    return {
        "success": True,
        "orderID": order.id,
        "status": "matched" if trades else "live",
        "makingAmount": _amount(making, order.side == "BUY") if trades else "",
        "takingAmount": _amount(taking, order.side != "BUY") if trades else "",
        "transactionsHashes": [t.tx_hash for t in trades],
        "tradeIDs": [t.id for t in trades],
        "errorMsg": "",
    }


def _amount(value: int, is_money: bool) -> str:
    return money_to_str(value) if is_money else size_to_str(value)


def failed_order_response(order_id: str, message: str) -> dict[str, Any]:
    return {
        "success": False, "orderID": order_id, "status": "", "makingAmount": "",
        "takingAmount": "", "transactionsHashes": [], "tradeIDs": [], "errorMsg": message,
    }
