"""The venue's order rules: what makes an order request invalid, with the venue's words.

Pure checks over the request, its market and its account; the engine calls them before
it touches a book, so a rejected request changes nothing.
"""

from __future__ import annotations

from decimal import Decimal

from common.prices import PRICE_SCALE, SIZE_SCALE, price_to_str
from services.venue_sim.book import ONE
from services.venue_sim.model import (
    GTD_BUFFER_S,
    NO_BALANCE,
    ORDER_TYPES,
    POST_ONLY_TYPES,
    Account,
    OrderRejected,
    OrderRequest,
    SimMarket,
)

__all__ = ["check_request", "on_grid"]


def decimal_text(value: int, scale: int) -> str:
    """`value / scale` without trailing zeros ("0.5", "12")."""
    text = format(Decimal(value) / scale, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def on_grid(price: int, tick: int) -> bool:
    """Whether `price` is a multiple of `tick` strictly inside (0, 1)."""
    return not price % tick and tick <= price <= ONE - tick


def check_request(
    req: OrderRequest, market: SimMarket, acct: Account, *, seen: set[str], now_s: int
) -> None:
    """Raise OrderRejected if `req` breaks a venue rule or the account cannot fund it."""
    if req.order_id in seen:
        raise OrderRejected(f"order {req.order_id} is invalid. Duplicated.")
    if req.order_type not in ORDER_TYPES:
        raise OrderRejected(f"invalid order type {req.order_type!r}")
    if req.post_only and req.order_type not in ("GTC", "GTD"):
        raise OrderRejected(POST_ONLY_TYPES)
    tick = market.tick
    if not on_grid(req.price, tick):
        raise OrderRejected(
            f"order {req.order_id} is invalid. Price ({decimal_text(req.price, PRICE_SCALE)}) "
            f"breaks minimum tick size rule: {price_to_str(tick)}"
        )
    if req.size < market.min_size or req.size <= 0:
        raise OrderRejected(
            f"order {req.order_id} is invalid. Size ({decimal_text(req.size, SIZE_SCALE)}) lower "
            f"than the minimum: {decimal_text(market.min_size, SIZE_SCALE)}"
        )
    if req.order_type == "GTD" and req.expiration <= now_s + GTD_BUFFER_S:
        raise OrderRejected("invalid expiration")
    if req.side == "BUY":
        if req.price * req.size > acct.free_collateral():
            raise OrderRejected(NO_BALANCE)
    elif req.size > acct.free_tokens(req.asset_id):
        raise OrderRejected(NO_BALANCE)
