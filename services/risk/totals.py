"""Exposure and loss of each held market, and their running totals per venue and overall.

A market's figures are pure functions of its position, its mark and its loss baseline
(`market_exposure`, `market_loss`). The totals are kept incrementally (`Totals.move`)
because summing over every market per message cost ~100 us per book at 100 held markets
(issue 9): when one market's figures change, the totals move by the difference.
tests/property/test_risk_totals_properties.py checks the running totals against the sums
after arbitrary fills, books and resets.
"""

from __future__ import annotations

from services.risk.position import Position, avg_price, exposure, marked_pnl, realized_pnl

__all__ = ["Totals", "market_exposure", "market_loss", "market_pnl"]


def market_pnl(pos: Position, mark: int | None) -> tuple[int, int]:
    """(realized net of fees, marked) P&L of a position at `mark` pips, micro-dollars."""
    return realized_pnl(pos), marked_pnl(pos, mark)


def market_exposure(pos: Position, mark: int | None) -> int:
    """Money at risk in a position, micro-dollars: at the mark, or at the entry price
    while the market has no mark."""
    return exposure(pos.net, avg_price(pos) if mark is None else mark)


def market_loss(pos: Position, mark: int | None, base: int) -> int:
    """P&L of a position since the last daily reset (`base`: its P&L then), micro-dollars."""
    return sum(market_pnl(pos, mark)) - base


class Totals:
    """Running sums of the per-market figures. Each held market's last figures are kept,
    so `move` only needs the new ones."""

    def __init__(self) -> None:
        self.exposures: dict[str, int] = {}
        """Money at risk per held market, micro-dollars."""
        self.exposure_total = 0
        self.losses: dict[str, int] = {}
        """P&L since the last daily reset of each held market, micro-dollars."""
        self.venue_losses: dict[str, int] = {}
        """Sum of `losses` over each venue's configured markets (the venue loss limit)."""
        self.loss_total = 0
        """Sum of `losses` over every held market (the total loss limit)."""

    def move(self, market: str, *, exposure: int, loss: int, venue: str | None) -> None:
        """Record a market's new exposure and loss; `venue` is None for a market that is
        not configured (it counts in the total loss, not in any venue's)."""
        self.exposure_total += exposure - self.exposures.get(market, 0)
        self.exposures[market] = exposure
        moved = loss - self.losses.get(market, 0)
        self.losses[market] = loss
        self.loss_total += moved
        if venue is not None:
            self.venue_losses[venue] = self.venue_losses.get(venue, 0) + moved
