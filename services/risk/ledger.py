"""Risk's book of positions: every journaled fill applied once, the marks, and the totals.

`Ledger` owns the positions (position.py), each market's mark (its book mid), the running
exposure and loss totals (totals.py) and the fill side of the journal: a fill is written
before it changes a position, a duplicate or a reversed trade changes nothing, and a
reversal rebuilds its market from the journaled fills without the reversed trade. It
decides no limit and sends nothing; the gate (gate.py) does. Loss figures count from each
market's baseline at the last daily reset, which the gate's switches hold and pass in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from common.errors import StorageError
from common.messages import Fill, FillReversal
from services.risk.journal import Journal
from services.risk.position import Position, apply_fill
from services.risk.totals import Totals, market_exposure, market_loss, market_pnl

__all__ = ["Ledger"]


class Ledger:
    """Positions, marks and totals over one journal. `venue_of` starts with the
    configured markets (`configured`) and learns the venue of any other market filled."""

    def __init__(self, journal: Journal, venue_of: Mapping[str, str]) -> None:
        self.journal = journal
        self.configured = frozenset(venue_of)
        self.venue_of: dict[str, str] = dict(venue_of)
        self.positions: dict[str, Position] = {}
        self.marks: dict[str, int] = {}
        """Each market's latest book mid, pips."""
        self.totals = Totals()
        self.reversed: set[tuple[str, str]] = journal.reversed()
        """(venue, trade id) of every reversed trade."""
        self.unjournaled: set[tuple[str, str, str]] = set()
        """(venue, trade id, order id) of fills applied while the journal could not be
        written: applied once, even when the executor's replay brings them again."""

    # --- figures -------------------------------------------------------------------------

    def pnl(self, market: str) -> tuple[int, int]:
        """(realized net of fees, marked) P&L of a market, micro-dollars."""
        return market_pnl(self.positions.get(market, Position()), self.marks.get(market))

    def total_pnl(self) -> int:
        """Realized plus marked P&L over every market, micro-dollars."""
        return sum(sum(self.pnl(m)) for m in self.positions)

    def net(self, market: str) -> int:
        """A market's netted YES position, centi-contracts."""
        return self.positions.get(market, Position()).net

    # --- changes -------------------------------------------------------------------------

    def mark(self, market: str, mid: int, loss_base: Mapping[str, int]) -> None:
        """A new book mid for a market (pips)."""
        self.marks[market] = mid
        if market in self.positions:
            self.refresh(market, loss_base)

    def record(self, fill: Fill) -> tuple[bool, StorageError | None]:
        """Journal a fill: (fresh, the journal's error if it could not be written). A fill
        that could not be journaled is still fresh once: the venue's fill is real."""
        key = (fill.venue, fill.trade_id, fill.order_id)
        try:
            return self.journal.record(fill) and key not in self.unjournaled, None
        except StorageError as exc:
            fresh = key not in self.unjournaled
            self.unjournaled.add(key)
            return fresh, exc

    def is_reversed(self, fill: Fill) -> bool:
        """True if the fill's trade was reversed (it never counts again)."""
        return (fill.venue, fill.trade_id) in self.reversed

    def apply(self, fill: Fill, loss_base: Mapping[str, int]) -> None:
        """Apply a (journaled, fresh, not reversed) fill to its market's position."""
        self.venue_of.setdefault(fill.market, fill.venue)
        self.positions[fill.market] = apply_fill(self.positions.get(fill.market, Position()),
                                                 fill)
        self.refresh(fill.market, loss_base)

    def replay(self, fills: Iterable[Fill], loss_base: Mapping[str, int]) -> int:
        """Rebuild positions from journaled fills, skipping reversed trades; returns the
        number applied."""
        n = 0
        for fill in fills:
            if not self.is_reversed(fill):
                self.apply(fill, loss_base)
                n += 1
        return n

    def record_reversal(self, rev: FillReversal) -> tuple[bool, StorageError | None]:
        """Journal a reversal: (fresh, the journal's error if it could not be written)."""
        try:
            return self.journal.record_reversal(rev), None
        except StorageError as exc:
            return (rev.venue, rev.trade_id) not in self.reversed, exc

    def reverse(self, rev: FillReversal, loss_base: Mapping[str, int]) -> None:
        """Rebuild the market from its journaled fills without the reversed trade: exact
        (the same as never having had it)."""
        self.reversed.add((rev.venue, rev.trade_id))
        pos = Position()
        for f in self.journal.fills_of(rev.market):
            if not self.is_reversed(f):
                pos = apply_fill(pos, f)
        self.venue_of.setdefault(rev.market, rev.venue)
        self.positions[rev.market] = pos
        self.refresh(rev.market, loss_base)

    def refresh(self, market: str, loss_base: Mapping[str, int]) -> None:
        """Move the totals after a held market's mark, position or loss baseline changed."""
        pos, mark = self.positions[market], self.marks.get(market)
        self.totals.move(
            market, exposure=market_exposure(pos, mark),
            loss=market_loss(pos, mark, loss_base.get(market, 0)),
            venue=self.venue_of[market] if market in self.configured else None)

    def rebase(self, loss_base: Mapping[str, int]) -> None:
        """Every held market's loss counts from a new baseline (the daily reset)."""
        for market in self.positions:
            self.refresh(market, loss_base)
