"""Kalshi trade API v2 JSON shapes (2026 fixed-point fields) built from engine state.

Prices are YES dollars as 4-dp strings (`*_dollars`), counts 2-dp strings (`*_fp`).
The engine keeps one YES-terms book per market with a YES and a NO token; a Kalshi
market ticker maps to the synthetic tokens `<ticker>:yes` and `<ticker>:no`, which
never appear on Kalshi's wire. A YES bid is a "yes" level; a YES ask at p is a NO bid
at 1 - p ("no" level), as in Kalshi's book of bids only.
"""

from __future__ import annotations

import base64
import binascii
import time
from decimal import Decimal
from typing import Any

from common.prices import MONEY_SCALE, PRICE_SCALE, SIZE_SCALE, size_to_str
from services.venue_sim.book import ONE, Order
from services.venue_sim.engine import Engine, SimMarket, Trade
from services.venue_sim.listing import Listing

__all__ = [
    "ACCOUNT_PREFIX", "AUTH_FAILED", "BAD_REQUEST", "DUPLICATE_CLIENT_ORDER_ID",
    "INSUFFICIENT_BALANCE", "INVALID_ORDER", "MARKET_LIFETIME_MS", "MARKET_NOT_FOUND", "NOT_FOUND",
    "PAGE_LIMIT", "POST_ONLY_CROSS", "RATE_LIMITED", "KalshiReject", "account_of",
    "average_yes_price", "book_levels", "cursor_page", "dollars", "err", "event_json",
    "event_ticker_of", "fill_costs", "fill_json", "fp", "iso", "listing_fields", "market_json",
    "money", "order_json", "series_json", "series_ticker_of", "status_of",
]

PAGE_LIMIT = 100
ACCOUNT_PREFIX = "kalshi:"

# One place for the reject codes (Kalshi's exact strings are UNCONFIRMED, venues.md B3).
POST_ONLY_CROSS = "post_only_cross"
INVALID_ORDER = "invalid_order"
INSUFFICIENT_BALANCE = "insufficient_balance"
DUPLICATE_CLIENT_ORDER_ID = "duplicate_client_order_id"
NOT_FOUND = "not_found"
MARKET_NOT_FOUND = "market_not_found"
AUTH_FAILED = "authentication_error"
BAD_REQUEST = "bad_request"
RATE_LIMITED = {"error": "too many requests"}


class KalshiReject(Exception):
    """A definitive Kalshi error: HTTP status, code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict[str, Any]:
        return err(self.code, self.message)


def account_of(key_id: str) -> str:
    return ACCOUNT_PREFIX + key_id


def dollars(pips: int) -> str:
    return format(Decimal(pips) / PRICE_SCALE, ".4f")


def money(micros: int) -> str:
    return format(Decimal(micros) / MONEY_SCALE, ".4f")


def fp(centi: int) -> str:
    return size_to_str(centi)


def iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"


def err(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": "", "service": "exchange"}}


def cursor_page(rows: list[Any], cursor: str, limit: int) -> tuple[list[Any], str]:
    """One page and the next cursor ("" after the last page)."""
    try:
        start = int(base64.b64decode(cursor)) if cursor else 0
    except (ValueError, binascii.Error):
        start = 0
    page = rows[start:start + limit]
    end = start + len(page)
    return page, (base64.b64encode(str(end).encode()).decode() if end < len(rows) else "")


def status_of(order: Order) -> str:
    if order.status == "LIVE":
        return "resting"
    return "executed" if order.remaining == 0 else "canceled"


def average_yes_price(fills: list[Trade]) -> str | None:
    """Count-weighted mean YES price of `fills` as a dollar string; None without fills."""
    count = sum(t.size for t in fills)
    if not count:
        return None
    mean = Decimal(sum(t.yes_price * t.size for t in fills)) / count / PRICE_SCALE
    return format(mean.quantize(Decimal("0.0001")), "f")


def fill_costs(order: Order, fills: list[Trade]) -> tuple[str, str]:
    """(taker, maker) dollars paid for `order`'s fills, each at the order's own side's price."""
    taker = maker = Decimal(0)
    for t in fills:
        own = t.taker_price if t.taker_order_id == order.id else t.maker_price
        cost = Decimal(own * t.size) / PRICE_SCALE / SIZE_SCALE
        if t.taker_order_id == order.id:
            taker += cost
        else:
            maker += cost
    return format(taker, ".4f"), format(maker, ".4f")


