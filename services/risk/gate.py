"""Risk's state machine, free of sockets: messages in, messages out.

`RiskGate` holds positions, marks, books, limits and quoter liveness; the latched
switches (kill, halts, pause, flatten, loss baselines) live in `Switches` and are
persisted in the journal. Each handler returns the commands the actor must send (to
executors, keyed by venue) so the whole gate is testable without ZeroMQ. The journal is
the one side effect: a fill (or reversal) is committed to it before a position changes,
and a switch before it is acknowledged. Control handling is in `control.py`.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from common import metrics
from common.config import Config, MarketConfig
from common.errors import StorageError
from common.messages import (
    ApprovedIntent,
    BookSnapshot,
    CancelMarket,
    ExecutorCommand,
    Fill,
    FillReversal,
    Heartbeat,
    Level,
    MarketStatus,
    PositionUpdate,
    QuoteIntent,
    RiskState,
)
from common.prices import MONEY_SCALE, SIZE_SCALE
from services.risk import limits, market_limits, venue_check
from services.risk.journal import Journal
from services.risk.control import ControlMixin
from services.risk.losses import LossMixin
from services.risk.switches import Switches
from services.risk.totals import TotalsMixin
from services.risk.position import (
    Position,
    apply_fill,
    avg_price,
    marked_pnl,
    realized_pnl,
)

log = logging.getLogger(__name__)
_QUOTER_TO_RISK = metrics.HOP_LATENCY.labels(hop="quoter_to_risk")


class RiskGate(ControlMixin, LossMixin, TotalsMixin):
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
        self.event_of: dict[str, str] = {m.id: market_limits.event_of(m) for m in cfg.markets}
        by_event: dict[str, list[str]] = {}
        for m, e in self.event_of.items():
            by_event.setdefault(e, []).append(m)
        # Per intent, the other markets of its event: looked up, not searched (issue 9).
        self.event_peers: dict[str, tuple[str, ...]] = {
            m: tuple(o for o in by_event[e] if o != m) for m, e in self.event_of.items()}
        self.positions: dict[str, Position] = {}
        self.venue_of: dict[str, str] = {m.id: m.venue for m in cfg.markets}
        self.marks: dict[str, int] = {}
        self.books: dict[str, limits.BookTop] = {}
        self.book_seen_ns: dict[str, int] = {}
        self.stale: dict[str, bool] = {}
        self._init_totals()
        self.sw = Switches.load(journal.load_state())
        self.reversed: set[tuple[str, str]] = journal.reversed()
        self.rejected = 0
        self.position_checks: dict[str, venue_check.Seen] = {}
        """Each market's difference at the last venue position check (venue_check.py)."""
        self.unjournaled: set[tuple[str, str, str]] = set()
        """(venue, trade id, order id) of fills applied while the journal could not be
        written: applied once, even when the executor's replay brings them again."""
        self.outbox: list[ExecutorCommand] = []
        """Commands decided outside a handler's return value (a storage fault's cancels);
        the actor sends them with the next batch (`take_outbox`)."""
        for market in self.markets:
            metrics.HALTED.labels(market=market).set(1 if market in self.sw.halted else 0)
        start = mono_ns()
        self.quoter_seen_ns: dict[str, int] = {m: start for m in self.markets}
        self.quoter_cancelled: set[str] = set()
        self.live: dict[str, tuple[tuple[Level, ...], ...]] = {}
        self.live_ns: dict[str, int] = {}
        self.buckets: dict[str, tuple[float, int]] = {}
        self.flatten_sent: dict[str, tuple[int, int, int]] = {}
        self._decisions: dict[tuple[str, str], Any] = {}
        self._reasons: dict[str, Any] = {}
        """RISK_REJECTIONS children by reason, looked up once (as `_decisions`)."""
        # Wall-clock microseconds, so a restarted risk's sequence keeps increasing.
        self._seq = wall_ns() // 1_000

    # --- switch views (kept as attributes for callers and tests) ---------------------------

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

    # --- helpers -------------------------------------------------------------------------

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _expiry(self) -> int:
        return self._wall() + self.cfg.risk.command_ttl_ms * 1_000_000

    def cancel(self, venue: str, market: str, reason: str) -> CancelMarket:
        """A CancelMarket for one market of a venue ("" for every market)."""
        return CancelMarket(
            venue=venue,  # type: ignore[arg-type]
            market=market, reason=reason, risk_seq=self._next_seq(),
            expires_at_ns=self._expiry(),
        )

    def venues(self) -> list[str]:
        """Every venue with a configured market."""
        return self.cfg.venues_in_use()

    def killed(self, market: str) -> bool:
        """True if a kill latch covers the market (global, its venue, or itself)."""
        return self.sw.killed(market, self.venue_of.get(market, ""))

    def mark(self, market: str) -> int | None:
        """The latest book mid of a market in pips, if any."""
        return self.marks.get(market)

    def market_pnl(self, market: str) -> tuple[int, int]:
        """(realized net of fees, marked) P&L of a market, micro-dollars."""
        pos = self.positions.get(market, Position())
        return realized_pnl(pos), marked_pnl(pos, self.marks.get(market))

    def total_pnl(self) -> int:
        """Realized plus marked P&L over every market, micro-dollars."""
        return sum(sum(self.market_pnl(m)) for m in self.positions)

    def _is_stale(self, market: str) -> bool:
        if self.stale.get(market, False):
            return True
        max_age = self.limits[market].max_book_age_ms if market in self.limits else 0
        if not max_age:
            return False
        seen = self.book_seen_ns.get(market)
        return seen is None or self._mono() - seen > max_age * 1_000_000

    def _event_context(self, market: str) -> limits.EventContext:
        others = self.event_peers.get(market, ())
        if not others:
            return limits.EventContext()
        bids = tuple(lv.price for m in others for lv in self.live.get(m, ((), ()))[0])
        asks = tuple(lv.price for m in others for lv in self.live.get(m, ((), ()))[1])
        net = sum(self.positions.get(m, Position()).net for m in others)
        return limits.EventContext(other_net=net, bids=bids, asks=asks)

    # --- market data ---------------------------------------------------------------------

    def on_book(self, book: BookSnapshot) -> list[ExecutorCommand]:
        """Mark at the book mid and track staleness; a new mark may trip a loss limit, and
        a flattening market gets its exit order re-priced."""
        self.stale[book.market] = book.stale
        self.book_seen_ns[book.market] = self._mono()
        self.books[book.market] = limits.BookTop(
            bid=book.bids[0].price if book.bids else 0, ask=book.asks[0].price if book.asks else 0
        )
        if book.bids and book.asks and book.bids[0].price < book.asks[0].price:
            self.marks[book.market] = (book.bids[0].price + book.asks[0].price) // 2
        held = book.market in self.positions
        if held:
            self._refresh(book.market)
        out = self.check_losses(book.market) if held else []
        if book.market in self.sw.flattening:
            out += self.flatten_commands(book.market)
        return out

    def on_status(self, status: MarketStatus) -> None:
        """Track feed staleness from ingest."""
        self.stale[status.market] = status.stale

    # --- intents and liveness ------------------------------------------------------------

    def on_quoter_heartbeat(self, hb: Heartbeat) -> None:
        """Count a quoter heartbeat as liveness for every market it names."""
        for market in hb.markets:
            self._seen(market)

    def _seen(self, market: str) -> None:
        if market in self.quoter_seen_ns:
            self.quoter_seen_ns[market] = self._mono()
            if market in self.quoter_cancelled:
                self.quoter_cancelled.discard(market)
                log.info("quoter back", extra={"market": market})

    def _count(self, market: str, reason: str) -> None:
        metrics.RISK_REJECTIONS.labels(reason=reason).inc()
        log.debug("intent dropped: %s", reason, extra={"market": market})

    def on_intent(self, intent: QuoteIntent) -> tuple[str, ApprovedIntent] | None:
        """Run the limits on an intent; return (venue, command), or None when nothing goes
        out: an unknown market, paused (resting orders stay), over the rate throttle, or a
        duplicate of the ladder just forwarded."""
        market = self.markets.get(intent.market)
        if market is None:
            self._count(intent.market, "unknown_market")
            log.warning("intent for unknown market dropped", extra={"market": intent.market})
            return None
        self._seen(intent.market)
        _QUOTER_TO_RISK.observe(
            max(0, time.monotonic_ns() - intent.ts_sent_ns) / 1e9)
        lim = self.limits[market.id]
        now = self._mono()
        if lim.max_intents_per_s > 0:  # 0 (the default): no throttle, no bucket to keep
            tokens, last = self.buckets.get(market.id, (float(lim.intent_burst), now))
            allowed, tokens, last = limits.throttle(tokens, last, now, lim.max_intents_per_s,
                                                    lim.intent_burst)
            self.buckets[market.id] = (tokens, last)
            if not allowed:
                self._count(market.id, "rate_throttle")
                return None
        pos = self.positions.get(intent.market, Position())
        other = self.exposure_total - self.exposures.get(intent.market, 0)
        gate = limits.GateState(
            killed=self.killed(intent.market), paused=self.sw.paused,
            halted=intent.market in self.sw.halted, stale=self._is_stale(intent.market),
            flattening=intent.market in self.sw.flattening,
        )
        decision = limits.check_intent(
            intent.bids, intent.asks, net=pos.net, market=market, risk=self.cfg.risk,
            other_exposure=other, gate=gate, limits=lim, fair_value=intent.fair_value,
            book=self.books.get(market.id, limits.BookTop()),
            event=self._event_context(market.id),
            exit_bids=intent.exit_bids, exit_asks=intent.exit_asks,
        )
        key = (market.id, decision.outcome)
        counter = self._decisions.get(key)
        if counter is None:  # labels() locks and builds a key per call: look it up once
            counter = self._decisions[key] = metrics.RISK_DECISIONS.labels(
                market=market.id, outcome=decision.outcome)
        counter.inc()
        for reason in decision.reasons:
            child = self._reasons.get(reason)
            if child is None:
                child = self._reasons[reason] = metrics.RISK_REJECTIONS.labels(reason=reason)
            child.inc()
        if decision.reasons == ("paused",):
            return None  # paused: no new quotes, and the resting ones stay where they are
        if decision.reasons == ("flatten",):
            return None  # flattening: risk owns the market's orders until resume
        ladder_now = (decision.bids, decision.asks, decision.exit_bids, decision.exit_asks)
        window = lim.duplicate_window_ms * 1_000_000
        if window and self.live.get(market.id) == ladder_now and \
                now - self.live_ns.get(market.id, 0) < window:
            self._count(market.id, "duplicate")
            return None
        if decision.outcome == "rejected":
            self.rejected += 1
        self.live[market.id] = ladder_now
        self.live_ns[market.id] = now
        cmd = ApprovedIntent(
            venue=market.venue, market=market.id, risk_seq=self._next_seq(),
            intent_seq=intent.seq, ts_recv_ns=intent.ts_recv_ns,
            ts_approved_ns=time.monotonic_ns(), expires_at_ns=self._expiry(),
            ts_intent_ns=intent.ts_sent_ns, bids=decision.bids, asks=decision.asks,
            exit_bids=decision.exit_bids, exit_asks=decision.exit_asks,
            risk_instance=self.instance,
        )
        return market.venue, cmd

    def check_quoters(self) -> list[CancelMarket]:
        """Cancel, once, every market whose quoter has been silent past the timeout."""
        now = self._mono()
        timeout_ns = self.cfg.risk.quoter_timeout_ms * 1_000_000
        out: list[CancelMarket] = []
        for market, seen in self.quoter_seen_ns.items():
            if market not in self.quoter_cancelled and now - seen > timeout_ns:
                self.quoter_cancelled.add(market)
                self.live.pop(market, None)
                log.warning("quoter silent: cancelling", extra={"market": market})
                out.append(self.cancel(self.venue_of[market], market, "quoter_timeout"))
        return out

    # --- fills ---------------------------------------------------------------------------

    def on_fill(self, fill: Fill) -> tuple[PositionUpdate | None, list[ExecutorCommand]]:
        """Journal, then apply a fill. A duplicate (or an already reversed trade) gives
        (None, [])."""
        key = (fill.venue, fill.trade_id, fill.order_id)
        try:
            fresh = self.journal.record(fill) and key not in self.unjournaled
        except StorageError as exc:  # apply it all the same: the venue's fill is real
            fresh = key not in self.unjournaled
            self.unjournaled.add(key)
            self.storage_fault(exc)
        if not fresh:
            return None, []
        if (fill.venue, fill.trade_id) in self.reversed:
            log.warning("fill of a reversed trade not applied",
                        extra={"market": fill.market, "order_id": fill.order_id})
            return None, []
        self._apply(fill)
        metrics.FILLS.labels(market=fill.market, side=f"{fill.side}_{fill.outcome}").inc()
        metrics.VOLUME.labels(market=fill.market).inc(fill.size / SIZE_SCALE)
        log.info(
            "fill %s %s %d @ %d", fill.side, fill.outcome, fill.size, fill.price,
            extra={"market": fill.market, "order_id": fill.order_id},
        )
        cmds = self.check_losses(fill.market)
        if fill.market in self.sw.flattening:
            cmds += self.flatten_commands(fill.market)
        return self.position_update(fill.market), cmds

    def on_reversal(
        self, rev: FillReversal
    ) -> tuple[PositionUpdate | None, list[ExecutorCommand]]:
        """Journal a reversal, then rebuild the market from its journaled fills without the
        reversed trade: exact (the same as never having had it) and applied once."""
        try:
            if not self.journal.record_reversal(rev):
                return None, []
        except StorageError as exc:
            if (rev.venue, rev.trade_id) in self.reversed:
                return None, []
            self.storage_fault(exc)
        self.reversed.add((rev.venue, rev.trade_id))
        log.warning("fill reversed", extra={"market": rev.market, "order_id": rev.order_id,
                                            "trade_id": rev.trade_id})
        pos = Position()
        for f in self.journal.fills_of(rev.market):
            if (f.venue, f.trade_id) not in self.reversed:
                pos = apply_fill(pos, f)
        self.venue_of.setdefault(rev.market, rev.venue)
        self._set_position(rev.market, pos)
        return self.position_update(rev.market), self.check_losses(rev.market)

    def _apply(self, fill: Fill) -> None:
        self.venue_of.setdefault(fill.market, fill.venue)
        self._set_position(fill.market, apply_fill(
            self.positions.get(fill.market, Position()), fill))

    def replay(self, fills: Iterable[Fill]) -> int:
        """Rebuild positions from journaled fills, skipping reversed trades (no journaling,
        no limits); returns the number applied."""
        n = 0
        for fill in fills:
            if (fill.venue, fill.trade_id) in self.reversed:
                continue
            self._apply(fill)
            n += 1
        return n

    def save(self) -> None:
        """Persist the switches (before anything acknowledges them); if the journal cannot
        be written, latch the kill switch in memory instead (`storage_fault`)."""
        try:
            self.journal.save_state(self.sw.dump())
        except StorageError as exc:
            self.storage_fault(exc)

    # --- state out -----------------------------------------------------------------------

    def position_update(self, market: str) -> PositionUpdate:
        """Risk's view of a market, and the same figures into the gauges."""
        pos = self.positions.get(market, Position())
        realized, marked = self.market_pnl(market)
        mark = self.marks.get(market, 0)
        metrics.POSITION.labels(market=market).set(pos.net / SIZE_SCALE)
        metrics.PNL_REALIZED.labels(market=market).set(realized / MONEY_SCALE)
        metrics.PNL_MARKED.labels(market=market).set(marked / MONEY_SCALE)
        return PositionUpdate(
            venue=self.venue_of.get(market, "polymarket"),  # type: ignore[arg-type]
            market=market, ts_ns=self._wall(), position_yes=pos.position_yes,
            position_no=pos.position_no, net_position=pos.net, avg_price=avg_price(pos),
            realized_pnl=realized, marked_pnl=marked, mark=mark, fills=pos.fills,
            halted=market in self.sw.halted, halt_reason=self.sw.halted.get(market, ""),
        )

    def all_markets(self) -> list[str]:
        """Configured markets, then any other market risk holds a position in."""
        return list(dict.fromkeys([*self.markets, *self.positions]))

    def risk_state(self) -> RiskState:
        """The global state of the gate for the `risk|` topic."""
        return RiskState(
            ts_ns=self._wall(), kill_active=self.kill_active, kill_reason=self.kill_reason,
            paused=self.sw.paused, total_exposure=self.total_exposure(),
            total_pnl=self.total_pnl(), rejected=self.rejected,
        )
