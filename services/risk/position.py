"""Exact integer position accounting for one binary market (ARCHITECTURE.md "Positions and P&L").

Units: sizes in centi-contracts, prices in pips, money in micro-dollars (pips x centi).

Two views are kept:
- gross token holdings as the venue sees them, `position_yes` and `position_no`;
- a netted signed YES position `net` (= yes - no) with a signed cost `basis`
  (the sum of signed quantity x price of the open lots: positive when long,
  negative when short).

Every fill maps to a netted YES trade (`netted`): BUY NO at q is SELL YES at 1 - q,
which has the same payoff. Trading towards flat books realized P&L; the cost removed
from the basis is `basis * closed // |net|` (floor division), and realized P&L is the
exact complement, so for every fill sequence

    cash_flow + basis == realized          (all before fees)

where `cash_flow` is the cash received (negative when buying). Fees are kept
separately and subtracted: `realized_pnl = realized - fees`, and
`cash_flow - fees + basis == realized_pnl` holds too.
"""

from __future__ import annotations

from msgspec import Struct

from common.messages import Fill
from common.prices import ONE_DOLLAR

__all__ = ["Position", "apply_fill", "avg_price", "exposure", "marked_pnl", "netted",
    "realized_pnl", "trade"]


class Position(Struct, frozen=True, kw_only=True):
    """One market's position. Immutable: `apply_fill` returns a new one."""

    position_yes: int = 0
    position_no: int = 0
    net: int = 0
    basis: int = 0
    realized: int = 0
    fees: int = 0
    cash_flow: int = 0
    fills: int = 0
    volume: int = 0


def netted(fill: Fill) -> tuple[int, int]:
    """The fill as a signed YES trade (quantity in centi, price in pips)."""
    if fill.outcome == "YES":
        return (fill.size if fill.side == "BUY" else -fill.size), fill.price
    yes_price = ONE_DOLLAR - fill.price
    return (-fill.size if fill.side == "BUY" else fill.size), yes_price


def trade(pos: Position, qty: int, price: int) -> Position:
    """Apply a signed netted YES trade of `qty` centi at `price` pips (no gross change)."""
    if qty == 0:
        return pos
    net, basis, realized = pos.net, pos.basis, pos.realized
    cash = -qty * price
    if net != 0 and (net > 0) != (qty > 0):
        closed = min(abs(qty), abs(net))
        closed_signed = closed if qty > 0 else -closed
        removed = basis * closed // abs(net)
        realized += -closed_signed * price - removed
        basis -= removed
        net += closed_signed
        qty -= closed_signed
    net += qty
    basis += qty * price
    return Position(
        position_yes=pos.position_yes,
        position_no=pos.position_no,
        net=net,
        basis=basis,
        realized=realized,
        fees=pos.fees,
        cash_flow=pos.cash_flow + cash,
        fills=pos.fills,
        volume=pos.volume,
    )


def apply_fill(pos: Position, fill: Fill) -> Position:
    """Apply one of our fills: gross holdings, netted position, realized P&L, fees."""
    qty, price = netted(fill)
    moved = trade(pos, qty, price)
    signed = fill.size if fill.side == "BUY" else -fill.size
    yes = pos.position_yes + (signed if fill.outcome == "YES" else 0)
    no = pos.position_no + (signed if fill.outcome == "NO" else 0)
    return Position(
        position_yes=yes,
        position_no=no,
        net=moved.net,
        basis=moved.basis,
        realized=moved.realized,
        fees=pos.fees + fill.fee,
        cash_flow=moved.cash_flow,
        fills=pos.fills + 1,
        volume=pos.volume + fill.size,
    )


def realized_pnl(pos: Position) -> int:
    """Realized P&L net of fees, micro-dollars."""
    return pos.realized - pos.fees


def marked_pnl(pos: Position, mark: int | None) -> int:
    """Mark-to-market of the open netted position at `mark` pips (0 without a mark)."""
    if mark is None or pos.net == 0:
        return 0
    return pos.net * mark - pos.basis


def avg_price(pos: Position) -> int:
    """Average entry price of the open netted position in YES pips (0 when flat)."""
    if pos.net == 0:
        return 0
    n = abs(pos.net)
    return max(0, min(ONE_DOLLAR, (abs(pos.basis) + n // 2) // n))


def exposure(net: int, mark: int) -> int:
    """Money at risk in an open netted position at `mark`: long YES costs p, short costs 1 - p."""
    if net >= 0:
        return net * mark
    return -net * (ONE_DOLLAR - mark)
