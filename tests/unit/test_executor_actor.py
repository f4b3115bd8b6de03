"""The executor actor over real bus sockets and a hand-written fake venue."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path

import msgspec

from common import auth, bus, metrics, topics
from common.config import Config, endpoint
from common.messages import (
    Ack, CancelMarket, EventChannel, ExecutorReport, Fill, Heartbeat, Kill,
    OrderEvent, Reset,
)
from services.executor.__main__ import market_tokens
from services.executor.adapter import AmendReport, CancelOutcome, PlaceReport
from services.executor.orders import Amend, DesiredOrder, VenueOrder
from services.executor.process import ExecutorActor
from tests.support.executor import (
    SECRET, FakeVenue, config, intent, ready_actor,
)
from tests.support.wait import eventually_async


def test_executor_actor(tmp_path: Path) -> None:
    asyncio.run(_scenario(config(tmp_path)))


async def _scenario(cfg: Config) -> None:
    venue = FakeVenue()
    actor = ExecutorActor(cfg, venue, market_tokens(cfg, "polymarket"), secret=SECRET)
    enc = msgspec.msgpack.Encoder()
    state = bus.pub(endpoint(cfg, "state"))
    push = bus.push([endpoint(cfg, "commands", "polymarket")], send_timeout_ms=1000)
    events = bus.sub([endpoint(cfg, "events", "polymarket")], [topics.EVENTS_ALL, b"hb."])
    dealer = bus.dealer(endpoint(cfg, "control", "executor-polymarket"))
    ev_codec: bus.Codec[EventChannel] = bus.Codec(EventChannel, process="t", channel="events")
    got: list[object] = []
    risk_alive = asyncio.Event()
    risk_alive.set()
    expired = metrics.EXPIRED_COMMANDS.labels(process="executor-polymarket")
    rejected = metrics.CONTROL_REJECTED.labels(process="executor-polymarket", reason="bad_mac")

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
            got.append(ev_codec.decode((await events.recv_multipart())[1]))

    async def send(cmd: object) -> None:
        assert await bus.send_push(push, enc.encode(cmd), process="t", channel="commands")

    async def control(msg: object, secret: bytes = SECRET) -> Ack:
        await dealer.send(auth.seal(msg, secret))  # type: ignore[arg-type]
        reply = await asyncio.wait_for(dealer.recv(), 5)
        return auth.open_ack(reply, SECRET)  # acks are MAC'd

    def reports(market: str) -> list[ExecutorReport]:
        return [m for m in got if isinstance(m, ExecutorReport) and m.market == market]

    stop = asyncio.Event()
    run = asyncio.create_task(actor.run(stop))
    tasks = [asyncio.create_task(reader())]
    try:
        await eventually_async(lambda: any(isinstance(m, Heartbeat) for m in got))
        # no risk heartbeat yet: nothing is placed
        await send(intent("m1", [(4800, 1000)], []))
        await asyncio.sleep(0.1)
        assert venue.count("place") == 0
        tasks.append(asyncio.create_task(risk()))
        await eventually_async(lambda: actor.state.risk_ok)

        ladder = intent("m1", [(4800, 1000), (4700, 1000)], [(5200, 1000)])
        await send(ladder)
        await eventually_async(lambda: venue.count("place") == 1)
        assert venue.calls[-1] == ("place", [("Y1", 4800, 1000), ("Y1", 4700, 1000),
                                             ("N1", 4800, 1000)])
        await eventually_async(lambda: any(r.open_orders == 3 for r in reports("m1")))
        rep = [r for r in reports("m1") if r.open_orders == 3][-1]
        assert (rep.best_bid, rep.best_ask) == (4800, 5200)
        assert sum(isinstance(m, OrderEvent) and m.status == "placed" for m in got) == 3

        await send(intent("m1", [(4800, 1000), (4700, 1000)], [(5200, 1000)], seq=2))
        await send(intent("m1", [(4800, 1000)], [(5300, 1000)], seq=3))
        await eventually_async(lambda: venue.count("place") == 2)
        assert venue.calls[-2][0] == "cancel" and venue.calls[-1] == ("place", [("N1", 4700, 1000)])
        assert len(venue.calls[-2][1]) == 2  # type: ignore[arg-type]

        n_expired = expired._value.get()
        await send(intent("m2", [(4000, 1000)], [], ttl_ns=-1))
        await eventually_async(lambda: expired._value.get() == n_expired + 1)

        ack = await control(Kill(sender="t", nonce=auth.new_nonce(), ts_ns=time.time_ns(),
                                 reason="test"))
        assert ack.ok and ack.receiver == "executor-polymarket"
        assert venue.calls[-1] == ("cancel_all", None) and actor.state.ledger.live == {}
        await send(intent("m2", [(4000, 1000)], []))
        await asyncio.sleep(0.1)
        assert venue.count("place") == 2
        bad = await control(Reset(sender="t", nonce="n1", ts_ns=time.time_ns()), b"x" * 16)
        assert not bad.ok and rejected._value.get() >= 1 and actor.state.kill_all
        assert (await control(Reset(sender="t", nonce=auth.new_nonce(),
                                    ts_ns=time.time_ns()))).ok
        await send(intent("m2", [(4000, 1000)], []))
        await eventually_async(lambda: venue.count("place") == 3)

        await send(CancelMarket(venue="polymarket", market="m2", reason="halt", risk_seq=9,
                                expires_at_ns=time.time_ns() + 10**9))
        await eventually_async(lambda: ("cancel_market", "m2") in venue.calls)

        risk_alive.clear()  # dead man's switch
        n_cancel_all = venue.count("cancel_all")
        await eventually_async(lambda: venue.count("cancel_all") == n_cancel_all + 1, 3)
        assert not actor.state.risk_ok
        await send(intent("m2", [(4100, 1000)], []))
        await asyncio.sleep(0.1)
        assert venue.count("place") == 3
        risk_alive.set()
        await eventually_async(lambda: actor.state.risk_ok)
        await send(intent("m2", [(4100, 1000)], []))
        await eventually_async(lambda: venue.count("place") == 4)

        fill = Fill(venue="polymarket", market="m2", trade_id="t1", order_id="x", outcome="YES",
                    side="BUY", price=4100, size=100, fee=0, ts_venue_ms=1, ts_recv_ns=1)
        await actor.sink.on_fill(fill)
        await actor.sink.on_fill(fill)
        await eventually_async(lambda: any(isinstance(m, Fill) for m in got))
        await asyncio.sleep(0.05)
        assert sum(isinstance(m, Fill) for m in got) == 1
        assert venue.heartbeats >= 1 and actor.sequencer.recv_to_wire_ns
    finally:
        stop.set()
        await asyncio.wait_for(run, 10)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for sock in (state, push, events, dealer):
            sock.close(linger=0)
    assert venue.calls[-2:] == [("cancel_all", None), ("close", None)]


class GatedVenue(FakeVenue):
    """Holds every placement on the wire until `release` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.on_wire = asyncio.Event()
        self.release = asyncio.Event()

    async def place(self, orders: Sequence[DesiredOrder]) -> PlaceReport:
        self.on_wire.set()
        await self.release.wait()
        return await super().place(orders)


