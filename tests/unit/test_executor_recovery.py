"""Executor recovery over real bus sockets and a hand-written fake venue (issue 3, issue 6).

Startup adopts the journal's orders and cancels foreign ones before quoting; positions
go to risk as VenuePositions; Flatten cancels and acknowledges; exit orders go once as
fill-and-kill; after a risk outage nothing is placed until the venue is reconciled.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path

import msgspec

from common import auth, bus, metrics, topics
from common.config import Config, endpoint
from common.errors import VenueError
from common.messages import (
    ApprovedIntent, EventChannel, Flatten, Heartbeat, Kill, Level, MarketPosition,
    VenuePositions,
)
from services.executor.__main__ import market_tokens
from services.executor.adapter import PlaceReport
from services.executor.journal import JournalRow, OrderJournal
from services.executor.orders import DesiredOrder, VenueOrder
from services.executor.process import ExecutorActor
from tests.support.executor import SECRET, FakeVenue, config
from tests.support.wait import eventually_async


class RecoveringVenue(FakeVenue):
    """FakeVenue with positions, FAK orders that never rest, and a switchable outage."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.placed: list[DesiredOrder] = []

    async def open_orders(self) -> list[VenueOrder]:
        if self.down:
            raise VenueError("venue down", definitive=False)
        return await super().open_orders()

    async def place(self, orders: Sequence[DesiredOrder]) -> PlaceReport:
        self.placed += orders
        report = await super().place(orders)
        for o, r in zip(orders, report.results):
            if o.tif == "FAK":
                self.open.pop(getattr(r, "order_id", ""), None)
        return report

    async def positions(self) -> list[MarketPosition]:
        return [MarketPosition(market="m1", position_yes=500, position_no=0, net=500)]


def intent(market: str, bids: list[tuple[int, int]], *, exits: list[tuple[int, int]] = (),
           seq: int = 1) -> ApprovedIntent:
    now = time.monotonic_ns()
    return ApprovedIntent(
        venue="polymarket", market=market, risk_seq=seq, intent_seq=seq, ts_recv_ns=now,
        ts_approved_ns=now, expires_at_ns=time.time_ns() + 2_000_000_000,
        bids=tuple(Level(p, s) for p, s in bids), asks=(),
        exit_bids=tuple(Level(p, s) for p, s in exits))


def _venue_with_ours(cfg: Config) -> RecoveringVenue:
    """A venue resting "ours-1", which the order journal knows (startup adopts it)."""
    journal = OrderJournal(cfg.run_dir / "executor-polymarket.orders.sqlite")
    journal.intend([JournalRow(key="ours-1", market="m1", token="Y1", price=4800, size=1000,
                               ts_ns=time.time_ns())])
    journal.close()
    venue = RecoveringVenue()
    venue.open = {"ours-1": VenueOrder(order_id="ours-1", token="Y1", side="BUY", price=4800,
                                       size=1000)}
    return venue


def test_executor_recovery(tmp_path: Path) -> None:
    asyncio.run(_scenario(config(tmp_path)))


