"""Account arithmetic of the simulated venues: what an order holds, and what a fill moves.

Money is micro-dollars (pips x centi-contracts), sizes centi-contracts. A resting BUY
locks `price x size` of collateral; a resting SELL reserves tokens. A fill moves tokens
and collateral at the price in the order's own token; undoing a fill (a trade that
never settled) moves them back.
"""

from __future__ import annotations

from services.venue_sim.book import Order, Side
from services.venue_sim.model import Account

__all__ = ["hold", "release", "settle", "unsettle"]


def hold(acct: Account, side: Side, asset_id: str, price: int, size: int) -> None:
    """Lock collateral (BUY) or reserve tokens (SELL) for `size` resting at `price`."""
    if side == "BUY":
        acct.locked += price * size
    else:
        acct.reserved[asset_id] = acct.reserved.get(asset_id, 0) + size


def release(acct: Account, order: Order, size: int) -> None:
    """Give back what `size` of `order` held (it was cancelled, killed or reduced)."""
    if order.side == "BUY":
        acct.locked -= order.price * size
    else:
        acct.reserved[order.asset_id] -= size


def settle(acct: Account, order: Order, own_price: int, qty: int) -> None:
    """Book a fill of `qty` of `order` at `own_price` (its own token's price)."""
    if order.side == "BUY":
        acct.locked -= order.price * qty
        acct.collateral -= own_price * qty
        acct.positions[order.asset_id] = acct.positions.get(order.asset_id, 0) + qty
    else:
        acct.reserved[order.asset_id] -= qty
        acct.positions[order.asset_id] -= qty
        acct.collateral += own_price * qty


def unsettle(acct: Account, asset_id: str, side: Side, price: int, size: int) -> None:
    """Undo one leg of a settled fill: positions and collateral as before it."""
    sign = 1 if side == "BUY" else -1
    acct.positions[asset_id] = acct.positions.get(asset_id, 0) - sign * size
    acct.collateral += sign * price * size