def test_a_cancel_issued_while_placements_are_on_the_wire_supersedes_them(tmp_path: Path) -> None:
    """Risk's CancelMarket (a kill) reaches the venue before a ladder already on the wire:
    the orders that land afterwards are cancelled at once, not left resting."""

    async def scenario(market: str) -> None:
        venue = GatedVenue()
        with ready_actor(tmp_path / market, venue) as actor:
            applying = asyncio.create_task(
                actor.sequencer.apply_intent(intent("m1", [(4800, 1000)], [(5200, 1000)]), 0))
            await asyncio.wait_for(venue.on_wire.wait(), 5)
            await actor.sequencer.cancel_market_cmd(market, "kill: test")  # reaches the venue first
            assert venue.open == {}
            venue.release.set()
            await asyncio.wait_for(applying, 5)
            assert venue.open == {}, "a placement that was on the wire during the cancel rests"
            assert venue.calls[-1][0] == "cancel" and len(venue.calls[-1][1]) == 2  # type: ignore[arg-type]
            assert actor.state.ledger.in_market("m1") == []

    asyncio.run(scenario(""))
    asyncio.run(scenario("m1"))


def test_a_requote_waits_for_the_budget_before_cancelling_and_takes_the_newest_ladder(
        tmp_path: Path) -> None:
    """With the venue budget short, a requote's cancels wait until its placements can follow
    at once (else the market sits empty while placements queue); a ladder arriving meanwhile
    replaces it, and a pull (cancels only) never waits."""

    async def scenario() -> None:
        venue = FakeVenue()
        with ready_actor(tmp_path, venue) as actor:
            await actor.sequencer.apply_intent(intent("m1", [(4800, 1000)], [(5200, 1000)]), 0)
            assert len(venue.open) == 2
            venue.budget_wait_s = 0.05
            applying = asyncio.create_task(
                actor.sequencer.apply_intent(intent("m1", [(4700, 1000)], [(5100, 1000)], seq=2), 0))
            await asyncio.sleep(0.2)
            assert venue.count("cancel") == 0 and len(venue.open) == 2, \
                "cancelled the live ladder before its replacement was affordable"
            actor.state.pending["m1"] = (intent("m1", [(4600, 1000)], [(5000, 1000)], seq=3), 0)
            venue.budget_wait_s = 0.0
            await asyncio.wait_for(applying, 5)
            assert sorted(o.price for o in venue.open.values()) == [4600, 5000]
            assert [c[0] for c in venue.calls[-2:]] == ["cancel", "place"]
            venue.budget_wait_s = 10.0
            await asyncio.wait_for(actor.sequencer.apply_intent(intent("m1", [], [], seq=4), 0), 1)
            assert venue.open == {}, "a pull waited for the placement budget"

    asyncio.run(scenario())


