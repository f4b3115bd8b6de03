"""Quiet position checks: a market with no fill in flight around the venue read is exact.

Before, a busy market whose venue lost a fill was halted only after STEADY_CHECKS checks
in a row showed one difference (24-56 s at the chaos test's 2 s checks, five minutes at
the default 60 s). The executor now marks each market of a snapshot quiet when none of
its fills came near the read (services/executor/fill_activity.py), and risk halts on two
quiet checks alike, however much the market trades between them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.messages import Fill, MarketPosition, VenuePositions
from services.executor.adapter import OrderUpdate
from services.executor.fill_activity import UNSETTLED_MAX, UNSETTLED_MAX_NS, FillActivity
from services.executor.polymarket_user import Identity, UserChannel
from services.executor.replay import PositionSnapshots, carried
from services.executor.state import ExecutorState
from services.risk import venue_check
from services.risk.fill_sequence import FillSequence
from services.risk.position import Position
from tests.support.executor import FakeVenue, ready_actor


def fill(market: str, trade: str = "t1") -> Fill:
    return Fill(venue="polymarket", market=market, trade_id=trade, order_id="o1",
                outcome="YES", side="BUY", price=5_000, size=100, fee=0, ts_venue_ms=0,
                ts_recv_ns=0)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000_000

    def __call__(self) -> int:
        return self.now


# --- FillActivity, pure ---------------------------------------------------------------------


def test_a_market_is_quiet_only_with_no_fill_since_the_window_opened() -> None:
    clock = Clock()
    act = FillActivity(clock)
    assert act.quiet(["m1", "m2"], clock.now) == {"m1", "m2"}, "never filled: quiet"
    act.note(fill("m1"))
    assert act.quiet(["m1", "m2"], clock.now) == {"m2"}, "a fill at the window's start"
    assert act.quiet(["m1", "m2"], clock.now + 1) == {"m1", "m2"}, "a fill before the window"
    assert act.quiet(["m1"], clock.now - 1) == set()


def test_an_unsettled_trade_keeps_its_market_busy_until_it_settles_or_expires() -> None:
    clock = Clock()
    act = FillActivity(clock)
    act.note(fill("m1", "t1"), settled=False)
    act.note(fill("m1", "t2"), settled=False)
    clock.now += 10_000_000_000
    assert act.quiet(["m1"], clock.now - 1) == set(), "two trades MATCHED, none CONFIRMED"
    act.note(fill("m1", "t1"))
    clock.now += 1
    assert act.quiet(["m1"], clock.now) == set(), "t2 still unsettled"
    act.note(fill("m1", "t2"))
    clock.now += 1
    assert act.quiet(["m1"], clock.now) == {"m1"}
    act.note(fill("m1", "t3"), settled=False)  # its CONFIRMED is never seen
    clock.now += UNSETTLED_MAX_NS + 1
    assert act.quiet(["m1"], clock.now) == {"m1"}, "forgotten after UNSETTLED_MAX_NS"


class Statuses:
    """A user-stream sink that notes whether each fill event was settled."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, bool]] = []

    async def on_fill(self, fill: Fill, *, settled: bool = True) -> None:
        self.seen.append((fill.trade_id, settled))

    async def on_fill_failed(self, fill: Fill) -> None:
        self.seen.append((fill.trade_id, True))

    async def on_order(self, update: OrderUpdate) -> None:
        return None

    def is_ours(self, order_id: str) -> bool:
        return order_id == "0xour"


def test_a_polymarket_trade_is_unsettled_until_confirmed() -> None:
    """Through the real user channel: MATCHED and MINED leave the trade unsettled; the
    websocket's CONFIRMED and REST's TRADE_STATUS_CONFIRMED settle it."""
    def row(status: str, trade: str = "t1") -> dict[str, Any]:
        return {"event_type": "trade", "type": "TRADE", "id": trade, "asset_id": "Y",
                "side": "BUY", "size": "10", "price": "0.5", "status": status,
                "taker_order_id": "0xour", "owner": "k", "trader_side": "TAKER",
                "fee_rate_bps": "0", "timestamp": "1703875200000"}

    async def fetch(after_s: int) -> list[Any]:
        return [row("TRADE_STATUS_CONFIRMED", "t2")]

    sink = Statuses()
    chan = UserChannel("ws://unused", auth={}, condition_ids=[], me=Identity(api_key="k"),
                       assets={"Y": ("m1", "YES")}, fetch_trades=fetch)
    for status in ("MATCHED", "MINED", "CONFIRMED"):
        asyncio.run(chan.dispatch(json.dumps([row(status)]), 1, sink))
    asyncio.run(chan.recover(sink))
    assert sink.seen == [("t1", False), ("t1", False), ("t1", True), ("t2", True)]


# --- the executor's snapshots ----------------------------------------------------------------


