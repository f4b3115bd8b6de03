"""Polymarket trade lifecycle on the simulator: MATCHED -> MINED -> CONFIRMED, or a ghost fill.

Every trade with an external party is re-announced on the user channel as MINED at
half of `[sim] trade_confirm_ms` and CONFIRMED at the full delay. The fault
`trade_failed` (armed with a count) sends the next trades down MATCHED -> RETRYING
-> FAILED instead: at FAILED the match is undone in the accounts (positions and
collateral as before the trade), REST `/data/trades` reports it as FAILED, and the
simulator's truth (`/_sim/state` fills) no longer lists it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from services.venue_sim import ledger
from services.venue_sim.engine import Engine, Trade
from services.venue_sim.faults import Faults

__all__ = ["Announce", "TradeLifecycle"]

Announce = Callable[[Trade, str, int], None]
"""Tell the trade's parties its new status (trade, status, now_ms)."""


class TradeLifecycle:
    """Confirmation timers and the set of failed trades."""

    def __init__(self, engine: Engine, faults: Faults, *, confirm_ms: int,
                 clock_ms: Callable[[], int], announce: Announce) -> None:
        self.engine = engine
        self.faults = faults
        self.confirm_ms = confirm_ms
        self.clock_ms = clock_ms
        self.announce = announce
        self.failing: set[str] = set()
        """Trades on their way to FAILED (RETRYING)."""
        self.failed: set[str] = set()
        self._timers: set[asyncio.TimerHandle] = set()

    def status(self, trade: Trade, now_ms: int) -> str:
        """The trade's status now, as REST /data/trades reports it."""
        if trade.id in self.failed:
            return "FAILED"
        age = now_ms - trade.match_ms
        confirm = self.confirm_ms
        if trade.id in self.failing:
            return "RETRYING" if age >= confirm // 2 else "MATCHED"
        if age >= confirm:
            return "CONFIRMED"
        return "MINED" if age >= confirm // 2 else "MATCHED"

    def schedule(self, trades: list[Trade]) -> None:
        """Start the status timers of freshly matched trades with an external party."""
        accounts = self.engine.accounts
        external = [t for t in trades
                    if not (accounts[t.taker_account].internal
                            and accounts[t.maker_account].internal)]
        if not external:
            return
        loop = asyncio.get_running_loop()
        confirm_s = self.confirm_ms / 1000
        for trade in external:
            fails = self.faults.take("trade_failed")
            if fails:
                self.failing.add(trade.id)
            steps = (("RETRYING", "FAILED") if fails else ("MINED", "CONFIRMED"))
            for delay, status in zip((confirm_s / 2, confirm_s), steps):
                self._timers.add(loop.call_later(delay, self._announce, trade, status))

    def _announce(self, trade: Trade, status: str) -> None:
        if status == "FAILED":
            self.revert(trade)
        self.announce(trade, status, self.clock_ms())
        now = asyncio.get_running_loop().time()
        self._timers = {h for h in self._timers if h.when() > now}

    def revert(self, trade: Trade) -> None:
        """Undo a match in both accounts (the chain never settled it)."""
        self.failing.discard(trade.id)
        self.failed.add(trade.id)
        legs = ((trade.taker_account, trade.taker_asset, trade.taker_side, trade.taker_price),
                (trade.maker_account, trade.maker_asset, trade.maker_side, trade.maker_price))
        for account, asset, side, price in legs:
            ledger.unsettle(self.engine.accounts[account], asset, side, price, trade.size)

    def cancel(self) -> None:
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
