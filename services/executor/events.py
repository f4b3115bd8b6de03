"""The executor's outbound side: what it publishes, and the private-stream sink feeding it.

`EventPublisher` owns the events PUB: order events, fills and reversals (numbered with
`pub_seq`, so risk sees a dropped one as a gap: risk/fill_sequence.py), reports and
heartbeats. `FillSink` is the `UserSink` a venue adapter's private stream feeds: fills
are journaled, then published once per (trade id, order id); FAILED trades become one
FillReversal; order events update the ledger.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import msgspec

from common import bus, metrics, topics
from common.errors import StorageError
from common.messages import EventChannel, Fill, FillReversal, OrderEvent, Venue
from services.executor.adapter import OrderUpdate
from services.executor.fill_activity import FillActivity
from services.executor.fill_journal import FillJournal
from services.executor.journal import OrderJournal
from services.executor.ledger import OrderLedger

__all__ = ["EventPublisher", "FillSink"]

log = logging.getLogger(__name__)


class EventPublisher:
    """One executor's events PUB and its codec."""

    def __init__(self, sock: Any, codec: bus.Codec[EventChannel], venue: Venue) -> None:
        self._sock = sock
        self._codec = codec
        self.venue = venue
        self.pub_seq = 0
        """Fills and reversals published so far, live and replayed (Fill.pub_seq)."""

    async def publish(self, topic: bytes, msg: Any) -> None:
        """Publish one events-channel message."""
        await bus.send_pub(self._sock, topic, self._codec.encode(msg))

    async def order_event(self, ev: OrderEvent) -> None:
        await self.publish(topics.events(self.venue, ev.market), ev)

    async def numbered(self, msg: Fill | FillReversal) -> None:
        """Publish a fill or reversal (live or replayed) under the next `pub_seq`."""
        self.pub_seq += 1
        await self.publish(topics.events(self.venue, msg.market),
                           msgspec.structs.replace(msg, pub_seq=self.pub_seq))


class FillSink:
    """The `UserSink` of a venue adapter's private stream (adapter.py)."""

    def __init__(self, *, ledger: OrderLedger, journal: OrderJournal, fill_journal: FillJournal,
                 publisher: EventPublisher, on_storage_fault: Callable[[StorageError], None],
                 clock_ns: Callable[[], int], wall_ns: Callable[[], int],
                 fill_resume_s: int | None, activity: FillActivity | None = None) -> None:
        self._ledger = ledger
        self.activity = activity or FillActivity(clock_ns)
        """When each market last saw a fill event (replay.PositionSnapshots reads it)."""
        self._journal = journal
        self._fill_journal = fill_journal
        self._publisher = publisher
        self._on_storage_fault = on_storage_fault
        self._clock_ns = clock_ns
        self._wall_ns = wall_ns
        self.fill_resume_s = fill_resume_s
        """Where the venue's fills are recovered from at the first user-stream connect (unix
        s; replay.resume_horizon_s); the adapters read it."""

    def is_ours(self, order_id: str) -> bool:
        return self._ledger.is_ours(order_id) or self._journal.owns(order_id)

    async def on_fill(self, fill: Fill, *, settled: bool = True) -> None:
        """Publish each (trade, order) fill once and shrink the order it hit."""
        new, events = self._ledger.on_fill(fill, self._clock_ns())
        self.activity.note(fill, settled=settled, moved=int(new))
        if new:  # journaled first: re-published to risk after an outage (replay.py)
            try:
                self._fill_journal.record(fill, self._wall_ns())
            except StorageError as exc:  # risk journals it too: publish, then fail safe
                self._on_storage_fault(exc)
            await self._publisher.numbered(fill)
        for ev in events:
            await self._publisher.order_event(ev)

    async def on_fill_failed(self, fill: Fill) -> None:
        """A trade went FAILED: publish one FillReversal if its fill was published."""
        reversal = self._ledger.on_fill_failed(fill)
        self.activity.note(fill, moved=-1 if reversal is not None else 0)  # final: undone
        if reversal is not None:
            metrics.ORDERS.labels(venue=self._publisher.venue, action="fill",
                                  outcome="reversed").inc()
            log.warning("trade %s failed at the venue: fill reversed", fill.trade_id,
                        extra={"market": fill.market, "order_id": fill.order_id})
            try:
                self._fill_journal.record_reversal(reversal)
            except StorageError as exc:
                self._on_storage_fault(exc)
            await self._publisher.numbered(reversal)

    async def on_order(self, update: OrderUpdate) -> None:
        """Apply a venue order event to the live map."""
        for ev in self._ledger.on_order(update, self._clock_ns()):
            await self._publisher.order_event(ev)
