"""Risk's state machine, free of sockets: messages in, messages out.

`RiskGate` holds positions, marks, halts, the kill latch, pause and quoter liveness.
Each handler returns the commands the actor must send (to executors, keyed by venue)
so the whole gate is testable without ZeroMQ. The journal is the one side effect:
a fill is committed to it before its position changes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

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
    Heartbeat,
    Kill,
    MarketStatus,
    Pause,
    PositionUpdate,
    QuoteIntent,
    Reset,
    RiskState,
)
from common.prices import MONEY_SCALE, SIZE_SCALE
from services.risk import limits
from services.risk.journal import Journal
from services.risk.position import (
    Position,
    apply_fill,
    avg_price,
    exposure,
    marked_pnl,
    realized_pnl,
)

log = logging.getLogger(__name__)


class RiskGate:
    """Every decision risk takes. Clocks are injected: `mono_ns` for liveness, `wall_ns`
    for expiries (which other hosts compare)."""

    def __init__(
        self,
        cfg: Config,
        journal: Journal,
        *,
        mono_ns: Callable[[], int] = time.monotonic_ns,
        wall_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.cfg = cfg
        self.journal = journal
        self._mono = mono_ns
        self._wall = wall_ns
        self.markets: dict[str, MarketConfig] = {m.id: m for m in cfg.markets}
        self.positions: dict[str, Position] = {}
        self.venue_of: dict[str, str] = {m.id: m.venue for m in cfg.markets}
        self.marks: dict[str, int] = {}
        self.stale: dict[str, bool] = {}
        self.halted: dict[str, str] = {}
        self.kill_reason = ""
        self.kill_global = False
        self.kill_venues: dict[str, str] = {}
        self.kill_markets: dict[str, str] = {}
        self.paused = False
        self.rejected = 0
        for market in self.markets:
            metrics.HALTED.labels(market=market).set(0)
        start = mono_ns()
        self.quoter_seen_ns: dict[str, int] = {m: start for m in self.markets}
        self.quoter_cancelled: set[str] = set()
        # Wall-clock microseconds, so a restarted risk's sequence keeps increasing.
        self._seq = wall_ns() // 1_000

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
        venue = self.venue_of.get(market, "")
        return self.kill_global or venue in self.kill_venues or market in self.kill_markets

    def mark(self, market: str) -> int | None:
        """The latest book mid of a market in pips, if any."""
        return self.marks.get(market)

    def _market_exposure(self, market: str, pos: Position) -> int:
        mark = self.marks.get(market)
        return exposure(pos.net, avg_price(pos) if mark is None else mark)

    def total_exposure(self) -> int:
        """Money at risk across every market, micro-dollars."""
        return sum(self._market_exposure(m, p) for m, p in self.positions.items())

    def market_pnl(self, market: str) -> tuple[int, int]:
        """(realized net of fees, marked) P&L of a market, micro-dollars."""
        pos = self.positions.get(market, Position())
        return realized_pnl(pos), marked_pnl(pos, self.marks.get(market))

    def total_pnl(self) -> int:
        """Realized plus marked P&L over every market, micro-dollars."""
        return sum(sum(self.market_pnl(m)) for m in self.positions)

    # --- market data ---------------------------------------------------------------------

    def on_book(self, book: BookSnapshot) -> list[ExecutorCommand]:
        """Mark at the book mid and track staleness; a new mark may trip a loss limit."""
        self.stale[book.market] = book.stale
        if book.bids and book.asks and book.bids[0].price < book.asks[0].price:
            self.marks[book.market] = (book.bids[0].price + book.asks[0].price) // 2
        return self.check_losses(book.market) if book.market in self.positions else []

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

    def on_intent(self, intent: QuoteIntent) -> tuple[str, ApprovedIntent] | None:
        """Run the limits on an intent; return (venue, command), or None for an unknown market
        or while paused (pause stops new quotes and leaves resting orders alone)."""
        market = self.markets.get(intent.market)
        if market is None:
            metrics.RISK_REJECTIONS.labels(reason="unknown_market").inc()
            log.warning("intent for unknown market dropped", extra={"market": intent.market})
            return None
        self._seen(intent.market)
        metrics.HOP_LATENCY.labels(hop="quoter_to_risk").observe(max(0, time.monotonic_ns() - intent.ts_sent_ns) / 1e9)
        pos = self.positions.get(intent.market, Position())
        other = self.total_exposure() - self._market_exposure(intent.market, pos)
        gate = limits.GateState(
            killed=self.killed(intent.market),
            paused=self.paused,
            halted=intent.market in self.halted,
            stale=self.stale.get(intent.market, False),
        )
        decision = limits.check_intent(
            intent.bids, intent.asks, net=pos.net, market=market, risk=self.cfg.risk,
            other_exposure=other, gate=gate,
        )
        metrics.RISK_DECISIONS.labels(market=market.id, outcome=decision.outcome).inc()
        for reason in decision.reasons:
            metrics.RISK_REJECTIONS.labels(reason=reason).inc()
        if decision.reasons == ("paused",):
            return None  # paused: no new quotes, and the resting ones stay where they are
        if decision.outcome == "rejected":
            self.rejected += 1
        cmd = ApprovedIntent(
            venue=market.venue, market=market.id, risk_seq=self._next_seq(),
            intent_seq=intent.seq, ts_recv_ns=intent.ts_recv_ns,
            ts_approved_ns=time.monotonic_ns(), expires_at_ns=self._expiry(),
            bids=decision.bids, asks=decision.asks,
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
                log.warning("quoter silent: cancelling", extra={"market": market})
                out.append(self.cancel(self.venue_of[market], market, "quoter_timeout"))
        return out

    # --- fills ---------------------------------------------------------------------------

    def on_fill(self, fill: Fill) -> tuple[PositionUpdate | None, list[ExecutorCommand]]:
        """Journal, then apply a fill. A duplicate gives (None, [])."""
        if not self.journal.record(fill):
            return None, []
        self._apply(fill)
        metrics.FILLS.labels(market=fill.market, side=f"{fill.side}_{fill.outcome}").inc()
        metrics.VOLUME.labels(market=fill.market).inc(fill.size / SIZE_SCALE)
        log.info(
            "fill %s %s %d @ %d", fill.side, fill.outcome, fill.size, fill.price,
            extra={"market": fill.market, "order_id": fill.order_id},
        )
        cmds = self.check_losses(fill.market)
        return self.position_update(fill.market), cmds

    def _apply(self, fill: Fill) -> None:
        self.venue_of.setdefault(fill.market, fill.venue)
        self.positions[fill.market] = apply_fill(
            self.positions.get(fill.market, Position()), fill
        )

    def replay(self, fills: Iterable[Fill]) -> int:
        """Rebuild positions from journaled fills (no journaling, no limits)."""
        n = 0
        for fill in fills:
            self._apply(fill)
            n += 1
        return n

    def check_losses(self, market: str) -> list[ExecutorCommand]:
        """Latch a market halt on its loss limit, a global halt on the total loss limit."""
        out: list[ExecutorCommand] = []
        cfg = self.markets.get(market)
        if cfg is not None and market not in self.halted:
            realized, marked = self.market_pnl(market)
            if limits.market_loss_breached(realized, marked, cfg):
                out += self.halt(market, "max_loss")
        if limits.total_loss_breached(self.total_pnl(), self.cfg.risk):
            for m in self.markets:
                if m not in self.halted:
                    out += self.halt(m, "max_total_loss")
        return out

    def halt(self, market: str, reason: str) -> list[ExecutorCommand]:
        """Latch a halt (until Reset) and cancel the market's orders."""
        self.halted[market] = reason
        metrics.HALTED.labels(market=market).set(1)
        log.error("market halted: %s", reason, extra={"market": market})
        return [self.cancel(self.venue_of[market], market, reason)]

    # --- control -------------------------------------------------------------------------

    def on_control(self, msg: ControlMessage) -> tuple[Ack, list[ExecutorCommand]]:
        """Apply an authenticated control message; return the Ack and commands to send."""
        out: list[ExecutorCommand] = []
        match msg:
            case Kill():
                reason = msg.reason or "kill"
                if msg.market:
                    self.kill_markets[msg.market] = reason
                    venue = msg.venue or self.venue_of.get(msg.market, "")
                    venues = [venue] if venue else self.venues()
                    out = [self.cancel(v, msg.market, f"kill: {reason}") for v in venues]
                elif msg.venue:
                    self.kill_venues[msg.venue] = reason
                    out = [self.cancel(msg.venue, "", f"kill: {reason}")]
                else:
                    self.kill_global = True
                    out = [self.cancel(v, "", f"kill: {reason}") for v in self.venues()]
                self.kill_reason = reason
                log.error(
                    "kill switch latched: %s", reason,
                    extra={"market": msg.market, "venue": msg.venue, "sender": msg.sender},
                )
            case Reset():
                self.kill_global = False
                self.kill_venues.clear()
                self.kill_markets.clear()
                self.kill_reason = ""
                for market in self.halted:
                    metrics.HALTED.labels(market=market).set(0)
                self.halted.clear()
                log.warning("kill switch and halts reset", extra={"sender": msg.sender})
            case Pause():
                self.paused = msg.paused
                log.warning("paused=%s", msg.paused, extra={"sender": msg.sender})
        metrics.KILL_ACTIVE.labels(process="risk").set(1 if self.kill_active else 0)
        return Ack(receiver="risk", nonce=msg.nonce, ok=True), out

    @property
    def kill_active(self) -> bool:
        """True while any kill latch (global, venue or market) is set."""
        return self.kill_global or bool(self.kill_venues) or bool(self.kill_markets)

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
            halted=market in self.halted, halt_reason=self.halted.get(market, ""),
        )

    def all_markets(self) -> list[str]:
        """Configured markets, then any other market risk holds a position in."""
        return list(dict.fromkeys([*self.markets, *self.positions]))

    def risk_state(self) -> RiskState:
        """The global state of the gate for the `risk|` topic."""
        return RiskState(
            ts_ns=self._wall(), kill_active=self.kill_active, kill_reason=self.kill_reason,
            paused=self.paused, total_exposure=self.total_exposure(),
            total_pnl=self.total_pnl(), rejected=self.rejected,
        )