def order_json(order: Order, *, ticker: str, client_order_id: str, user_id: str,
               fills: list[Trade]) -> dict[str, Any]:
    """The Order object (responses, GET /portfolio/orders); `fills` are the order's trades."""
    yes_price = order.yes_price
    outcome = "yes" if order.is_yes else "no"
    taker_cost, maker_cost = fill_costs(order, fills)
    return {
        "order_id": order.id, "user_id": user_id, "client_order_id": client_order_id,
        "ticker": ticker, "outcome_side": outcome, "book_side": "bid" if order.yes_bid else "ask",
        "side": outcome, "action": "buy" if order.side == "BUY" else "sell", "type": "limit",
        "status": status_of(order), "yes_price_dollars": dollars(yes_price),
        "no_price_dollars": dollars(ONE - yes_price),
        "fill_count_fp": fp(order.size_matched), "remaining_count_fp": fp(
            order.remaining if order.status == "LIVE" else 0),
        "initial_count_fp": fp(order.original_size),
        "taker_fill_cost_dollars": taker_cost, "maker_fill_cost_dollars": maker_cost,
        "taker_fees_dollars": "0.0000", "maker_fees_dollars": "0.0000",
        "created_time": iso(order.created_ms), "last_update_time": iso(order.created_ms),
        "expiration_time": None, "self_trade_prevention_type": "maker",
        "order_group_id": None, "cancel_order_on_pause": False,
        "subaccount_number": 0, "exchange_index": 0,
    }


def fill_json(trade: Trade, viewer: str, client_order_id: str, *, ws: bool,
              post_position: int = 0) -> dict[str, Any]:
    """Our side of one trade: REST Fill object, or the `fill` channel message body."""
    taker = trade.taker_account == viewer
    order_id = trade.taker_order_id if taker else trade.maker_order_id
    outcome = (trade.taker_outcome if taker else trade.maker_outcome).lower()
    side = trade.taker_side if taker else trade.maker_side
    ticker = trade.market
    body: dict[str, Any] = {
        "trade_id": trade.id, "order_id": order_id, "market_ticker": ticker,
        "is_taker": taker, "side": outcome, "action": "buy" if side == "BUY" else "sell",
        "yes_price_dollars": dollars(trade.yes_price), "count_fp": fp(trade.size),
        "fee_cost": "0.0000", "client_order_id": client_order_id,
        "ts": trade.match_ms // 1000, "ts_ms": trade.match_ms,
    }
    if ws:
        body.update({"purchased_side": outcome, "post_position_fp": fp(post_position),
                     "subaccount": 0})
    else:
        body.update({"fill_id": trade.id, "ticker": ticker, "outcome_side": outcome,
                     "book_side": "bid" if outcome == "yes" else "ask",
                     "no_price_dollars": dollars(ONE - trade.yes_price),
                     "created_time": iso(trade.match_ms), "subaccount_number": 0,
                     "exchange_index": 0})
    return body


def book_levels(engine: Engine, ticker: str) -> tuple[list[list[str]], list[list[str]]]:
    """(yes bids, no bids) as [[price_dollars, count_fp]], ascending price (best last)."""
    bids, asks = engine.depth(ticker)
    yes = [[dollars(p), fp(s)] for p, s in sorted(bids)]
    no = [[dollars(ONE - p), fp(s)] for p, s in sorted(asks, reverse=True)]
    return yes, no


MARKET_LIFETIME_MS = 30 * 24 * 3600 * 1000
"""A listed market without a known resolution closes this long after it opened."""


