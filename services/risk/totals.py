"""Running totals of the risk gate: exposure and loss per held market, per venue, overall.

Why: an intent's exposure check and a book's loss check used to sum over every market
(O(markets) per message: ~100 us per book at 100 held markets, issue 9). Each held
market's figures depend only on its position, its mark and its loss baseline, so they
are recomputed for that one market when one of those changes (`_refresh`) and the
totals move by the difference. `_refresh_all` follows a change of every baseline (the
daily reset). A mixin of `RiskGate`; tests/property/test_risk_totals_properties.py checks
the totals against the sums after arbitrary fills, books and resets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.risk.position import Position, avg_price, exposure

if TYPE_CHECKING:
    from services.risk.gate import RiskGate


class TotalsMixin:
    """Exposure and loss totals for `RiskGate` (`_init_totals` from its __init__)."""

    def _init_totals(self: RiskGate) -> None:
        self.exposures: dict[str, int] = {}
        self.exposure_total = 0
        self.losses: dict[str, int] = {}
        """P&L since the last daily reset of each held market, micro-dollars."""
        self.venue_losses: dict[str, int] = {}
        """Sum of `losses` over each venue's configured markets (the venue loss limit)."""
        self.loss_total = 0
        """Sum of `losses` over every held market (the total loss limit)."""

    def _market_exposure(self: RiskGate, market: str, pos: Position) -> int:
        mark = self.marks.get(market)
        return exposure(pos.net, avg_price(pos) if mark is None else mark)

    def total_exposure(self: RiskGate) -> int:
        """Money at risk across every market, micro-dollars (kept incrementally)."""
        return self.exposure_total

    def _set_position(self: RiskGate, market: str, pos: Position) -> None:
        self.positions[market] = pos
        self._refresh(market)

    def _refresh(self: RiskGate, market: str) -> None:
        """Recompute a held market's exposure and loss after its mark, position or loss
        baseline changed, and move the totals by the difference."""
        new = self._market_exposure(market, self.positions[market])
        self.exposure_total += new - self.exposures.get(market, 0)
        self.exposures[market] = new
        loss = self._loss(market)
        moved = loss - self.losses.get(market, 0)
        self.losses[market] = loss
        self.loss_total += moved
        if market in self.markets:
            venue = self.venue_of[market]
            self.venue_losses[venue] = self.venue_losses.get(venue, 0) + moved

    def _refresh_all(self: RiskGate) -> None:
        for market in self.positions:
            self._refresh(market)
