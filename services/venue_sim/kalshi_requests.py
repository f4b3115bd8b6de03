"""Kalshi request bodies read into engine terms, and the order-write responses.

Every reader raises `KalshiReject` (400 `bad_request`) for a body it cannot read, so a
route answers it like any other definitive reject.
"""

from __future__ import annotations

from typing import Any

from common.errors import PriceError
from common.prices import price_from_str, size_from_str
from services.venue_sim import kalshi_wire as kw
from services.venue_sim.book import ONE, Order
from services.venue_sim.kalshi_wire import KalshiReject
from services.venue_sim.model import Trade

__all__ = ["MAX_GROUP_LIMIT_CENTI", "MIN_GROUP_LIMIT_CENTI", "TIF", "OrderArgs", "created",
           "group_limit", "legacy_order_args", "v2_order_args"]

TIF = {"good_till_canceled": "GTC", "immediate_or_cancel": "FAK", "fill_or_kill": "FOK"}
MIN_GROUP_LIMIT_CENTI = 100
MAX_GROUP_LIMIT_CENTI = 1_000_000 * 100

OrderArgs = tuple[str, bool, int, int, str, bool, str]
"""ticker, bid (BUY YES), YES price (pips), count (centi), time in force, post only,
client order id: the arguments of KalshiBook.place."""


def v2_order_args(item: Any) -> OrderArgs:
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


def legacy_order_args(item: Any) -> OrderArgs:
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


def created(order: Order, fills: list[Trade], client_order_id: str,
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


def group_limit(data: Any) -> int:
    """The centi-contract limit of a create or limit body; raise a 400 if it is invalid."""
    if not isinstance(data, dict):
        raise KalshiReject(400, kw.BAD_REQUEST, "contracts_limit or contracts_limit_fp required")
    whole, fixed = data.get("contracts_limit"), data.get("contracts_limit_fp")
    try:
        from_fp = size_from_str(str(fixed)) if fixed is not None else None
        from_int = (int(whole) * 100 if isinstance(whole, int) and not isinstance(whole, bool)
                    else None)
    except (TypeError, ValueError, PriceError) as exc:
        raise KalshiReject(400, kw.BAD_REQUEST, f"invalid contracts limit: {exc}") from None
    if whole is not None and from_int is None:
        raise KalshiReject(400, kw.BAD_REQUEST, "contracts_limit must be an integer")
    if from_fp is None and from_int is None:
        raise KalshiReject(400, kw.BAD_REQUEST, "contracts_limit or contracts_limit_fp required")
    if from_fp is not None and from_int is not None and from_fp != from_int:
        raise KalshiReject(400, kw.BAD_REQUEST, "contracts_limit and contracts_limit_fp differ")
    limit = from_fp if from_fp is not None else from_int
    assert limit is not None
    if not MIN_GROUP_LIMIT_CENTI <= limit <= MAX_GROUP_LIMIT_CENTI:
        raise KalshiReject(400, kw.BAD_REQUEST, "contracts limit must be 1 to 1,000,000")
    return limit