class AmendingVenue(FakeVenue):
    """Moves orders in place, refuses amends of ids in `refuse`, and checks after every
    single order change that our YES and NO orders never cross (YES + NO price >= $1)."""

    can_amend = True

    def __init__(self) -> None:
        super().__init__()
        self.refuse: set[str] = set()
        self.crossed = 0

    def _check(self) -> None:
        yes = [o.price for o in self.open.values() if o.token == "Y1"]
        no = [o.price for o in self.open.values() if o.token == "N1"]
        if yes and no and max(yes) + max(no) >= 10_000:
            self.crossed += 1

    async def place(self, orders: Sequence[DesiredOrder]) -> PlaceReport:
        report = await super().place(orders)
        self._check()
        return report

    async def amend(self, amends: Sequence[Amend]) -> AmendReport:
        self.calls.append(("amend", [(a.order.token, a.order.price, a.to.price) for a in amends]))
        done, failed = [], []
        for a in amends:
            oid = a.order.order_id
            if oid in self.refuse or oid not in self.open:
                failed.append((oid, "post only order would cross the book"))
                continue
            self.open[oid] = VenueOrder(order_id=oid, token=a.to.token, side="BUY",
                                        price=a.to.price, size=a.to.size)
            self._check()
            done.append((oid, a.to.size))
        return AmendReport(done=tuple(done), failed=tuple(failed))


def test_a_requote_moves_orders_in_place_without_ever_crossing_ourselves(tmp_path: Path) -> None:
    """On a venue with amends, a ladder that jumps past its own spread is one amend per level
    (ids kept, nothing cancelled or placed); the side moving away goes first, so our YES and
    NO orders never cross in between; a refused amend cancels that order."""

    async def scenario() -> None:
        venue = AmendingVenue()
        with ready_actor(tmp_path, venue) as actor:
            await actor.sequencer.apply_intent(intent("m1", [(4800, 1000)], [(5200, 1000)]), 0)
            ids = set(venue.open)
            for step, (bid, ask) in enumerate([(5400, 5800), (4000, 4400), (4100, 4600)]):
                await actor.sequencer.apply_intent(intent("m1", [(bid, 1000)], [(ask, 1000)], seq=2 + step), 0)
                assert set(venue.open) == ids, "a requote replaced orders instead of amending"
                assert sorted(o.price for o in venue.open.values()) == sorted([bid, 10_000 - ask])
            assert venue.crossed == 0, "our own orders crossed between two amends"
            assert venue.count("cancel") == 0 and venue.count("place") == 1
            yes_id = next(o.order_id for o in venue.open.values() if o.token == "Y1")
            venue.refuse.add(yes_id)
            await actor.sequencer.apply_intent(intent("m1", [(4300, 1000)], [(4700, 1000)], seq=9), 0)
            assert yes_id not in venue.open, "an order whose amend failed still rests"
            assert yes_id not in {o.order_id for o in actor.state.ledger.in_market("m1")}

    asyncio.run(scenario())


