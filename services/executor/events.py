"""The executor's outbound side: the private-stream sink and everything it publishes.

Mixed into ExecutorActor (process.py), which owns the sockets and the ledger: fills
are published once per (trade id, order id), FAILED trades become one FillReversal,
order events and periodic ExecutorReports/heartbeats go out on the events channel.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import msgspec

from common import bus, metrics, topics
from common.errors import StorageError
from common.messages import ExecutorReport, Fill, Heartbeat, OrderEvent
from services.executor import control
from services.executor.adapter import OrderUpdate
from services.executor.orders import LiveOrder
from services.executor.report import ladder_of

if TYPE_CHECKING:
    from services.executor.process import ExecutorActor

    _Base = ExecutorActor
else:
    _Base = object

log = logging.getLogger(__name__)


class EventsMixin(_Base):
    """UserSink and publishing methods of ExecutorActor."""

    # --- private stream (UserSink) -------------------------------------------------------------

    def is_ours(self, order_id: str) -> bool:
        return self.ledger.is_ours(order_id) or self.journal.owns(order_id)

    async def on_fill(self, fill: Fill) -> None:
        """Publish each (trade, order) fill once and shrink the order it hit."""
        new, events = self.ledger.on_fill(fill, self._clock_ns())
        if new:  # journaled first: re-published to risk after an outage (replay.py)
            try:
                self.fill_journal.record(fill, self._wall_ns())
            except StorageError as exc:  # risk journals it too: publish, then fail safe
                control.storage_fault(self, exc)
            self.pub_seq += 1  # risk sees a dropped one as a gap (risk/fill_sequence.py)
            await self._publish(topics.events(self.venue, fill.market),
                                msgspec.structs.replace(fill, pub_seq=self.pub_seq))
        for ev in events:
            await self._publish_event(ev)

    async def on_fill_failed(self, fill: Fill) -> None:
        """A trade went FAILED: publish one FillReversal if its fill was published."""
        reversal = self.ledger.on_fill_failed(fill)
        if reversal is not None:
            metrics.ORDERS.labels(venue=self.venue, action="fill", outcome="reversed").inc()
            log.warning("trade %s failed at the venue: fill reversed", fill.trade_id,
                        extra={"market": fill.market, "order_id": fill.order_id})
            try:
                self.fill_journal.record_reversal(reversal)
            except StorageError as exc:
                control.storage_fault(self, exc)
            self.pub_seq += 1
            await self._publish(topics.events(self.venue, fill.market),
                                msgspec.structs.replace(reversal, pub_seq=self.pub_seq))

    async def on_order(self, update: OrderUpdate) -> None:
        """Apply a venue order event to the live map."""
        for ev in self.ledger.on_order(update, self._clock_ns()):
            await self._publish_event(ev)

    # --- publishing --------------------------------------------------------------------------

    async def _publish(self, topic: bytes, msg: Any) -> None:
        await bus.send_pub(self._pub, topic, self._ev_codec.encode(msg))

    async def publish(self, topic: bytes, msg: Any) -> None:
        """Publish one events-channel message."""
        await self._publish(topic, msg)

    async def _publish_event(self, ev: OrderEvent) -> None:
        await self._publish(topics.events(self.venue, ev.market), ev)

    async def _report_loop(self) -> None:
        markets = tuple(self.markets)
        while True:
            by_market: dict[str, list[LiveOrder]] = {m: [] for m in self.markets}
            for o in self.ledger.live.values():
                by_market.setdefault(o.market, []).append(o)
            for m, tokens in self.markets.items():
                bids, asks, count = ladder_of(tokens, by_market[m])
                metrics.OPEN_ORDERS.labels(venue=self.venue, market=m).set(count)
                await self._publish(topics.events(self.venue, m), ExecutorReport(
                    venue=self.venue, market=m, ts_ns=self._wall_ns(), open_orders=count,
                    best_bid=bids[0].price if bids else 0, best_ask=asks[0].price if asks else 0,
                    bids=bids, asks=asks))
            self._hb_seq += 1
            await self._publish(topics.heartbeat("executor"), Heartbeat(
                sender=self.name, role="executor", seq=self._hb_seq, ts_ns=self._wall_ns(),
                markets=markets, pub_seq=self.pub_seq))
            await asyncio.sleep(self._cfg.executor.report_interval_ms / 1000)