async def _scenario(cfg: Config) -> None:
    venue = _venue_with_ours(cfg)
    venue.open["foreign-1"] = VenueOrder(order_id="foreign-1", token="Y1", side="BUY", price=4700,
                                         size=1000)
    actor = ExecutorActor(cfg, venue, market_tokens(cfg, "polymarket"), secret=SECRET)
    enc = msgspec.msgpack.Encoder()
    state = bus.pub(endpoint(cfg, "state"))
    push = bus.push([endpoint(cfg, "commands", "polymarket")], send_timeout_ms=1000)
    events = bus.sub([endpoint(cfg, "events", "polymarket")], [topics.EVENTS_ALL])
    dealer = bus.dealer(endpoint(cfg, "control", "executor-polymarket"))
    codec: bus.Codec[EventChannel] = bus.Codec(EventChannel, process="t", channel="events")
    got: list[object] = []
    risk_alive = asyncio.Event()
    risk_alive.set()

    async def risk() -> None:
        seq = 0
        while True:
            await risk_alive.wait()
            seq += 1
            hb = Heartbeat(sender="risk", role="risk", seq=seq, ts_ns=time.time_ns())
            await state.send_multipart([topics.heartbeat("risk"), enc.encode(hb)])
            await asyncio.sleep(0.05)

    async def reader() -> None:
        while True:
            got.append(codec.decode((await events.recv_multipart())[1]))

    async def send(cmd: object) -> None:
        assert await bus.send_push(push, enc.encode(cmd), process="t", channel="commands")

    stop = asyncio.Event()
    tasks = [asyncio.create_task(reader())]
    await asyncio.sleep(0.2)  # the SUB connects before the actor publishes its positions
    run = asyncio.create_task(actor.run(stop))
    tasks.append(asyncio.create_task(risk()))
    try:
        await eventually_async(lambda: any(isinstance(m, VenuePositions) for m in got))
        (pos,) = [m for m in got if isinstance(m, VenuePositions)]
        assert pos.positions == (MarketPosition("m1", 500, 0, 500, quiet=True),)  # no fill near
        assert (pos.open_orders_adopted, pos.open_orders_cancelled) == (1, 1)
        assert ("cancel", ["foreign-1"]) in venue.calls and set(venue.open) == {"ours-1"}
        assert set(actor.state.ledger.live) == {"ours-1"}

        # the adopted order already is the ladder: nothing is placed twice
        await eventually_async(lambda: actor.state.risk_ok and actor.state.reconciled)
        await send(intent("m1", [(4800, 1000)]))
        await send(intent("m1", [(4800, 1000)], seq=2))
        await asyncio.sleep(0.2)
        assert venue.count("place") == 0

        # exit orders: fill-and-kill, once for a repeated intent, never in the ladder
        await send(intent("m1", [(4800, 1000)], exits=[(5300, 2000)], seq=3))
        await eventually_async(lambda: venue.count("place") == 1)
        await send(intent("m1", [(4800, 1000)], exits=[(5300, 2000)], seq=4))
        await asyncio.sleep(0.2)
        assert venue.count("place") == 1
        (exit_order,) = venue.placed
        assert (exit_order.tif, exit_order.token, exit_order.price) == ("FAK", "Y1", 5300)
        assert set(actor.state.ledger.live) == {"ours-1"}

        # flatten: cancel everything in scope, then acknowledge
        await dealer.send(auth.seal(Flatten(sender="t", nonce=auth.new_nonce(),
                                            ts_ns=time.time_ns(), market="m1"), SECRET))
        ack = auth.open_ack(await asyncio.wait_for(dealer.recv(), 5), SECRET)  # acks are MAC'd
        assert ack.ok and ("cancel_market", "m1") in venue.calls and actor.state.ledger.live == {}

        # risk outage: cancel all; when risk is back, wait for a reconciliation
        risk_alive.clear()
        await eventually_async(lambda: not actor.state.risk_ok and actor.state.deadman_done, 3)
        venue.down = True
        risk_alive.set()
        await asyncio.sleep(0.5)
        assert not actor.state.risk_ok  # heartbeats are back, the venue is not reconciled
        await send(intent("m1", [(4600, 1000)], seq=5))
        await asyncio.sleep(0.1)
        assert venue.count("place") == 1
        venue.down = False
        await eventually_async(lambda: actor.state.risk_ok, 5)
        await send(intent("m1", [(4600, 1000)], seq=6))
        await eventually_async(lambda: venue.count("place") == 2)
    finally:
        stop.set()
        await asyncio.wait_for(run, 10)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for sock in (state, push, events, dealer):
            sock.close(linger=0)


def test_a_kill_while_the_venue_is_unreachable_at_start_is_latched_then_carried_out(
        tmp_path: Path) -> None:
    """CI met it: `pmm kill` right after `pmm up`, before the simulator answered; the
    executor tried to cancel at a venue it could not reach and refused the kill. Now a kill
    while starting is latched and acknowledged (nothing was sent), and startup cancels what
    rests, journaled orders it adopts included."""
    asyncio.run(_kill_while_starting(config(tmp_path)))


async def _kill_while_starting(cfg: Config) -> None:
    venue = _venue_with_ours(cfg)
    venue.down = True  # the fault: reconciliation cannot reach the venue
    actor = ExecutorActor(cfg, venue, market_tokens(cfg, "polymarket"), secret=SECRET)
    dealer = bus.dealer(endpoint(cfg, "control", "executor-polymarket"))
    errors = metrics.ORDERS.labels(venue="polymarket", action="reconcile", outcome="error")
    before = errors._value.get()
    stop = asyncio.Event()
    run = asyncio.create_task(actor.run(stop))
    try:
        await eventually_async(lambda: errors._value.get() > before, 5)  # the fault fired
        assert not actor.state.reconciled
        await dealer.send(auth.seal(Kill(sender="t", nonce=auth.new_nonce(),
                                         ts_ns=time.time_ns(), reason="t"), SECRET))
        ack = auth.open_ack(await asyncio.wait_for(dealer.recv(), 5), SECRET)
        assert ack.ok and "latched while starting" in ack.detail, ack
        assert actor.state.kill_all and venue.calls == [("start", None)]  # no cancel tried
        venue.down = False
        await eventually_async(lambda: actor.state.reconciled, 10)
        await eventually_async(lambda: ("cancel_all", None) in venue.calls, 5)
        assert venue.open == {} and actor.state.ledger.live == {}
        assert actor.state.kill_all  # still latched: `pmm reset` releases it
    finally:
        stop.set()
        await asyncio.wait_for(run, 10)
        dealer.close(linger=0)
