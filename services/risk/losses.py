"""Loss limits of the risk gate: per market, per venue and in total, on realized plus
marked P&L counted from the last daily reset (`[risk] daily_reset_utc`), each latching a
persisted halt; and the comparison of an executor's reconciled venue positions with the
journal. A mixin of `RiskGate`, kept apart so each module has one job.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from common import metrics
from common.messages import ExecutorCommand, VenuePositions
from common.prices import MONEY_SCALE, SIZE_SCALE
from services.risk import limits, market_limits, venue_check

if TYPE_CHECKING:
    from services.risk.gate import RiskGate

log = logging.getLogger(__name__)


def last_reset_ns(now_wall_ns: int, hhmm: str) -> int:
    """Unix ns of the most recent daily reset at `hhmm` UTC at or before `now_wall_ns`."""
    hour, minute = (int(x) for x in hhmm.split(":"))
    now = datetime.fromtimestamp(now_wall_ns / 1e9, tz=UTC)
    at = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if at > now:
        at -= timedelta(days=1)
    return int(at.timestamp()) * 1_000_000_000


class LossMixin:
    """Loss limits, halts and the daily reset for `RiskGate`."""

    def _loss(self: RiskGate, market: str) -> int:
        """P&L of a market since the last daily reset, micro-dollars."""
        return sum(self.market_pnl(market)) - self.sw.loss_base.get(market, 0)

    def check_losses(self: RiskGate, market: str) -> list[ExecutorCommand]:
        """Latch halts on the loss limits: the market's, its venue's, and the total."""
        out: list[ExecutorCommand] = []
        lim = self.limits.get(market)
        if lim is not None and market not in self.sw.halted:
            if limits.loss_breached(self._loss(market), lim.loss_money):
                out += self.halt(market, "max_loss")
        venue = self.venue_of.get(market, "")
        venue_limit = market_limits.venue_loss_limit(self.cfg.risk, venue)
        # Venue and total losses are running sums (totals.py), not sums per book.
        if venue_limit and limits.loss_breached(self.venue_losses.get(venue, 0), venue_limit):
            in_venue = [m for m in self.markets if self.venue_of.get(m) == venue]
            out += [c for m in in_venue if m not in self.sw.halted
                    for c in self.halt(m, "max_venue_loss")]
        total = round(self.cfg.risk.max_total_loss_usd * MONEY_SCALE)
        if limits.loss_breached(self.loss_total, total):
            out += [c for m in self.markets if m not in self.sw.halted
                    for c in self.halt(m, "max_total_loss")]
        return out

    def halt(self: RiskGate, market: str, reason: str) -> list[ExecutorCommand]:
        """Latch (and persist) a halt and cancel the market's orders."""
        self.sw.halted[market] = reason
        self.live.pop(market, None)
        self.save()
        metrics.HALTED.labels(market=market).set(1)
        metrics.HALTS.labels(market=market).inc()
        log.error("market halted: %s", reason, extra={"market": market})
        return [self.cancel(self.venue_of[market], market, reason)]

    def check_daily_reset(self: RiskGate) -> list[ExecutorCommand]:
        """At `[risk] daily_reset_utc`, count losses afresh and release loss halts."""
        hhmm = self.cfg.risk.daily_reset_utc
        if not hhmm:
            return []
        boundary = last_reset_ns(self._wall(), hhmm)
        if boundary <= self.sw.last_reset_ns:
            return []
        self.sw.last_reset_ns = boundary
        self.sw.loss_base = {m: sum(self.market_pnl(m)) for m in self.positions}
        self._refresh_all()
        released = [m for m, r in self.sw.halted.items()
                    if r in ("max_loss", "max_venue_loss", "max_total_loss")]
        for m in released:
            del self.sw.halted[m]
            metrics.HALTED.labels(market=m).set(0)
        self.save()
        log.warning("daily loss reset; released %d loss halts", len(released),
                    extra={"markets": released})
        return []


    def compare_venue_positions(self: RiskGate, msg: VenuePositions) -> list[ExecutorCommand]:
        """Compare an executor's venue snapshot with the journal (venue_check.py): count and
        log each market that differs; halt one whose difference stayed put since the last
        check with no fill in between (a lost fill). Returns the halts' cancels."""
        result = venue_check.check(
            msg, self.positions, self.position_checks,
            tolerance=round(self.cfg.risk.position_tolerance_contracts * SIZE_SCALE))
        self.position_checks = result.seen
        out: list[ExecutorCommand] = []
        for market, (ours, theirs) in result.differ.items():
            metrics.RISK_POSITION_MISMATCHES.labels(venue=msg.venue).inc()
            log.error("venue position %s differs from the journal %s", theirs, ours,
                      extra={"market": market, "venue": msg.venue})
        for market in result.persistent:
            if market in self.markets and market not in self.sw.halted:
                log.error("the venue's position and risk's journal still differ alike with no "
                          "fill since: a fill was lost, a position was taken outside pmm, or "
                          "the stack started on a new run_dir. Market halted; reconcile it by "
                          "hand, then `pmm reset`",
                          extra={"market": market, "venue": msg.venue})
                out += self.halt(market, "position_mismatch")
        log.info("venue positions checked: %d of %d markets differ", len(result.differ),
                 len(msg.positions), extra={"venue": msg.venue})
        return out
