"""The executor actor's test kit: a hand-written fake venue, ladders, and an actor that
takes ladders at once. Shared by the executor's unit tests (no test module imports another)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from common.config import Config, parse
from common.messages import ApprovedIntent, Level
from services.executor.__main__ import market_tokens
from services.executor.adapter import AmendReport, CancelOutcome, Placed, PlaceReport, UserSink
from services.executor.collateral import Balance
from services.executor.orders import Amend, DesiredOrder, MarketTokens, VenueOrder
from services.executor.process import ExecutorActor

SECRET = b"0123456789abcdef-test"


def config(run_dir: Path) -> Config:
    return parse(f"""
[stack]
run_dir = "{run_dir}"
[executor]
risk_timeout_ms = 300
reconcile_interval_ms = 200
report_interval_ms = 50
[venues.polymarket]
heartbeat_interval_ms = 100
[[markets]]
id = "m1"
venue = "polymarket"
venue_market = "0xc1"
yes_token = "Y1"
no_token = "N1"
[[markets]]
id = "m2"
venue = "polymarket"
venue_market = "0xc2"
yes_token = "Y2"
no_token = "N2"
""")


class FakeVenue:
    """Accepts everything; keeps an open-order book; records every call in order."""

    venue = "polymarket"
    can_amend = False

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []
        self.open: dict[str, VenueOrder] = {}
        self.heartbeats = 0
        self.budget_wait_s = 0.0
        """What reserve_placements answers (a test sets it to model a short venue budget)."""
        self.collateral: Balance | None = None
        """What balance() answers (None: no limit)."""
        self.balance_reads = 0
        self._n = 0

    async def start(self) -> None:
        self.calls.append(("start", None))

    async def close(self) -> None:
        self.calls.append(("close", None))

    async def place(self, orders: Sequence[DesiredOrder]) -> PlaceReport:
        self.calls.append(("place", [(o.token, o.price, o.size) for o in orders]))
        results = []
        for o in orders:
            self._n += 1
            oid = f"id{self._n}"
            self.open[oid] = VenueOrder(order_id=oid, token=o.token, side="BUY", price=o.price,
                                        size=o.size)
            results.append(Placed(o, oid))
        return PlaceReport(results=results, wire_ns=time.monotonic_ns())

    async def cancel(self, order_ids: Sequence[str]) -> CancelOutcome:
        self.calls.append(("cancel", sorted(order_ids)))
        for oid in order_ids:
            self.open.pop(oid, None)
        return CancelOutcome(gone=tuple(order_ids))

    def reserve_placements(self, market: str, n: int) -> float:
        return self.budget_wait_s

    async def balance(self) -> Balance | None:
        self.balance_reads += 1
        return self.collateral

    async def amend(self, amends: Sequence[Amend]) -> AmendReport:
        raise AssertionError("amend called on a venue without amends")

    async def cancel_market(self, market: MarketTokens) -> CancelOutcome:
        self.calls.append(("cancel_market", market.market))
        tokens = {market.yes_token, market.no_token}
        self.open = {k: v for k, v in self.open.items() if v.token not in tokens}
        return CancelOutcome(everything=True)

    async def cancel_all(self) -> CancelOutcome:
        self.calls.append(("cancel_all", None))
        self.open.clear()
        return CancelOutcome(everything=True)

    async def open_orders(self) -> list[VenueOrder]:
        return list(self.open.values())

    async def heartbeat(self) -> None:
        self.heartbeats += 1

    async def run_user_stream(self, sink: UserSink) -> None:
        await asyncio.Event().wait()

    def count(self, name: str) -> int:
        return sum(1 for c in self.calls if c[0] == name)


def intent(market: str, bids: list[tuple[int, int]], asks: list[tuple[int, int]], *,
           ttl_ns: int = 2_000_000_000, seq: int = 1, risk_instance: str = "") -> ApprovedIntent:
    return ApprovedIntent(
        venue="polymarket", market=market, risk_seq=seq, intent_seq=seq,
        ts_recv_ns=time.monotonic_ns(), ts_approved_ns=time.monotonic_ns(),
        expires_at_ns=time.time_ns() + ttl_ns,
        bids=tuple(Level(p, s) for p, s in bids), asks=tuple(Level(p, s) for p, s in asks),
        risk_instance=risk_instance)


@contextmanager
def ready_actor(directory: Path, venue: FakeVenue) -> Iterator[ExecutorActor]:
    """An actor on `venue` that takes ladders at once (risk seen, venue reconciled), no loops
    running: a test drives `actor.sequencer.apply_intent` itself. Its sockets and journals
    close after."""
    cfg = config(directory)
    actor = ExecutorActor(cfg, venue, market_tokens(cfg, "polymarket"), secret=SECRET)
    actor.state.risk_ok = actor.state.reconciled = True
    try:
        yield actor
    finally:
        for sock in (actor._cmd, actor._pub, actor._state, actor._ctl):
            sock.close(linger=0)
        actor.journal.close()
        actor.fill_journal.close()