class Venue:
    """Positions of m1 and m2; a fill of `during` arrives while the venue is being read."""

    def __init__(self, activity: FillActivity, during: str = "") -> None:
        self.activity = activity
        self.during = during

    async def positions(self) -> list[MarketPosition]:
        if self.during:
            self.activity.note(fill(self.during))
        return [MarketPosition("m1", 100, 0, 100), MarketPosition("m2", 0, 200, -200)]


class Publisher:
    pub_seq = 7

    def __init__(self) -> None:
        self.sent: list[Any] = []

    async def publish(self, topic: bytes, msg: Any) -> None:
        self.sent.append(msg)


async def snap(quiet_ms: int, *, during: str = "", after: str = "", before: str = "",
               meanwhile: Callable[[FillActivity], None] | None = None) -> VenuePositions:
    """One snapshot; fills of `before` / `during` / `after` come before the read, during it
    and during the wait after it; `meanwhile` notes its own fills during the wait."""
    loop = asyncio.get_running_loop()
    clock = lambda: int(loop.time() * 1e9)  # noqa: E731
    activity = FillActivity(clock)
    if before:
        activity.note(fill(before))
    pub = Publisher()
    snaps = PositionSnapshots(Venue(activity, during), pub,  # type: ignore[arg-type]
                              ExecutorState("polymarket", [], lambda: 0), activity,
                              quiet_ms=quiet_ms, clock_ns=clock, wall_ns=lambda: 0)
    task = asyncio.create_task(snaps.publish(replay_id=3))
    await asyncio.sleep(quiet_ms / 2000)
    if after:
        activity.note(fill(after))
    if meanwhile is not None:
        meanwhile(activity)
    await task
    (msg,) = pub.sent
    assert isinstance(msg, VenuePositions) and msg.replay_id == 3 and msg.pub_seq == 7
    return msg


@pytest.mark.parametrize(("kw", "quiet"), [
    ({}, {"m1", "m2"}),
    ({"during": "m2"}, {"m1"}),  # a fill while the venue was read
    ({"after": "m1"}, {"m2"}),  # one that arrives after the read, inside the window
    ({"before": "m1"}, {"m2"}),  # one just before the read
])
def test_a_snapshot_marks_the_markets_no_fill_came_near(
        kw: dict[str, str], quiet: set[str]) -> None:
    msg = asyncio.run(snap(100, **kw))
    assert {p.market for p in msg.positions if p.quiet} == quiet
    assert [(p.market, p.net) for p in msg.positions] == [("m1", 100), ("m2", -200)]


def test_fills_that_arrive_while_a_snapshot_waits_are_added_to_it() -> None:
    """Risk applies them before it reads the snapshot, so the venue's figures must carry
    them too; a repeated status (moved=0) adds nothing."""
    def fills(activity: FillActivity) -> None:
        activity.note(fill("m1", "t1"), moved=1)  # BUY YES 1.00
        activity.note(fill("m1", "t1"))  # its MINED
        no = msgspec.structs.replace(fill("m2", "t2"), outcome="NO", side="SELL")
        activity.note(no, moved=1)

    msg = asyncio.run(snap(50, meanwhile=fills))
    assert msg.positions == (MarketPosition("m1", 200, 0, 200), MarketPosition("m2", 0, 100, -100))


@pytest.mark.parametrize(("pos", "moved", "gross", "want"), [
    (MarketPosition("m", 300, 100, 200), [50, -20], True, MarketPosition("m", 350, 80, 270)),
    (MarketPosition("m", 0, 100, -100), [50, 0], False, MarketPosition("m", 0, 50, -50)),
    (MarketPosition("m", 0, 100, -100), [50, -200], False, MarketPosition("m", 150, 0, 150)),
    (MarketPosition("m", 7, 0, 7), None, True, MarketPosition("m", 7, 0, 7, quiet=True)),
])
def test_carried_adds_gross_or_net(pos: MarketPosition, moved: list[int] | None, gross: bool,
                                   want: MarketPosition) -> None:
    assert carried(pos, moved, moved is None, gross=gross) == want


def test_with_no_quiet_window_no_market_is_quiet() -> None:
    msg = asyncio.run(snap(0))
    assert not any(p.quiet for p in msg.positions)


# --- risk's verdict ---------------------------------------------------------------------------


def snapshot(yes: int, *, quiet: bool) -> VenuePositions:
    return VenuePositions(venue="polymarket", ts_ns=0, positions=(
        MarketPosition(market="m1", position_yes=yes, position_no=0, net=yes, quiet=quiet),))


