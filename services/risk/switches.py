"""The latched switches of the risk gate, how each one is set and released, and their
persisted form.

Kill latches (global, venue, market), halts, pause, flatten and the loss baselines of the
daily reset survive a risk restart: the gate writes every change to the journal's
`risk_state` table (`dump`) before it is acknowledged, and a restarted risk loads them
first (`load`), so a killed or halted stack stays killed or halted until an explicit Reset.
What each change sends (cancels, exit orders) is the gate's business (gate.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Container, Mapping
from typing import Any

from msgspec import Struct

from common import metrics
from common.config import MarketConfig, RiskConfig
from common.errors import StorageError
from common.messages import (
    Ack,
    ApprovedIntent,
    CancelMarket,
    ControlMessage,
    ExecutorCommand,
    Flatten,
    Kill,
    Pause,
    Reset,
    VenuePositions,
)
from common.prices import SIZE_SCALE
from services.risk import ladder, losses, market_limits, venue_check
from services.risk.intake import Intake
from services.risk.ledger import Ledger
from services.risk.limits import BookTop
from services.risk.market_limits import Limits
from services.risk.stamps import Stamper

__all__ = ["Switchboard", "Switches"]

log = logging.getLogger(__name__)


class Switches(Struct, kw_only=True):
    """Mutable switch state; `dump`/`load` give the persisted form."""

    kill_global: bool = False
    kill_reason: str = ""
    kill_venues: dict[str, str] = {}
    kill_markets: dict[str, str] = {}
    halted: dict[str, str] = {}
    paused: bool = False
    flattening: list[str] = []
    loss_base: dict[str, int] = {}
    """P&L (realized + marked, micro-dollars) of each market at the last daily reset."""
    last_reset_ns: int = 0

    def dump(self) -> dict[str, Any]:
        """The persisted form: one JSON value per field."""
        return {f: getattr(self, f) for f in self.__struct_fields__}

    @classmethod
    def load(cls, data: dict[str, Any]) -> Switches:
        """Rebuild from `dump` output; unknown keys (a newer version's) are ignored."""
        return cls(**{k: v for k, v in data.items() if k in cls.__struct_fields__})

    def killed(self, market: str, venue: str) -> bool:
        """True if a kill latch covers the market (global, its venue, or itself)."""
        return self.kill_global or venue in self.kill_venues or market in self.kill_markets

    @property
    def kill_active(self) -> bool:
        """True while any kill latch is set."""
        return self.kill_global or bool(self.kill_venues) or bool(self.kill_markets)

    def kill(self, reason: str, *, market: str = "", venue: str = "") -> None:
        """Latch a kill on a market, else on a venue, else on everything."""
        if market:
            self.kill_markets[market] = reason
        elif venue:
            self.kill_venues[venue] = reason
        else:
            self.kill_global = True
        self.kill_reason = reason

    def storage_fault(self, reason: str) -> bool:
        """Latch the global kill for a journal that cannot be written; False if it was
        latched already (nothing more to do)."""
        if self.kill_global:
            return False
        self.kill_global = True
        self.kill_reason = reason
        return True

    def reset(self) -> list[str]:
        """Release every kill latch, halt and flatten; return the markets that were halted."""
        released = list(self.halted)
        self.kill_global = False
        self.kill_venues.clear()
        self.kill_markets.clear()
        self.kill_reason = ""
        self.halted.clear()
        self.flattening = []
        return released

    def pause(self, paused: bool) -> bool:
        """Set the pause; a resume ends any flatten too. True if a flatten ended."""
        self.paused = paused
        if not paused and self.flattening:
            self.flattening = []
            return True
        return False

    def flatten(self, market: str) -> bool:
        """Start flattening a market; False if it already is."""
        if market in self.flattening:
            return False
        self.flattening.append(market)
        return True

    def halt(self, market: str, reason: str) -> None:
        """Latch a halt on one market (until Reset, or the daily reset for a loss halt)."""
        self.halted[market] = reason

    def daily_reset(self, boundary_ns: int, loss_base: dict[str, int],
                    releases: Container[str]) -> list[str]:
        """Count losses afresh from `loss_base` (each market's P&L now) and release the
        halts whose reason is in `releases`; return the released markets."""
        self.last_reset_ns = boundary_ns
        self.loss_base = loss_base
        released = [m for m, r in self.halted.items() if r in releases]
        for m in released:
            del self.halted[m]
        return released


class Switchboard:
    """Every change of a switch and what it sends: control messages (kill, reset, pause,
    flatten), loss halts and the daily reset, a lost fill's halt, a storage fault's kill,
    and a flattening market's exit orders.

    Every change is persisted (`save`) before a control message is acknowledged, so an
    acknowledged kill survives a risk crash. Flatten: cancel the market's orders, then send
    exit orders (`ApprovedIntent.exit_bids/exit_asks`, non-post-only at the executor) that
    work the netted position back to flat one clip at a time, re-priced on every book and
    fill, inside the market's limits (`ladder.flatten_orders`). A flattening market takes
    no quotes until resume (Pause paused=False) or Reset; a kill stops the exits too.

    `books` is the gate's view of each market's best bid and ask, read here to price exits.
    """

    def __init__(
        self,
        switches: Switches,
        *,
        risk: RiskConfig,
        markets: Mapping[str, MarketConfig],
        limits: Mapping[str, Limits],
        venues: list[str],
        ledger: Ledger,
        intake: Intake,
        stamper: Stamper,
        books: Mapping[str, BookTop],
        mono_ns: Callable[[], int],
        wall_ns: Callable[[], int],
    ) -> None:
        self.sw = switches
        self.risk = risk
        self.markets = markets
        self.limits = limits
        self.venues = venues
        self.ledger = ledger
        self.intake = intake
        self.stamper = stamper
        self.books = books
        self._mono = mono_ns
        self._wall = wall_ns
        self.flatten_sent: dict[str, tuple[int, int, int]] = {}
        """(net, book bid, book ask) each flattening market's last exit order was priced at."""
        self.position_checks: dict[str, venue_check.Seen] = {}
        """Each market's difference at the last venue position check (venue_check.py)."""
        self.outbox: list[ExecutorCommand] = []
        """Commands decided outside a handler's return value (a storage fault's cancels);
        the actor sends them with the next batch (`take_outbox`)."""

    def killed(self, market: str) -> bool:
        """True if a kill latch covers the market (global, its venue, or itself)."""
        return self.sw.killed(market, self.ledger.venue_of.get(market, ""))

    def _cancel(self, market: str, reason: str) -> CancelMarket:
        return self.stamper.cancel(self.ledger.venue_of[market], market, reason)

    def save(self) -> None:
        """Persist the switches (before anything acknowledges them); if the journal cannot
        be written, latch the kill switch in memory instead (`storage_fault`)."""
        try:
            self.ledger.journal.save_state(self.sw.dump())
        except StorageError as exc:
            self.storage_fault(exc)

    def storage_fault(self, exc: StorageError) -> None:
        """A journal write failed (disk full, I/O error): latch the kill switch for every
        market, since they share one journal, and queue the cancels for the actor
        (`outbox`). Risk keeps running and answering; `pmm reset` once the disk is fixed."""
        if not self.sw.storage_fault(f"storage fault: {exc}"):
            return
        log.error("%s: kill switch latched and every order cancelled. Free disk space or "
                  "repair %s, then run `pmm reset`", exc, self.ledger.journal.path)
        self.intake.forget()
        self.outbox += [self.stamper.cancel(v, "", "kill: storage fault") for v in self.venues]
        metrics.KILL_ACTIVE.labels(process="risk").set(1)

    def take_outbox(self) -> list[ExecutorCommand]:
        """The commands queued outside a handler's return value, once."""
        out: list[ExecutorCommand] = list(self.outbox)
        self.outbox.clear()
        return out

    # --- control messages -------------------------------------------------------------------

    def on_control(self, msg: ControlMessage) -> tuple[Ack, list[ExecutorCommand]]:
        """Apply an authenticated control message; return the Ack and commands to send."""
        out: list[ExecutorCommand] = []
        sw = self.sw
        match msg:
            case Kill():
                reason = msg.reason or "kill"
                sw.kill(reason, market=msg.market, venue=msg.venue)
                if msg.market:
                    venue = msg.venue or self.ledger.venue_of.get(msg.market, "")
                    out = [self.stamper.cancel(v, msg.market, f"kill: {reason}")
                           for v in ([venue] if venue else self.venues)]
                else:
                    out = [self.stamper.cancel(v, "", f"kill: {reason}")
                           for v in ([msg.venue] if msg.venue else self.venues)]
                self.intake.forget()
                log.error(
                    "kill switch latched: %s", reason,
                    extra={"market": msg.market, "venue": msg.venue, "sender": msg.sender},
                )
            case Reset():
                for market in sw.reset():
                    metrics.HALTED.labels(market=market).set(0)
                self.flatten_sent.clear()
                log.warning("kill switch and halts reset", extra={"sender": msg.sender})
            case Pause():
                if sw.pause(msg.paused):  # resume ends a flatten too
                    self.flatten_sent.clear()
                log.warning("paused=%s", msg.paused, extra={"sender": msg.sender})
            case Flatten():
                targets = [msg.market] if msg.market else list(self.markets)
                unknown = [m for m in targets if m not in self.markets]
                if unknown:
                    return Ack(receiver="risk", nonce=msg.nonce, ok=False,
                               detail=f"unknown market {unknown[0]}"), []
                for market in targets:
                    if sw.flatten(market):
                        self.flatten_sent.pop(market, None)
                        self.intake.forget(market)
                        out.append(self._cancel(market, "flatten"))
                    out += self.flatten_commands(market)
                log.warning("flatten: %s", msg.reason or "operator",
                            extra={"market": msg.market or "*", "sender": msg.sender})
        self.save()
        metrics.KILL_ACTIVE.labels(process="risk").set(1 if sw.kill_active else 0)
        if isinstance(msg, Reset) and sw.kill_global:  # the save failed: still latched
            return Ack(receiver="risk", nonce=msg.nonce, ok=False,
                       detail=f"{sw.kill_reason}; fix the disk, then reset again"), out
        return Ack(receiver="risk", nonce=msg.nonce, ok=True), out

    def flatten_commands(self, market: str) -> list[ExecutorCommand]:
        """The exit order for a flattening market now, if it changed since the last one."""
        if market not in self.sw.flattening or self.killed(market):
            return []
        net = self.ledger.net(market)
        book = self.books.get(market, BookTop())
        key = (net, book.bid, book.ask)
        if self.flatten_sent.get(market) == key:
            return []
        self.flatten_sent[market] = key
        exit_bids, exit_asks = ladder.flatten_orders(
            net, book_bid=book.bid, book_ask=book.ask, lim=self.limits[market])
        if net == 0:
            log.info("flatten done: flat", extra={"market": market})
        return [ApprovedIntent(
            venue=self.markets[market].venue, market=market, risk_seq=self.stamper.next_seq(),
            intent_seq=0, ts_recv_ns=0, ts_approved_ns=self._mono(),
            expires_at_ns=self.stamper.expiry(), bids=(), asks=(), exit_bids=exit_bids,
            exit_asks=exit_asks, risk_instance=self.stamper.instance,
        )]

    # --- halts ------------------------------------------------------------------------------

    def halt(self, market: str, reason: str) -> list[ExecutorCommand]:
        """Latch (and persist) a halt and cancel the market's orders."""
        self.sw.halt(market, reason)
        self.intake.forget(market)
        self.save()
        metrics.HALTED.labels(market=market).set(1)
        metrics.HALTS.labels(market=market).inc()
        log.error("market halted: %s", reason, extra={"market": market})
        return [self._cancel(market, reason)]

    def check_losses(self, market: str) -> list[ExecutorCommand]:
        """Latch halts on the loss limits: the market's, its venue's, and the total."""
        venue = self.ledger.venue_of.get(market, "")
        lim = self.limits.get(market)
        totals = self.ledger.totals
        halts = losses.loss_halts(
            market,
            market_loss=sum(self.ledger.pnl(market)) - self.sw.loss_base.get(market, 0),
            market_limit=None if lim is None else lim.loss_money,
            venue_loss=totals.venue_losses.get(venue, 0),
            venue_limit=market_limits.venue_loss_limit(self.risk, venue),
            venue_markets=[m for m in self.markets if self.ledger.venue_of.get(m) == venue],
            total_loss=totals.loss_total,
            total_limit=losses.total_loss_limit(self.risk),
            markets=self.markets, halted=self.sw.halted,
        )
        return [c for m, reason in halts for c in self.halt(m, reason)]

    def check_daily_reset(self) -> list[ExecutorCommand]:
        """At `[risk] daily_reset_utc`, count losses afresh and release loss halts."""
        boundary = losses.reset_due(self._wall(), self.risk.daily_reset_utc, self.sw.last_reset_ns)
        if boundary is None:
            return []
        released = self.sw.daily_reset(
            boundary, {m: sum(self.ledger.pnl(m)) for m in self.ledger.positions},
            losses.LOSS_HALTS)
        self.ledger.rebase(self.sw.loss_base)
        for m in released:
            metrics.HALTED.labels(market=m).set(0)
        self.save()
        log.warning("daily loss reset; released %d loss halts", len(released),
                    extra={"markets": released})
        return []

    def compare_venue_positions(self, msg: VenuePositions, *,
                                whole: bool = False) -> list[ExecutorCommand]:
        """Compare an executor's venue snapshot with the journal (venue_check.py): count and
        log each market that differs; halt one whose difference stayed put (a lost fill).
        Returns the halts' cancels."""
        result = venue_check.check(
            msg, self.ledger.positions, self.position_checks,
            tolerance=round(self.risk.position_tolerance_contracts * SIZE_SCALE), whole=whole)
        self.position_checks = result.seen
        out: list[ExecutorCommand] = []
        for market, (ours, theirs) in result.differ.items():
            metrics.RISK_POSITION_MISMATCHES.labels(venue=msg.venue).inc()
            log.error("venue position %s differs from the journal %s", theirs, ours,
                      extra={"market": market, "venue": msg.venue})
        for market, arm in result.persistent.items():
            if market in self.markets and market not in self.sw.halted:
                log.error("the venue's position and risk's journal still differ by the same "
                          "amount (%s): a fill was lost, a position was taken outside pmm, "
                          "the venue lost its record, or the stack started on a new "
                          "run_dir. Market halted; reconcile it by hand, then `pmm reset`",
                          venue_check.ARMS[arm],
                          extra={"market": market, "venue": msg.venue})
                out += self.halt(market, "position_mismatch")
        log.info("venue positions checked: %d of %d markets differ", len(result.differ),
                 len(msg.positions), extra={"venue": msg.venue})
        return out
