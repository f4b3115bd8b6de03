"""Paper execution: an `ExecutionAdapter` that never talks to a venue's order entry. Our
post-only orders rest in a paper book and fill against the live (or replayed) market data on
the md bus, by the queue model the backtester uses (common/fillmodel.py): queue position at
our price level, partial fills, trade-through fills. No trading credentials are needed
(`pmm up --paper`, `python -m services.executor --paper`).

Every outcome is definitive (there is no wire to be ambiguous about). Fills reach the
executor through its `UserSink` (events.FillSink) exactly like a venue's private stream, so risk,
positions and the journal work unchanged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from common import bus, bus_curve, topics
from common.config import Config, endpoint
from common.fillmodel import QueueFill, QueueModel
from common.messages import BookSnapshot, Fill, MarketData, TradePrint, Venue
from common.prices import PRICE_SCALE
from services.executor.adapter import (
    AmendReport, CancelOutcome, Placed, PlaceReport, PlaceResult, Rejected, UserSink,
)
from services.executor.collateral import Balance
from services.executor.orders import Amend, DesiredOrder, MarketTokens, VenueOrder

__all__ = ["PaperExecution"]

log = logging.getLogger(__name__)


class PaperExecution:
    """Paper orders for one venue's markets, filled from the md bus."""

    def __init__(self, cfg: Config, venue: Venue, markets: Sequence[MarketTokens], *,
                 maker_fee_bps: float = 0.0, wall_ns: Callable[[], int] = time.time_ns) -> None:
        self.venue = venue
        self._cfg = cfg
        self.markets = {m.market: m for m in markets}
        self.models = {m.market: QueueModel() for m in markets}
        self._orders: dict[str, tuple[DesiredOrder, str]] = {}
        """order id -> (the request, its market)."""
        self._fee_bps = maker_fee_bps
        self._wall = wall_ns
        self._n = 0
        self._trades = 0
        self._codec: bus.Codec[MarketData] = bus.Codec(
            MarketData, process=f"executor-{venue}", channel="md")

    async def start(self) -> None:
        log.info("paper trading %d markets: no orders reach the venue", len(self.markets))

    async def close(self) -> None:
        return None

    async def place(self, orders: Sequence[DesiredOrder]) -> PlaceReport:
        wire = time.monotonic_ns()
        results: list[PlaceResult] = []
        for o in orders:
            yes_bid = o.outcome == "YES"
            price = o.price if yes_bid else PRICE_SCALE - o.price
            self._n += 1
            oid = f"paper-{self._n}"
            if self.models[o.market].add(oid, yes_bid, price, o.size):
                self._orders[oid] = (o, o.market)
                results.append(Placed(o, oid))
            else:
                results.append(Rejected(o, "invalid post-only order: order crosses book"))
        return PlaceReport(results=results, wire_ns=wire)

    can_amend = False

    async def amend(self, amends: Sequence[Amend]) -> AmendReport:
        """No amend on this venue: every requote cancels and places (never called)."""
        return AmendReport(failed=tuple((a.order.order_id, "no amend") for a in amends))

    def reserve_placements(self, market: str, n: int) -> float:
        return 0.0  # paper orders spend no venue budget

    async def balance(self) -> Balance | None:
        return None  # paper orders lock no collateral

    async def cancel(self, order_ids: Sequence[str]) -> CancelOutcome:
        for oid in order_ids:
            entry = self._orders.pop(oid, None)
            if entry is not None:
                self.models[entry[1]].cancel(oid)
        return CancelOutcome(gone=tuple(order_ids))

    async def cancel_market(self, market: MarketTokens) -> CancelOutcome:
        ids = [oid for oid, (_, m) in self._orders.items() if m == market.market]
        out = await self.cancel(ids)
        return CancelOutcome(gone=out.gone, everything=True)

    async def cancel_all(self) -> CancelOutcome:
        out = await self.cancel(list(self._orders))
        return CancelOutcome(gone=out.gone, everything=True)

    async def open_orders(self) -> list[VenueOrder]:
        out = []
        for oid, (req, market) in self._orders.items():
            resting = self.models[market].orders.get(oid)
            if resting is not None:
                out.append(VenueOrder(order_id=oid, token=req.token, side="BUY", price=req.price,
                                      size=resting.remaining,
                                      venue_market=self.markets[market].venue_market))
        return out

    async def heartbeat(self) -> None:
        return None

    async def run_user_stream(self, sink: UserSink) -> None:
        """Follow the md bus of our markets and turn queue-model fills into `Fill`s."""
        sock = bus.sub([endpoint(self._cfg, "md", self.venue)],
                       [topics.md(self.venue, m) for m in self.markets],
                       hwm=self._cfg.bus.recv_hwm,
                       curve=bus_curve.client(self._cfg, f"executor-{self.venue}",
                                              [("md", self.venue)]))
        try:
            while True:
                frames = await sock.recv_multipart()
                payload = bus.payload_of(frames)
                msg = None if payload is None else self._codec.decode(payload)
                match msg:
                    case BookSnapshot(market=m) if m in self.models:
                        await self._emit(sink, m, self.models[m].on_book(msg.bids, msg.asks),
                                         msg.ts_recv_ns)
                    case TradePrint(market=m) if m in self.models:
                        await self._emit(sink, m, self.models[m].on_trade(
                            msg.price, msg.size, msg.side == "BUY"), msg.ts_recv_ns)
                    case _:
                        pass
        finally:
            sock.close(linger=0)

    async def _emit(self, sink: UserSink, market: str, fills: list[QueueFill],
                    ts_recv_ns: int) -> None:
        for f in fills:
            entry = self._orders.get(f.order_id)
            if entry is None:
                continue
            req = entry[0]
            if f.remaining <= 0:
                del self._orders[f.order_id]
            self._trades += 1
            fee = round(req.price * f.size * self._fee_bps / 10_000)
            log.info("paper fill %s %s @ %d x %d", req.outcome, f.order_id, req.price, f.size,
                     extra={"market": market, "order_id": f.order_id})
            await sink.on_fill(Fill(
                venue=self.venue, market=market, trade_id=f"paper-trade-{self._trades}",
                order_id=f.order_id, outcome=req.outcome, side="BUY", price=req.price,
                size=f.size, fee=fee, ts_venue_ms=self._wall() // 1_000_000,
                ts_recv_ns=ts_recv_ns))
