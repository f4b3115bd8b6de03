"""The executor's order state: one object, passed explicitly to whoever reads or changes it.

`ExecutorState` holds what the executor believes and what it may do: the configured
markets (their tick changes while running), the ledger of our orders, the newest
approved ladder not yet applied per market (conflated), the last one applied (re-expressed
on a tick change), the per-market cancel epoch, the kill latch, and the gates that keep
ladders out (risk unheard, dead man's switch, venue not reconciled). No sockets, no
venue calls and no tasks: the sequencer (sequencer.py) and the actor (process.py) do the
I/O and change this state through the methods below.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from common.messages import ApprovedIntent, Level, Venue
from services.executor.ledger import OrderLedger
from services.executor.orders import MarketTokens

__all__ = ["ExecutorState", "ExitMemo", "Queued"]

Queued = tuple[ApprovedIntent, int]
"""An approved ladder and when it was received (monotonic ns)."""
ExitMemo = tuple[tuple[Level, ...], tuple[Level, ...], int]
"""A market's exit levels sent last (bids, asks) and when (wall ns), see plan.exits_due."""


class ExecutorState:
    """Our orders and the latches and gates that decide whether a ladder may be applied."""

    def __init__(self, venue: Venue, markets: Iterable[MarketTokens],
                 wall_ns: Callable[[], int]) -> None:
        self.venue = venue
        self.markets: dict[str, MarketTokens] = {m.market: m for m in markets}
        self.tokens: dict[str, MarketTokens] = {
            t: m for m in self.markets.values() for t in (m.yes_token, m.no_token)}
        self.ledger = OrderLedger(venue, self.tokens, wall_ns)
        self.pending: dict[str, Queued] = {}
        """Per market, the newest approved ladder not yet applied (conflated)."""
        self.last_intent: dict[str, Queued] = {}
        """Per market, the ladder applied last (re-expressed on a new tick)."""
        self.last_exit: dict[str, ExitMemo] = {}
        self.cancel_epoch: dict[str, int] = dict.fromkeys(self.markets, 0)
        """Bumped by every scope cancel (risk's CancelMarket, kill, flatten): a ladder whose
        placements were on the wire when a cancel for its market was issued is cancelled
        again as soon as they land, since the cancel may have reached the venue first."""
        self.kill_all = False
        self.killed_markets: set[str] = set()
        self.risk_ok = False
        """Risk heard and not timed out (the dead man's switch is not tripped)."""
        self.risk_instance = ""
        """The risk incarnation heard last (`Heartbeat.instance`); approvals from any other
        are refused (liveness.py)."""
        self.deadman_done = False
        """The dead man's switch cancelled everything; only a completed resume re-arms."""
        self.reconciled = False
        """Startup reconciliation with the venue succeeded (recovery.py)."""
        self.mids: dict[str, int] = {}
        """Each market's last book mid in pips (md loop), for the price collar (caps.py)."""
        self.startup_adopted = 0
        self.startup_cancelled = 0

    def blocked(self, market: str) -> bool:
        """True if ladders for `market` must be refused (kill latch, dead man's switch, or
        the venue not reconciled yet)."""
        return (self.kill_all or market in self.killed_markets or not self.risk_ok
                or not self.reconciled)

    def blocked_markets(self) -> frozenset[str]:
        """Markets whose orders found at the venue are cancelled, not adopted."""
        if self.kill_all or self.deadman_done:
            return frozenset(self.markets)
        return frozenset(self.killed_markets)

    def queue(self, intent: ApprovedIntent, recv_ns: int) -> bool:
        """Make `intent` its market's pending ladder; True if it replaced an older one."""
        conflated = intent.market in self.pending
        self.pending[intent.market] = (intent, recv_ns)
        return conflated

    def requeue_last(self, market: str, now_wall_ns: int) -> bool:
        """Queue the last applied ladder again (tick changed); a newer or expired one wins."""
        last = self.last_intent.get(market)
        if last is None or market in self.pending or self.blocked(market) \
                or now_wall_ns > last[0].expires_at_ns:
            return False
        self.pending[market] = last
        return True

    def drop_pending(self, market: str | None) -> None:
        """Forget queued and last applied ladders of one market (None: of every market),
        ahead of a cancel of that scope; placements already on the wire are superseded."""
        if market is None:
            self.pending.clear()
            self.last_intent.clear()
            for m in self.cancel_epoch:
                self.cancel_epoch[m] += 1
        else:
            self.pending.pop(market, None)
            self.last_intent.pop(market, None)
            if market in self.cancel_epoch:
                self.cancel_epoch[market] += 1

    def latch_kill(self, market: str | None) -> None:
        """Refuse ladders of `market` (None: of every market) until `reset_kill`."""
        if market:
            self.killed_markets.add(market)
        else:
            self.kill_all = True
        self.drop_pending(market or None)

    def reset_kill(self) -> None:
        self.kill_all = False
        self.killed_markets.clear()

    def replace_market(self, new: MarketTokens) -> None:
        """Adopt `new` as its market's record (a tick change)."""
        self.markets[new.market] = new
        for token in (new.yes_token, new.no_token):
            self.tokens[token] = new

    def off_grid(self, market: str) -> list[str]:
        """Our orders in `market` whose price is off its current tick grid."""
        tick = self.markets[market].tick
        return [o.order_id for o in self.ledger.in_market(market) if o.price % tick]