def market_json(engine: Engine, m: SimMarket, *, listed_ms: int = 0) -> dict[str, Any]:
    """The Market object of GET /markets and /markets/{ticker} (kalshi-python-sync's model).

    `listed_ms` is when the simulator opened the market (its created and open time).
    """
    bid, ask = engine.best(m.condition_id)
    bids, asks = engine.depth(m.condition_id, 1)
    last = engine.last_trade.get(m.condition_id)
    tick = m.tick
    close_ms = m.resolves_at_s * 1000 if m.resolves_at_s else listed_ms + MARKET_LIFETIME_MS
    previous = dollars(round(m.start_probability * PRICE_SCALE))
    title = m.name or m.condition_id
    return {
        "ticker": m.condition_id, "event_ticker": event_ticker_of(m.condition_id),
        "market_type": "binary", "title": title, "subtitle": "",
        "yes_sub_title": title, "no_sub_title": title,
        "created_time": iso(listed_ms), "updated_time": iso(listed_ms),
        "open_time": iso(listed_ms), "close_time": iso(close_ms),
        "expected_expiration_time": iso(close_ms), "expiration_time": iso(close_ms),
        "latest_expiration_time": iso(close_ms), "settlement_timer_seconds": 0,
        "status": "active",
        "yes_bid_dollars": dollars(bid or 0), "yes_ask_dollars": dollars(ask or ONE),
        "no_bid_dollars": dollars(ONE - ask if ask is not None else 0),
        "no_ask_dollars": dollars(ONE - bid if bid is not None else ONE),
        "yes_bid_size_fp": fp(bids[0][1] if bids else 0),
        "yes_ask_size_fp": fp(asks[0][1] if asks else 0),
        "last_price_dollars": dollars(last[0] if last else 0),
        "volume_fp": "0.00", "volume_24h_fp": "0.00", "open_interest_fp": "0.00",
        "result": "", "can_close_early": True, "notional_value_dollars": dollars(ONE),
        "previous_yes_bid_dollars": previous, "previous_yes_ask_dollars": previous,
        "previous_price_dollars": previous, "settlement_bounds_type": "default",
        "expiration_value": "", "rules_primary": f"Resolves Yes if {title} happens.",
        "rules_secondary": "",
        "price_level_structure": "linear_cent" if tick == 100 else "deci_cent",
        "price_ranges": [{"start": dollars(0), "end": dollars(ONE), "step": dollars(tick)}],
        "exchange_index": 0,
    }


def event_ticker_of(ticker: str) -> str:
    """A market's event: its ticker without the last `-` part (KXFED-26DEC-T4.00 -> KXFED-26DEC)."""
    return ticker.rsplit("-", 1)[0]


def series_ticker_of(event_ticker: str) -> str:
    """An event's series: the part before the first `-` (KXFED-26DEC -> KXFED)."""
    return event_ticker.split("-", 1)[0]


def event_json(event_ticker: str, title: str) -> dict[str, Any]:
    """The EventData object of GET /events/{event_ticker} (its markets are listed beside it)."""
    return {"event_ticker": event_ticker, "series_ticker": series_ticker_of(event_ticker),
            "title": title, "sub_title": title, "collateral_return_type": "",
            "mutually_exclusive": False, "settlement_sources": []}


def series_json(series_ticker: str, title: str) -> dict[str, Any]:
    """The Series object of GET /series/{series_ticker}; the simulator charges no fees."""
    return {"ticker": series_ticker, "frequency": "custom", "title": title,
            "category": "Simulated", "categories": ["Simulated"], "tags": [],
            "settlement_sources": [], "contract_url": "", "contract_terms_url": "",
            "fee_type": "quadratic", "fee_multiplier": 0, "additional_prohibitions": []}


def listing_fields(listing: Listing, m: SimMarket) -> dict[str, Any]:
    """Kalshi Market fields the scanner reads, beyond what market_json has."""
    st = listing.stats(m)
    prev = round(m.start_probability * PRICE_SCALE)
    out: dict[str, Any] = {
        "volume_fp": f"{st['volume_usd'] / max(m.start_probability, 0.01):.2f}",
        "volume_24h_fp": f"{st['volume_usd'] / max(m.start_probability, 0.01):.2f}",
        "liquidity_dollars": f"{st['liquidity_usd']:.4f}",
        "previous_price_dollars": f"{prev / PRICE_SCALE:.4f}",
    }
    if m.resolves_at_s:
        out["close_time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(m.resolves_at_s))
    return out
