"""Runtime reconciliation (issue 15, item 6): a fill dropped on the bus is asked for again,
and a venue position that stays apart from the journal halts its market.

On the old code fills carried no sequence, so a fill the events PUB dropped at its HWM
while risk was alive was never noticed, and a venue mismatch was only logged.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import msgspec
import pytest
import zmq
import zmq.asyncio
from hypothesis import given
from hypothesis import strategies as st

from common import bus, topics
from common.config import Config, MarketConfig, RiskConfig, StackConfig, endpoint
from common.messages import (
    CancelMarket, EventChannel, Fill, Heartbeat, MarketPosition, PositionUpdate, ReplayRequest, StateChannel,
    VenuePositions,
)
from services.risk import venue_check
from services.risk.actor import RiskActor
from services.risk.fill_sequence import FillSequence
from services.risk.gate import RiskGate
from services.risk.journal import Journal
from services.risk.position import Position
from tests.support.executor import FakeVenue, ready_actor
from tests.support.fixtures import Sockets
from tests.support.wait import eventually_async

SECRET = b"s" * 32


# --- the fill sequence, pure ---------------------------------------------------------------


@given(st.lists(st.booleans(), min_size=1, max_size=200), st.booleans())
def test_every_dropped_fill_is_seen_by_a_later_fill_or_the_heartbeat(
        delivered: list[bool], heartbeat: bool) -> None:
    """Fills 1..n, some dropped, then maybe a heartbeat. It asks for a replay iff a fill was
    dropped and something came after the drop (the first fill risk sees counts: one past 1
    means fills came before it), and from no later than the last fill before the first
    drop (risk's start, 0 here, if that was fill 1)."""
    seq = FillSequence()
    asked: list[int] = []
    for n, arrived in enumerate(delivered, start=1):
        if arrived:
            since = seq.on_fill("kalshi", n, now_ns=n)
            if since is not None:
                asked.append(since)
    if heartbeat:
        since = seq.on_heartbeat("kalshi", len(delivered), now_ns=10_000)
        if since is not None:
            asked.append(since)
    last_seen = max((n for n, d in enumerate(delivered, start=1) if d), default=0)
    end = len(delivered) if heartbeat else last_seen
    drops = [n for n in range(1, end + 1) if not delivered[n - 1]]
    if not drops:
        assert asked == []
    else:
        assert asked, f"fill {drops[0]} was dropped and went unnoticed"
        assert asked[0] <= drops[0] - 1


def test_a_restarted_executor_starts_a_new_baseline_not_a_gap() -> None:
    seq = FillSequence()
    assert seq.on_fill("pm", 1, 10) is None and seq.on_fill("pm", 2, 20) is None
    assert seq.on_heartbeat("pm", 0, 30) is None  # restarted: numbers begin again
    assert seq.on_fill("pm", 1, 40) is None
    assert seq.on_fill("pm", 3, 50) == 40 and seq.gaps == 1


def test_fills_before_the_first_number_risk_sees_are_a_gap() -> None:
    """An executor that started just before risk froze: its first fills went into a full
    queue and risk's first sight of it is a heartbeat numbered 2 (the HWM chaos test's
    100 contracts never replayed). Replay from risk's start; a restarted executor whose
    first number seen is past 1 replays from the old run's last unbroken fill."""
    seq = FillSequence(start_ns=5)
    assert seq.on_heartbeat("pm", 0, 10) is None, "nothing published yet: a plain baseline"
    assert seq.on_heartbeat("k", 2, 20) == 5 and seq.gaps == 1
    assert seq.on_fill("poly", 1, 30) is None
    assert seq.on_fill("other", 4, 40) == 5 and seq.gaps == 2
    for n in (1, 2, 3, 4):
        assert seq.on_fill("pm", n, 50 + n) is None
    assert seq.on_fill("pm", 3, 70) == 54, "restarted, and its fills 1 and 2 dropped"
    assert seq.on_heartbeat("pm", 1, 80) == 54, "restarted again: the hole is still open"
    assert seq.gaps == 4


def test_a_gap_stays_open_until_a_replay_arrives_whole() -> None:
    """A replay is a burst sent right after an overflow: it can lose fills too. Every later
    request replays from the oldest hole, until the snapshot closing the newest request
    arrives with nothing missing before it."""
    seq = FillSequence()
    assert seq.on_fill("pm", 1, 10) is None and seq.on_fill("pm", 2, 20) is None
    assert seq.on_fill("pm", 5, 30) == 20  # 3 and 4 dropped
    first = seq.request_id("pm")
    assert seq.on_fill("pm", 7, 40) == 20, "the replay lost 6: replay from the same hole"
    second = seq.request_id("pm")
    assert seq.on_fill("pm", 8, 41) is None
    assert seq.on_replayed("pm", first, 8, 42) is None
    assert seq.hole_ns("pm") == 20, "an older request's snapshot closed the hole"
    for n in (9, 10, 11):
        assert seq.on_fill("pm", n, 50 + n) is None
    assert seq.on_replayed("pm", second, 11, 70) is None and seq.hole_ns("pm") is None
    assert seq.on_replayed("pm", second, 13, 80) == 61, "fills after the snapshot's number dropped"
    assert seq.gaps == 3


# --- venue positions against the journal, pure ----------------------------------------------


def snapshot(yes: int, no: int) -> VenuePositions:
    return VenuePositions(venue="polymarket", ts_ns=0,
                          positions=(MarketPosition(market="m1", position_yes=yes,
                                                    position_no=no, net=yes - no),))


@pytest.mark.parametrize(("checks", "persistent"), [
    # (venue yes, venue no, journal yes, journal fills) per check
    ([(500, 0, 500, 3), (500, 0, 500, 3)], [[], []]),
    ([(600, 0, 500, 3), (600, 0, 500, 3)], [[], ["m1"]]),  # a lost fill: stays apart
    ([(600, 0, 500, 3), (700, 0, 600, 4)], [[], []]),  # it traded in between: no verdict
    ([(600, 0, 500, 3), (500, 0, 500, 3), (600, 0, 500, 3)], [[], [], []]),
    ([(600, 0, 500, 3), (650, 0, 500, 3)], [[], []]),  # a different difference
    # trading throughout, the same offset at every check: an offset, halted at the fifth
    ([(600 + k * 100, 0, 500 + k * 100, 3 + k) for k in range(5)], [[], [], [], [], ["m1"]]),
    # trading, in-flight differences that change from check to check: never
    ([(600, 0, 500, 3), (720, 0, 600, 4), (800, 0, 700, 5), (900, 0, 760, 6)],
     [[], [], [], []]),
    # an offset broken by one clean check starts its count again
    ([(600, 0, 500, 3), (700, 0, 600, 4), (700, 0, 700, 5), (800, 0, 700, 6),
      (900, 0, 800, 7), (1000, 0, 900, 8), (1100, 0, 1000, 9), (1200, 0, 1100, 10)],
     [[]] * 7 + [["m1"]]),
])
def test_only_a_difference_that_stays_put_persists(
        checks: list[tuple[int, int, int, int]], persistent: list[list[str]]) -> None:
    seen: dict[str, venue_check.Seen] = {}
    for (v_yes, v_no, j_yes, fills), want in zip(checks, persistent):
        got = venue_check.check(snapshot(v_yes, v_no),
                                {"m1": Position(position_yes=j_yes, net=j_yes, fills=fills)},
                                seen, tolerance=0)
        seen = got.seen
        assert list(got.persistent) == want
        assert ("m1" in got.differ) == (v_yes != j_yes)


@given(deltas=st.lists(st.integers(-300, 300), min_size=1, max_size=12))
def test_a_trading_market_is_halted_only_on_a_difference_held_for_steady_checks(
        deltas: list[int]) -> None:
    """Every check follows a fill; the venue is off the journal by deltas[i]. A verdict
    comes exactly when the same nonzero difference is on its STEADY_CHECKS-th check in a
    row."""
    seen: dict[str, venue_check.Seen] = {}
    run = 0
    for i, delta in enumerate(deltas):
        run = run + 1 if i and delta == deltas[i - 1] else 1
        journal = 1000 + 100 * i
        got = venue_check.check(snapshot(journal + delta, 0),
                                {"m1": Position(position_yes=journal, net=journal, fills=i)},
                                seen, tolerance=0)
        seen = got.seen
        assert (got.persistent == {"m1": "steady"}) == (
            delta != 0 and run >= venue_check.STEADY_CHECKS)


def test_risk_halts_a_market_whose_venue_position_stays_apart(tmp_path: Path) -> None:
    cfg = Config(stack=StackConfig(run_dir=str(tmp_path)), risk=RiskConfig(),
                 markets=[MarketConfig(id="m1", venue="polymarket", venue_market="0x1",
                                       yes_token="Y", no_token="N")])
    journal = Journal(tmp_path / "j.sqlite")
    try:
        gate = RiskGate(cfg, journal)
        assert gate.compare_venue_positions(snapshot(600, 0)) == []
        cmds = gate.compare_venue_positions(snapshot(600, 0))
        assert [(c.market, c.reason) for c in cmds if isinstance(c, CancelMarket)] == [
            ("m1", "position_mismatch")]
        assert gate.sw.halted == {"m1": "position_mismatch"}
    finally:
        journal.close()


# --- over real sockets ----------------------------------------------------------------------


def test_risk_asks_the_executor_to_replay_when_a_fill_or_the_tail_was_dropped(
        run_dir: Path, zmq_sockets: Sockets) -> None:
    cfg = Config(stack=StackConfig(run_dir=str(run_dir)),
                 markets=[MarketConfig(id="m1", venue="kalshi", venue_market="M1")])

    async def scenario() -> None:
        enc = msgspec.msgpack.Encoder()
        dec = msgspec.msgpack.Decoder(StateChannel)
        events = zmq_sockets.open(zmq.PUB)
        events.bind(endpoint(cfg, "events", "kalshi"))
        state = zmq_sockets.open(zmq.SUB)
        state.setsockopt(zmq.SUBSCRIBE, topics.position("m1"))
        state.setsockopt(zmq.SUBSCRIBE, topics.replay("kalshi"))
        stop, ready = asyncio.Event(), asyncio.Event()
        actor = RiskActor(cfg, SECRET)
        task = asyncio.create_task(actor.run(stop, ready))

        def fill(n: int) -> Fill:
            return Fill(venue="kalshi", market="m1", trade_id=f"t{n}", order_id="o1",
                        outcome="YES", side="BUY", price=4000, size=100, fee=0, ts_venue_ms=0,
                        ts_recv_ns=0, pub_seq=n)

        async def publish(msg: msgspec.Struct, topic: bytes = topics.events("kalshi", "m1")) -> None:
            await events.send_multipart((topic, enc.encode(msg)))

        async def next_state(kind: type, timeout_s: float = 5.0) -> msgspec.Struct:
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                if await state.poll(50):
                    msg = dec.decode((await state.recv_multipart())[1])
                    if isinstance(msg, kind):
                        return msg
            raise AssertionError(f"no {kind.__name__} within {timeout_s}s")

        try:
            await asyncio.wait_for(ready.wait(), 5)
            state.connect(endpoint(cfg, "state"))
            for _ in range(100):  # slow joiner: the first fill resent until risk applies it
                await publish(fill(1))
                if await state.poll(50):
                    if isinstance(dec.decode((await state.recv_multipart())[1]), PositionUpdate):
                        break
            else:
                raise AssertionError("risk never took the first fill")
            t2 = time.time_ns()
            await publish(fill(2))
            await publish(fill(4))  # 3 dropped on the way
            req = await next_state(ReplayRequest)
            assert isinstance(req, ReplayRequest) and req.venue == "kalshi"
            # from when risk had fill 2, the last unbroken one (the executor adds its margin)
            assert t2 <= req.since_ns <= time.time_ns() and "dropped fill" in req.reason
            await publish(Heartbeat(sender="executor-kalshi", role="executor", seq=1,
                                    ts_ns=time.time_ns(), pub_seq=6),  # 5 and 6 dropped
                          topics.heartbeat("executor"))
            req = await next_state(ReplayRequest)
            assert isinstance(req, ReplayRequest) and "newest fills" in req.reason
            assert actor.fill_sequence.gaps == 2 and req.id > 0
            hole = actor.fill_sequence.hole_ns("kalshi")
            assert hole is not None and hole <= t2 + 10**9
            # the replay (fills 7, 8) and its closing snapshot arrive whole: the hole closes
            await publish(fill(7))
            await publish(fill(8))
            await publish(VenuePositions(venue="kalshi", ts_ns=time.time_ns(), positions=(),
                                         gross=False, replay_id=req.id, pub_seq=8),
                          topics.events("kalshi", ""))
            await eventually_async(lambda: actor.fill_sequence.hole_ns("kalshi") is None)
        finally:
            stop.set()
            await asyncio.wait_for(task, 5)

    asyncio.run(scenario())


def test_the_executor_replays_its_fill_journal_when_risk_asks(tmp_path: Path,
                                                              zmq_sockets: Sockets) -> None:
    async def scenario() -> None:
        with ready_actor(tmp_path, FakeVenue()) as actor:
            actor.startup_done.set()
            fill = Fill(venue="polymarket", market="m1", trade_id="t1", order_id="o1",
                        outcome="YES", side="BUY", price=4800, size=100, fee=0, ts_venue_ms=1,
                        ts_recv_ns=1)
            actor.fill_journal.record(fill, time.time_ns())
            loop = asyncio.create_task(actor._state_loop())
            risk = zmq_sockets.adopt(bus.pub(endpoint(actor._cfg, "state")))
            events = zmq_sockets.adopt(bus.sub([endpoint(actor._cfg, "events", "polymarket")],
                                               [topics.EVENTS_ALL]))
            decode = msgspec.msgpack.Decoder(EventChannel).decode
            try:
                before = actor.risk_link.replayed_fills

                async def ask() -> bool:
                    await risk.send_multipart((topics.replay("polymarket"), msgspec.msgpack.encode(
                        ReplayRequest(venue="polymarket", since_ns=time.time_ns(),
                                      reason="a dropped fill", id=7))))
                    await asyncio.sleep(0.05)
                    return actor.risk_link.replayed_fills > before
                for _ in range(100):  # slow joiner: ask until the SUB is connected
                    if await ask():
                        break
                await eventually_async(lambda: actor.risk_link.replayed_fills > before)
                assert actor.risk_link.replays >= 1
                # the replayed fill is numbered, and the snapshot after it closes request 7
                seen: list[object] = []
                for _ in range(50):  # our SUB is a slow joiner too: ask until it hears a replay
                    while await events.poll(100):
                        seen.append(decode((await events.recv_multipart())[1]))
                    if any(isinstance(m, VenuePositions) for m in seen):
                        break
                    seen.clear()
                    await ask()
                first = next(k for k, m in enumerate(seen) if isinstance(m, VenuePositions))
                fills = [m for m in seen[:first] if isinstance(m, Fill)]
                closing = seen[first]
                assert isinstance(closing, VenuePositions) and closing.replay_id == 7, seen
                assert fills and fills[-1].pub_seq > 0 and closing.pub_seq == fills[-1].pub_seq, seen
            finally:
                loop.cancel()
                await asyncio.gather(loop, return_exceptions=True)

    asyncio.run(scenario())


def test_a_late_read_replays_from_the_fills_venue_time_not_risks_clock() -> None:
    """Risk reading a backlog (or an old replayed fill) late: the replay must start at the
    venue time of the last good fill, not at when risk got round to reading it."""
    seq = FillSequence()
    assert seq.on_fill("pm", 1, now_ns=1_000, venue_ns=100) is None
    assert seq.on_fill("pm", 3, now_ns=2_000, venue_ns=200) == 100
    assert seq.on_fill("k", 1, now_ns=1_000) is None  # no venue time: risk's clock
    assert seq.on_fill("k", 3, now_ns=2_000) == 1_000


def test_an_unanswered_replay_is_asked_again() -> None:
    seq = FillSequence()
    seq.on_fill("pm", 1, 10)
    assert seq.on_fill("pm", 3, 20) == 10
    seq.request_id("pm", now_ns=20)
    assert seq.overdue(now_ns=25, after_ns=10) == [], "asked again too soon"
    assert seq.overdue(now_ns=30, after_ns=10) == [("pm", 10)], "the lost request never re-sent"
    again = seq.request_id("pm", now_ns=30)
    assert seq.on_replayed("pm", again, 3, 31) is None and seq.overdue(now_ns=99, after_ns=10) == []
