"""Authenticated control messages at the risk gate: kill, reset, pause/resume, flatten.

Every switch change is persisted (`RiskGate.save`) before the Ack is returned, so an
acknowledged kill survives a risk crash. Flatten: cancel the market's orders, then send
exit orders (`ApprovedIntent.exit_bids/exit_asks`, non-post-only at the executor) that
work the netted position back to flat one clip at a time, re-priced on every book and
fill, inside the market's limits (`ladder.flatten_orders`). A flattening market takes no
quotes until resume (Pause paused=False) or Reset; a kill stops the exits too.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from common import metrics
from common.errors import StorageError
from common.messages import (
    Ack,
    ApprovedIntent,
    ControlMessage,
    ExecutorCommand,
    Flatten,
    Kill,
    Pause,
    Reset,
)
from services.risk import ladder
from services.risk.limits import BookTop
from services.risk.position import Position

if TYPE_CHECKING:
    from services.risk.gate import RiskGate

log = logging.getLogger(__name__)


class ControlMixin:
    """`on_control` and flatten for `RiskGate` (kept apart to keep each module one job)."""

    def on_control(self: RiskGate, msg: ControlMessage) -> tuple[Ack, list[ExecutorCommand]]:
        """Apply an authenticated control message; return the Ack and commands to send."""
        out: list[ExecutorCommand] = []
        sw = self.sw
        match msg:
            case Kill():
                reason = msg.reason or "kill"
                if msg.market:
                    sw.kill_markets[msg.market] = reason
                    venue = msg.venue or self.venue_of.get(msg.market, "")
                    venues = [venue] if venue else self.venues()
                    out = [self.cancel(v, msg.market, f"kill: {reason}") for v in venues]
                elif msg.venue:
                    sw.kill_venues[msg.venue] = reason
                    out = [self.cancel(msg.venue, "", f"kill: {reason}")]
                else:
                    sw.kill_global = True
                    out = [self.cancel(v, "", f"kill: {reason}") for v in self.venues()]
                sw.kill_reason = reason
                self.live.clear()
                log.error(
                    "kill switch latched: %s", reason,
                    extra={"market": msg.market, "venue": msg.venue, "sender": msg.sender},
                )
            case Reset():
                sw.kill_global = False
                sw.kill_venues.clear()
                sw.kill_markets.clear()
                sw.kill_reason = ""
                for market in sw.halted:
                    metrics.HALTED.labels(market=market).set(0)
                sw.halted.clear()
                sw.flattening = []
                self.flatten_sent.clear()
                log.warning("kill switch and halts reset", extra={"sender": msg.sender})
            case Pause():
                sw.paused = msg.paused
                if not msg.paused and sw.flattening:
                    sw.flattening = []  # resume ends a flatten too
                    self.flatten_sent.clear()
                log.warning("paused=%s", msg.paused, extra={"sender": msg.sender})
            case Flatten():
                targets = [msg.market] if msg.market else list(self.markets)
                for market in targets:
                    if market not in self.markets:
                        return Ack(receiver="risk", nonce=msg.nonce, ok=False,
                                   detail=f"unknown market {market}"), []
                for market in targets:
                    if market not in sw.flattening:
                        sw.flattening.append(market)
                        self.flatten_sent.pop(market, None)
                        self.live.pop(market, None)
                        out.append(self.cancel(self.venue_of[market], market, "flatten"))
                    out += self.flatten_commands(market)
                log.warning("flatten: %s", msg.reason or "operator",
                            extra={"market": msg.market or "*", "sender": msg.sender})
        self.save()
        metrics.KILL_ACTIVE.labels(process="risk").set(1 if self.kill_active else 0)
        if isinstance(msg, Reset) and self.sw.kill_global:  # the save failed: still latched
            return Ack(receiver="risk", nonce=msg.nonce, ok=False,
                       detail=f"{self.sw.kill_reason}; fix the disk, then reset again"), out
        return Ack(receiver="risk", nonce=msg.nonce, ok=True), out

    def storage_fault(self: RiskGate, exc: StorageError) -> None:
        """A journal write failed (disk full, I/O error): latch the kill switch for every
        market, since they share one journal, and queue the cancels for the actor
        (`outbox`). Risk keeps running and answering; `pmm reset` once the disk is fixed."""
        if self.sw.kill_global:
            return
        log.error("%s: kill switch latched and every order cancelled. Free disk space or "
                  "repair %s, then run `pmm reset`", exc, self.journal.path)
        self.sw.kill_global = True
        self.sw.kill_reason = f"storage fault: {exc}"
        self.live.clear()
        self.outbox += [self.cancel(v, "", "kill: storage fault") for v in self.venues()]
        metrics.KILL_ACTIVE.labels(process="risk").set(1)

    def take_outbox(self: RiskGate) -> list[ExecutorCommand]:
        """The commands queued outside a handler's return value, once."""
        out: list[ExecutorCommand] = list(self.outbox)
        self.outbox.clear()
        return out

    def flatten_commands(self: RiskGate, market: str) -> list[ExecutorCommand]:
        """The exit order for a flattening market now, if it changed since the last one."""
        if market not in self.sw.flattening or self.killed(market):
            return []
        net = self.positions.get(market, Position()).net
        book = self.books.get(market, BookTop())
        key = (net, book.bid, book.ask)
        if self.flatten_sent.get(market) == key:
            return []
        self.flatten_sent[market] = key
        exit_bids, exit_asks = ladder.flatten_orders(
            net, book_bid=book.bid, book_ask=book.ask, lim=self.limits[market])
        if net == 0:
            log.info("flatten done: flat", extra={"market": market})
        mkt = self.markets[market]
        return [ApprovedIntent(
            venue=mkt.venue, market=market, risk_seq=self._next_seq(), intent_seq=0,
            ts_recv_ns=0, ts_approved_ns=self._mono(), expires_at_ns=self._expiry(),
            bids=(), asks=(), exit_bids=exit_bids, exit_asks=exit_asks,
            risk_instance=self.instance,
        )]