class RefusingCancelVenue(FakeVenue):
    """Refuses every cancel definitively (as a 429 on the last retry does)."""

    async def cancel(self, order_ids: Sequence[str]) -> CancelOutcome:
        self.calls.append(("cancel", sorted(order_ids)))
        return CancelOutcome(failed=tuple(order_ids), reason="429: too many requests")


def test_a_level_whose_cancel_failed_is_never_doubled(tmp_path: Path) -> None:
    """A requote that resizes a level cancels its order and places a new one at the same
    price; if the venue refuses the cancel, the old order still rests, so the new one must
    not be placed beside it (two of our orders at one level)."""

    async def scenario() -> None:
        venue = RefusingCancelVenue()
        with ready_actor(tmp_path, venue) as actor:
            await actor.sequencer.apply_intent(intent("m1", [(4800, 1000)], [(5200, 1000)]), 0)
            await actor.sequencer.apply_intent(intent("m1", [(4800, 500)], [(5300, 1000)], seq=2), 0)
            levels = [(o.token, o.price) for o in venue.open.values()]
            assert len(levels) == len(set(levels)), f"a level rests twice: {levels}"
            assert ("Y1", 4800) in levels and ("N1", 4700) in levels

    asyncio.run(scenario())


def test_a_restarted_risk_is_a_new_gate_its_predecessors_orders_are_pulled(tmp_path: Path) -> None:
    """Risk killed and restarted faster than `risk_timeout_ms`: its heartbeats never stopped
    long enough for the dead man's switch, but they carry a new instance id. The executor
    cancels everything the old gate approved, refuses the old gate's queued approvals and
    quotes again only for the new gate, after reconciling."""

    def hb(instance: str, seq: int) -> Heartbeat:
        return Heartbeat(sender="risk", role="risk", seq=seq, ts_ns=time.time_ns(),
                         instance=instance)

    async def scenario() -> None:
        venue = FakeVenue()
        with ready_actor(tmp_path, venue) as actor:
            actor.risk_watch.on_heartbeat(hb("gate-a", 1))
            await actor.sequencer.apply_intent(
                intent("m1", [(4800, 1000)], [(5200, 1000)], risk_instance="gate-a"), 0)
            assert len(venue.open) == 2
            new_instance = metrics.ORDERS.labels(
                venue="polymarket", action="risk", outcome="new_instance")
            stale = metrics.ORDERS.labels(
                venue="polymarket", action="intent", outcome="stale_risk_instance")
            n_new, n_stale = new_instance._value.get(), stale._value.get()

            actor.risk_watch.on_heartbeat(hb("gate-a", 2))  # the same gate: nothing happens
            assert actor.state.risk_ok and venue.count("cancel_all") == 0

            actor.risk_watch.on_heartbeat(hb("gate-b", 1))  # restarted within the timeout
            assert new_instance._value.get() == n_new + 1 and not actor.state.risk_ok
            await eventually_async(lambda: venue.count("cancel_all") == 1)
            assert venue.open == {}
            await eventually_async(lambda: actor.state.risk_ok)

            await actor.on_command(
                intent("m1", [(4700, 1000)], [], risk_instance="gate-a"), 0)
            assert stale._value.get() == n_stale + 1 and "m1" not in actor.state.pending
            await actor.on_command(
                intent("m1", [(4700, 1000)], [], risk_instance="gate-b"), 0)
            assert "m1" in actor.state.pending

    asyncio.run(scenario())
