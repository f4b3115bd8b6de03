"""Risk's state machine, free of sockets: messages in, the commands to send out.

`RiskGate` holds the risk state as named collaborators and decides with pure functions:

    sw        Switches (switches.py)      kill, halt, pause and flatten latches, persisted
    board     Switchboard (switches.py)   every switch change and what it sends
    ledger    Ledger (ledger.py)          positions, marks, exposure and loss totals
    intake    Intake (intake.py)          quoter liveness, rate buckets, forwarded ladders
    stamper   Stamper (stamps.py)         risk_seq, expiry and instance of each command
    limits    market_limits.Limits        each market's resolved limits

    an intent         limits.check_intent      approve, clip or reject
    a loss            losses.loss_halts        which markets halt
    an exit order     ladder.flatten_orders    a flattening market's next clip
    a venue snapshot  venue_check.check        a lost fill

Each handler returns the commands the actor must send (to executors, keyed by venue), so
the gate is testable without ZeroMQ. The journal is the one side effect: a fill (or
reversal) is committed to it before a position changes, and a switch before it is
acknowledged. The gate handles books, intents and fills, and hands control messages,
the daily reset and venue position checks to the switchboard.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from common import metrics
from common.config import Config, MarketConfig
from common.messages import (
    Ack,
    ApprovedIntent,
    BookSnapshot,
    CancelMarket,
    ControlMessage,
    ExecutorCommand,
    Fill,
    FillReversal,
    Heartbeat,
    MarketStatus,
    PositionUpdate,
    QuoteIntent,
    RiskState,
    VenuePositions,
)
from common.prices import MONEY_SCALE, SIZE_SCALE
from services.risk import limits, market_limits
from services.risk.intake import Intake
from services.risk.journal import Journal
from services.risk.ledger import Ledger
from services.risk.position import Position, avg_price
from services.risk.stamps import Stamper
from services.risk.switches import Switchboard, Switches

__all__ = ["RiskGate"]

log = logging.getLogger(__name__)
_QUOTER_TO_RISK = metrics.HOP_LATENCY.labels(hop="quoter_to_risk")


class RiskGate:
    """Every decision risk takes. Clocks are injected: `mono_ns` for liveness and book age,
    `wall_ns` for expiries (which other hosts compare) and the daily reset."""

    def __init__(
        self,
        cfg: Config,
        journal: Journal,
        *,
        mono_ns: Callable[[], int] = time.monotonic_ns,
        wall_ns: Callable[[], int] = time.time_ns,
        instance: str = "",
    ) -> None:
        self.cfg = cfg
        self.journal = journal
        self.instance = instance or uuid.uuid4().hex
        """This gate's incarnation: stamped on heartbeats and approvals, so an executor can
        tell a restarted risk (a new gate) from the one whose approvals it holds."""
        self._mono = mono_ns
        self._wall = wall_ns
        self.markets: dict[str, MarketConfig] = {m.id: m for m in cfg.markets}
        self.limits: dict[str, market_limits.Limits] = market_limits.resolve_all(cfg)
        by_event: dict[str, list[str]] = {}
        for m in cfg.markets:
            by_event.setdefault(market_limits.event_of(m), []).append(m.id)
        # Per intent, the other markets of its event: looked up, not searched (issue 9).
        self.event_peers: dict[str, tuple[str, ...]] = {
            m: tuple(o for o in peers if o != m) for peers in by_event.values() for m in peers}
        self.sw = Switches.load(journal.load_state())
        self.ledger = Ledger(journal, {m.id: m.venue for m in cfg.markets})
        self.intake = Intake(self.markets, mono_ns())
        self.stamper = Stamper(instance=self.instance, ttl_ms=cfg.risk.command_ttl_ms,
                               wall_ns=wall_ns)
        self.books: dict[str, limits.BookTop] = {}
        """Each market's best bid and ask (the collar, exit pricing)."""
        self.book_seen_ns: dict[str, int] = {}
        self.stale: dict[str, bool] = {}
        self.board = Switchboard(
            self.sw, risk=cfg.risk, markets=self.markets, limits=self.limits,
            venues=cfg.venues_in_use(), ledger=self.ledger, intake=self.intake,
            stamper=self.stamper, books=self.books, mono_ns=mono_ns, wall_ns=wall_ns)
        self.rejected = 0
        for market in self.markets:
            metrics.HALTED.labels(market=market).set(1 if market in self.sw.halted else 0)
        self._decisions: dict[tuple[str, str], Any] = {}
        self._reasons: dict[str, Any] = {}
        """RISK_DECISIONS and RISK_REJECTIONS children, looked up once: labels() locks and
        builds a key per call."""

    # --- views (kept as attributes for callers and tests) ---------------------------------

    @property
    def positions(self) -> dict[str, Position]:
        return self.ledger.positions

    @property
    def halted(self) -> dict[str, str]:
        """Halted markets and why (latched until Reset or the daily reset for loss halts)."""
        return self.sw.halted

    @property
    def paused(self) -> bool:
        return self.sw.paused

    @property
    def kill_reason(self) -> str:
        return self.sw.kill_reason

    @property
    def kill_active(self) -> bool:
        """True while any kill latch (global, venue or market) is set."""
        return self.sw.kill_active

    def killed(self, market: str) -> bool:
        """True if a kill latch covers the market (global, its venue, or itself)."""
        return self.board.killed(market)

    def total_exposure(self) -> int:
        """Money at risk across every market, micro-dollars (kept incrementally)."""
        return self.ledger.totals.exposure_total

    # --- market data -----------------------------------------------------------------------

    def on_book(self, book: BookSnapshot) -> list[ExecutorCommand]:
        """Mark at the book mid and track staleness; a new mark may trip a loss limit, and
        a flattening market gets its exit order re-priced."""
        self.stale[book.market] = book.stale
        self.book_seen_ns[book.market] = self._mono()
        self.books[book.market] = limits.BookTop(
            bid=book.bids[0].price if book.bids else 0, ask=book.asks[0].price if book.asks else 0
        )
        held = book.market in self.ledger.positions
        if book.bids and book.asks and book.bids[0].price < book.asks[0].price:
            self.ledger.mark(book.market, (book.bids[0].price + book.asks[0].price) // 2,
                             self.sw.loss_base)
        elif held:
            self.ledger.refresh(book.market, self.sw.loss_base)
        out = self.board.check_losses(book.market) if held else []
        if book.market in self.sw.flattening:
            out += self.board.flatten_commands(book.market)
        return out

    def on_status(self, status: MarketStatus) -> None:
        """Track feed staleness from ingest."""
        self.stale[status.market] = status.stale

    def _is_stale(self, market: str) -> bool:
        if self.stale.get(market, False):
            return True
        max_age = self.limits[market].max_book_age_ms if market in self.limits else 0
        if not max_age:
            return False
        seen = self.book_seen_ns.get(market)
        return seen is None or self._mono() - seen > max_age * 1_000_000

    # --- intents and liveness --------------------------------------------------------------

    def on_quoter_heartbeat(self, hb: Heartbeat) -> None:
        """Count a quoter heartbeat as liveness for every market it names."""
        now = self._mono()
        for market in hb.markets:
            self.intake.seen(market, now)

    def _count(self, market: str, reason: str) -> None:
        metrics.RISK_REJECTIONS.labels(reason=reason).inc()
        log.debug("intent dropped: %s", reason, extra={"market": market})

    def _count_decision(self, market: str, decision: limits.Decision) -> None:
        key = (market, decision.outcome)
        counter = self._decisions.get(key)
        if counter is None:
            counter = self._decisions[key] = metrics.RISK_DECISIONS.labels(
                market=market, outcome=decision.outcome)
        counter.inc()
        for reason in decision.reasons:
            child = self._reasons.get(reason)
            if child is None:
                child = self._reasons[reason] = metrics.RISK_REJECTIONS.labels(reason=reason)
            child.inc()

    def on_intent(self, intent: QuoteIntent) -> tuple[str, ApprovedIntent] | None:
        """Run the limits on an intent; return (venue, command), or None when nothing goes
        out: an unknown market, paused (resting orders stay), over the rate throttle, or a
        duplicate of the ladder just forwarded."""
        market = self.markets.get(intent.market)
        if market is None:
            self._count(intent.market, "unknown_market")
            log.warning("intent for unknown market dropped", extra={"market": intent.market})
            return None
        now = self._mono()
        self.intake.seen(market.id, now)
        _QUOTER_TO_RISK.observe(max(0, time.monotonic_ns() - intent.ts_sent_ns) / 1e9)
        lim = self.limits[market.id]
        if self.intake.throttled(market.id, now, lim.max_intents_per_s, lim.intent_burst):
            self._count(market.id, "rate_throttle")
            return None
        totals = self.ledger.totals
        peers = self.event_peers.get(market.id, ())
        decision = limits.check_intent(
            intent.bids, intent.asks, net=self.ledger.net(market.id), market=market,
            risk=self.cfg.risk,
            other_exposure=totals.exposure_total - totals.exposures.get(market.id, 0),
            gate=limits.GateState(
                killed=self.killed(market.id), paused=self.sw.paused,
                halted=market.id in self.sw.halted, stale=self._is_stale(market.id),
                flattening=market.id in self.sw.flattening),
            limits=lim, fair_value=intent.fair_value,
            book=self.books.get(market.id, limits.BookTop()),
            event=self.intake.event_context(
                peers, sum(self.ledger.net(m) for m in peers)),
            exit_bids=intent.exit_bids, exit_asks=intent.exit_asks,
        )
        self._count_decision(market.id, decision)
        if decision.reasons in (("paused",), ("flatten",)):
            # paused: no new quotes, and the resting ones stay where they are;
            # flattening: risk owns the market's orders until resume
            return None
        ladder_now = (decision.bids, decision.asks, decision.exit_bids, decision.exit_asks)
        if self.intake.duplicate(market.id, ladder_now, now, lim.duplicate_window_ms):
            self._count(market.id, "duplicate")
            return None
        if decision.outcome == "rejected":
            self.rejected += 1
        self.intake.forwarded(market.id, ladder_now, now)
        cmd = ApprovedIntent(
            venue=market.venue, market=market.id, risk_seq=self.stamper.next_seq(),
            intent_seq=intent.seq, ts_recv_ns=intent.ts_recv_ns,
            ts_approved_ns=time.monotonic_ns(), expires_at_ns=self.stamper.expiry(),
            ts_intent_ns=intent.ts_sent_ns, bids=decision.bids, asks=decision.asks,
            exit_bids=decision.exit_bids, exit_asks=decision.exit_asks,
            risk_instance=self.instance,
        )
        return market.venue, cmd

    def check_quoters(self) -> list[CancelMarket]:
        """Cancel, once, every market whose quoter has been silent past the timeout."""
        out: list[CancelMarket] = []
        for market in self.intake.silent(self._mono(), self.cfg.risk.quoter_timeout_ms * 1_000_000):
            log.warning("quoter silent: cancelling", extra={"market": market})
            out.append(self.stamper.cancel(self.ledger.venue_of[market], market, "quoter_timeout"))
        return out

    # --- fills -----------------------------------------------------------------------------

    def on_fill(self, fill: Fill) -> tuple[PositionUpdate | None, list[ExecutorCommand]]:
        """Journal, then apply a fill. A duplicate (or an already reversed trade) gives
        (None, [])."""
        fresh, fault = self.ledger.record(fill)
        if fault is not None:  # applied all the same: the venue's fill is real
            self.board.storage_fault(fault)
        if not fresh:
            return None, []
        if self.ledger.is_reversed(fill):
            log.warning("fill of a reversed trade not applied",
                        extra={"market": fill.market, "order_id": fill.order_id})
            return None, []
        self.ledger.apply(fill, self.sw.loss_base)
        metrics.FILLS.labels(market=fill.market, side=f"{fill.side}_{fill.outcome}").inc()
        metrics.VOLUME.labels(market=fill.market).inc(fill.size / SIZE_SCALE)
        log.info(
            "fill %s %s %d @ %d", fill.side, fill.outcome, fill.size, fill.price,
            extra={"market": fill.market, "order_id": fill.order_id},
        )
        cmds = self.board.check_losses(fill.market)
        if fill.market in self.sw.flattening:
            cmds += self.board.flatten_commands(fill.market)
        return self.position_update(fill.market), cmds

    def on_reversal(
        self, rev: FillReversal
    ) -> tuple[PositionUpdate | None, list[ExecutorCommand]]:
        """Journal a reversal, then rebuild the market from its journaled fills without the
        reversed trade: exact (the same as never having had it) and applied once."""
        fresh, fault = self.ledger.record_reversal(rev)
        if not fresh:
            return None, []
        if fault is not None:
            self.board.storage_fault(fault)
        log.warning("fill reversed", extra={"market": rev.market, "order_id": rev.order_id,
                                            "trade_id": rev.trade_id})
        self.ledger.reverse(rev, self.sw.loss_base)
        return self.position_update(rev.market), self.board.check_losses(rev.market)

    def replay(self, fills: Iterable[Fill]) -> int:
        """Rebuild positions from journaled fills, skipping reversed trades (no journaling,
        no limits); returns the number applied."""
        return self.ledger.replay(fills, self.sw.loss_base)

    # --- switches (switches.py) --------------------------------------------------------------

    def on_control(self, msg: ControlMessage) -> tuple[Ack, list[ExecutorCommand]]:
        """Apply an authenticated control message; return the Ack and commands to send."""
        return self.board.on_control(msg)

    def check_daily_reset(self) -> list[ExecutorCommand]:
        """At `[risk] daily_reset_utc`, count losses afresh and release loss halts."""
        return self.board.check_daily_reset()

    def compare_venue_positions(self, msg: VenuePositions, *,
                                whole: bool = False) -> list[ExecutorCommand]:
        """Check an executor's venue positions against the journal; halt on a lost fill.
        `whole`: the journal has every fill the executor published before the snapshot
        (fill_sequence.FillSequence.whole), so its quiet markets' differences are exact."""
        return self.board.compare_venue_positions(msg, whole=whole)

    def take_outbox(self) -> list[ExecutorCommand]:
        """The commands queued outside a handler's return value (a storage fault's), once."""
        return self.board.take_outbox()

    # --- state out -------------------------------------------------------------------------

    def position_update(self, market: str) -> PositionUpdate:
        """Risk's view of a market, and the same figures into the gauges."""
        pos = self.ledger.positions.get(market, Position())
        realized, marked = self.ledger.pnl(market)
        metrics.POSITION.labels(market=market).set(pos.net / SIZE_SCALE)
        metrics.PNL_REALIZED.labels(market=market).set(realized / MONEY_SCALE)
        metrics.PNL_MARKED.labels(market=market).set(marked / MONEY_SCALE)
        return PositionUpdate(
            venue=self.ledger.venue_of.get(market, "polymarket"),  # type: ignore[arg-type]
            market=market, ts_ns=self._wall(), position_yes=pos.position_yes,
            position_no=pos.position_no, net_position=pos.net, avg_price=avg_price(pos),
            realized_pnl=realized, marked_pnl=marked, mark=self.ledger.marks.get(market, 0),
            fills=pos.fills, halted=market in self.sw.halted,
            halt_reason=self.sw.halted.get(market, ""),
        )

    def all_markets(self) -> list[str]:
        """Configured markets, then any other market risk holds a position in."""
        return list(dict.fromkeys([*self.markets, *self.ledger.positions]))

    def risk_state(self) -> RiskState:
        """The global state of the gate for the `risk|` topic."""
        return RiskState(
            ts_ns=self._wall(), kill_active=self.kill_active, kill_reason=self.kill_reason,
            paused=self.sw.paused, total_exposure=self.total_exposure(),
            total_pnl=self.ledger.total_pnl(), rejected=self.rejected,
        )
