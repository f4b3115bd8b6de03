"""Metrics the control process derives from the bus, for the one scrape target per host.

Control already hears state, events and market data, so trading-quality and liveness
metrics that no single service can see are computed here, not in the hot path:
spread captured and markouts (services/control/quality.py), gross YES/NO holdings,
halt transitions, our resting prices against the mid, and the age of every market's
book and every process's heartbeat.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from common import metrics
from common.config import Config
from common.messages import BookSnapshot, ExecutorReport, Fill, Heartbeat, PositionUpdate
from common.prices import PRICE_SCALE, SIZE_SCALE
from services.control.quality import QualityTracker, Scored

__all__ = ["REJECTION_REASONS", "Telemetry"]

# Mirrors services/risk/limits.py REASONS (a service may not import another).
REJECTION_REASONS = (
    "kill", "paused", "halted", "stale_book", "invalid_price", "max_order_size",
    "position_limit", "exposure_limit", "unknown_market",
)


class Telemetry:
    """Fold bus messages into Prometheus metrics; call `tick()` about once a second."""

    def __init__(self, cfg: Config, clock_ns: Callable[[], int] = time.monotonic_ns) -> None:
        self._clock = clock_ns
        self.quality = QualityTracker()
        self._halted: dict[str, bool] = {}
        self._book_ns: dict[str, int] = {}
        self._hb_ns: dict[tuple[str, str], int] = {}
        self._captured: dict[str, float] = {}
        self.configure(cfg)

    def configure(self, cfg: Config) -> None:
        """Publish the per-market limits of a (new) config."""
        self.markets = {m.id for m in cfg.markets}
        for m in cfg.markets:
            metrics.MAX_LOSS.labels(market=m.id).set(m.max_loss_usd)
            # Zero-valued series from the start, so dashboards and alerts see 0, not "no data".
            metrics.HALTS.labels(market=m.id)
        for venue in cfg.venues_in_use():
            metrics.RATE_LIMIT_WAITS.labels(venue=venue)
            metrics.RATE_LIMIT_WAIT_SECONDS.labels(venue=venue)
        for reason in REJECTION_REASONS:
            metrics.RISK_REJECTIONS.labels(reason=reason)

    def apply(self, msg: object) -> None:
        now = self._clock()
        match msg:
            case BookSnapshot():
                if msg.market in self.markets:
                    self._book_ns[msg.market] = now
                    self.quality.on_book(msg)
                    mid = self.quality.mids.get(msg.market)
                    if mid is not None:
                        metrics.QUOTE_PRICE.labels(market=msg.market, side="mid").set(mid / PRICE_SCALE)
            case Fill():
                if msg.market in self.markets:
                    self._record(self.quality.on_fill(msg, now))
            case PositionUpdate():
                metrics.POSITION_SIDE.labels(market=msg.market, outcome="YES").set(msg.position_yes / SIZE_SCALE)
                metrics.POSITION_SIDE.labels(market=msg.market, outcome="NO").set(msg.position_no / SIZE_SCALE)
                if msg.halted and not self._halted.get(msg.market, False):
                    metrics.HALTS.labels(market=msg.market).inc()
                self._halted[msg.market] = msg.halted
            case ExecutorReport():
                if msg.market in self.markets:
                    for side, price in (("bid", msg.best_bid), ("ask", msg.best_ask)):
                        metrics.QUOTE_PRICE.labels(market=msg.market, side=side).set(price / PRICE_SCALE)
            case Heartbeat():
                self._hb_ns[(msg.sender, msg.role)] = now
            case _:
                pass

    def tick(self) -> None:
        """Score matured markouts and refresh the ages."""
        now = self._clock()
        self._record(self.quality.due(now))
        for market, seen in self._book_ns.items():
            metrics.BOOK_AGE.labels(market=market).set((now - seen) / 1e9)
        for (sender, role), seen in self._hb_ns.items():
            metrics.HEARTBEAT_AGE.labels(process=sender, role=role).set((now - seen) / 1e9)

    def _record(self, scored: list[Scored]) -> None:
        for s in scored:
            if s.kind == "spread":
                metrics.SPREAD_CAPTURED.labels(market=s.market).observe(s.usd_per_contract)
                total = self._captured.get(s.market, 0.0) + s.usd_per_contract * s.size_centi / SIZE_SCALE
                self._captured[s.market] = total
                metrics.SPREAD_CAPTURED_USD.labels(market=s.market).set(total)
            else:
                metrics.FILL_MARKOUT.labels(market=s.market, horizon=s.kind).observe(s.usd_per_contract)