@pytest.mark.parametrize(("checks", "whole", "verdicts"), [
    # (venue - journal, quiet) per check; the market fills before every check
    ([(100, True), (100, True)], True, [False, True]),
    ([(100, True), (100, True)], False, [False, False]),  # risk may lack published fills
    ([(100, True), (37, False), (-12, False), (100, True)], True, [False, False, False, True]),
    ([(100, True), (120, True)], True, [False, False]),  # two exact, different: no verdict
    ([(100, True), (0, True), (100, True)], True, [False, False, False]),  # reset by a match
    ([(100, False), (100, True), (100, True)], True, [False, False, True]),
])
def test_two_quiet_checks_alike_halt_a_trading_market(
        checks: list[tuple[int, bool]], whole: bool, verdicts: list[bool]) -> None:
    seen: dict[str, venue_check.Seen] = {}
    for i, ((delta, quiet), want) in enumerate(zip(checks, verdicts)):
        journal = 1_000 + 100 * i
        got = venue_check.check(snapshot(journal + delta, quiet=quiet),
                                {"m1": Position(position_yes=journal, net=journal, fills=i)},
                                seen, tolerance=0, whole=whole)
        seen = got.seen
        assert got.persistent == ({"m1": "quiet"} if want else {}), f"check {i}"


@given(checks=st.lists(st.tuples(st.integers(-3, 3), st.booleans()), min_size=1, max_size=12))
def test_the_quiet_rule_halts_exactly_on_two_quiet_differences_alike(
        checks: list[tuple[int, bool]]) -> None:
    """The market fills before every check (so the no-fill arm never acts) and the
    differences change often enough that the steady arm is checked too."""
    seen: dict[str, venue_check.Seen] = {}
    last_quiet: int | None = None
    run = 0
    for i, (d, quiet) in enumerate(checks):
        delta = d * 50
        run = run + 1 if i and delta == checks[i - 1][0] * 50 else 1
        journal = 1_000 + 100 * i
        got = venue_check.check(snapshot(journal + delta, quiet=quiet),
                                {"m1": Position(position_yes=journal, net=journal, fills=i)},
                                seen, tolerance=0, whole=True)
        seen = got.seen
        want = ({} if delta == 0 else {"m1": "quiet"} if quiet and last_quiet == delta
                else {"m1": "steady"} if run >= venue_check.STEADY_CHECKS else {})
        assert got.persistent == want
        if delta == 0:
            last_quiet = None
        elif quiet:
            last_quiet = delta


# --- the wiring: the executor's sink and risk's fill sequence ---------------------------------


def test_the_executors_sink_notes_fills_settled_and_moved(tmp_path: Path) -> None:
    """A new fill moves the carried holdings once; its later statuses only settle it; a
    reversal of a published fill moves them back."""
    async def run(actor: Any) -> None:
        activity = actor.sink.activity
        moved = activity.watch()
        f = msgspec.structs.replace(fill("m1"), venue="polymarket")
        await actor.sink.on_fill(f, settled=False)  # MATCHED
        await actor.sink.on_fill(f, settled=False)  # MINED: seen before
        assert moved == {"m1": [100, 0]}
        assert activity.quiet(["m1"], 0) == set(), "unsettled"
        await actor.sink.on_fill(f, settled=True)  # CONFIRMED
        assert moved == {"m1": [100, 0]}
        await actor.sink.on_fill_failed(f)
        assert moved == {"m1": [0, 0]}

    with ready_actor(tmp_path, FakeVenue()) as actor:
        asyncio.run(run(actor))


def test_risk_judges_quiet_markets_only_with_every_numbered_fill() -> None:
    seq = FillSequence()
    assert not seq.whole("pm", 0), "never heard from the executor"
    assert seq.on_fill("pm", 1, 10) is None and seq.on_fill("pm", 2, 20) is None
    assert seq.whole("pm", 2)
    assert not seq.whole("pm", 3), "the snapshot was sent after a fill risk has not seen"
    assert seq.on_fill("pm", 4, 30) is not None  # 3 dropped: a hole
    assert not seq.whole("pm", 4)
    rid = seq.request_id("pm", 30)
    assert seq.on_replayed("pm", rid, 5, 40) is not None  # the replay's own fill 5 missed
    assert not seq.whole("pm", 5)
    rid = seq.request_id("pm", 40)
    assert seq.on_fill("pm", 6, 50) is None and seq.on_replayed("pm", rid, 6, 60) is None
    assert seq.whole("pm", 6), "a replay that arrived whole closes the hole"


def test_unsettled_trades_are_bounded_without_snapshots() -> None:
    clock = Clock()
    act = FillActivity(clock)
    for k in range(UNSETTLED_MAX + 10):
        act.note(fill("m1", f"t{k}"), settled=False)
    assert len(act._unsettled) == UNSETTLED_MAX
    assert ("t0", "o1") not in act._unsettled and (f"t{UNSETTLED_MAX + 9}", "o1") in act._unsettled


def test_two_snapshots_waiting_at_once_each_carry_what_arrived_in_their_own_wait() -> None:
    act = FillActivity(Clock())
    first, second = act.watch(), act.watch()
    act.unwatch(second)  # equal to `first` (both empty): only `second` may stop
    act.note(fill("m1"), moved=1)
    assert first == {"m1": [100, 0]} and second == {}
    act.unwatch(first)
    act.note(fill("m1", "t2"), moved=1)
    assert first == {"m1": [100, 0]}
