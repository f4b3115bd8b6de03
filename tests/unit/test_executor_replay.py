"""Fills published while no risk listens reach risk when its heartbeats (re)start.

Real bus sockets around the executor actor (fake venue from test_executor_actor): the
test plays risk with a state PUB (heartbeats) and an events SUB that exists only while
"risk" is up. Fills enter through the actor's user-stream sink (`on_fill`), as the
venue's private stream would deliver them.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import msgspec

from common import bus, topics
from common.config import Config, endpoint, parse
from common.messages import EventChannel, Fill, FillReversal, Heartbeat, VenuePositions
from services.executor.__main__ import market_tokens
from services.executor.fill_journal import FillJournal
from services.executor.polymarket_user import Identity, UserChannel
from services.executor.process import ExecutorActor
from tests.support.executor import SECRET, FakeVenue
from tests.support.wait import eventually_async


def config(run_dir: Path) -> Config:
    return parse(f"""
[stack]
run_dir = "{run_dir}"
[executor]
risk_timeout_ms = 300
report_interval_ms = 5000
fill_replay_margin_ms = 0
[risk]
heartbeat_interval_ms = 50
[[markets]]
id = "m1"
venue = "polymarket"
venue_market = "0xc1"
yes_token = "Y1"
no_token = "N1"
""")


def fill(n: int) -> Fill:
    return Fill(venue="polymarket", market="m1", trade_id=f"t{n}", order_id=f"o{n}",
                outcome="YES", side="BUY", price=4800, size=100 * n, fee=0,
                ts_venue_ms=time.time_ns() // 1_000_000, ts_recv_ns=time.monotonic_ns())


class Risk:
    """Heartbeats on a state PUB; an events SUB only while `up`."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.state = bus.pub(endpoint(cfg, "state"))
        self.codec: bus.Codec[EventChannel] = bus.Codec(EventChannel, process="t",
                                                        channel="events")
        self.seq = 0
        self.beating = False
        self.got: list[object] = []
        self.sub: object | None = None
        self._reader: asyncio.Task[None] | None = None

    def up(self) -> None:
        self.got = []
        sub = bus.sub([endpoint(self.cfg, "events", "polymarket")], [topics.EVENTS_ALL])
        self.sub = sub

        async def read() -> None:
            while True:
                self.got.append(self.codec.decode((await sub.recv_multipart())[1]))

        self._reader = asyncio.create_task(read())

    async def down(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        if self.sub is not None:
            self.sub.close(linger=0)  # type: ignore[attr-defined]
        self.sub = self._reader = None

    async def beat(self) -> None:
        enc = msgspec.msgpack.Encoder()
        while True:
            if self.beating:
                self.seq += 1
                hb = Heartbeat(sender="risk", role="risk", seq=self.seq, ts_ns=time.time_ns())
                await self.state.send_multipart([topics.heartbeat("risk"), enc.encode(hb)])
            await asyncio.sleep(0.05)

    def fills(self) -> list[str]:
        return [m.trade_id for m in self.got if isinstance(m, (Fill, FillReversal))]

    def positions(self) -> int:
        return sum(isinstance(m, VenuePositions) for m in self.got)


def test_fills_made_while_risk_is_away_are_replayed(tmp_path: Path) -> None:
    asyncio.run(_scenario(config(tmp_path)))


async def _scenario(cfg: Config) -> None:
    actor = ExecutorActor(cfg, FakeVenue(), market_tokens(cfg, "polymarket"), secret=SECRET)
    risk = Risk(cfg)
    stop = asyncio.Event()
    beat = asyncio.create_task(risk.beat())
    run = asyncio.create_task(actor.run(stop))
    try:
        # 1. fills before risk ever existed: nothing published yet reaches anyone
        await eventually_async(lambda: actor.startup_done.is_set())
        await actor.sink.on_fill(fill(1))
        await actor.sink.on_fill(fill(2))
        await actor.sink.on_fill(fill(2))  # a duplicate from the venue is journaled once
        risk.up()
        await asyncio.sleep(0.2)
        assert risk.got == [] and actor.risk_link.replays == 0, "replayed before risk was heard"
        risk.beating = True
        await eventually_async(lambda: risk.positions() == 1)
        assert risk.fills() == ["t1", "t2"]
        # numbered after the two live publishes nobody heard: a replayed fill dropped at the
        # HWM shows as a gap (risk/fill_sequence.py)
        assert [m.pub_seq for m in risk.got if isinstance(m, Fill)] == [3, 4]

        # 2. risk dies (silence past risk_timeout_ms): fills in the gap are replayed, only them
        risk.beating = False
        await risk.down()
        await eventually_async(lambda: not actor.state.risk_ok)
        await actor.sink.on_fill(fill(3))
        risk.up()
        await asyncio.sleep(0.1)
        risk.seq = 0
        risk.beating = True
        await eventually_async(lambda: risk.positions() == 1)
        assert risk.fills() == ["t3"]

        # 3. a fast restart (no silence, seq counts from 1 again) also replays the gap
        risk.beating = False
        await risk.down()
        await actor.sink.on_fill(fill(4))
        risk.up()
        await asyncio.sleep(0.05)
        risk.seq = 0
        risk.beating = True
        await eventually_async(lambda: risk.positions() == 1)
        assert risk.fills() == ["t4"]
        assert actor.risk_link.replays == 3

        # 4. steady heartbeats replay nothing more
        await asyncio.sleep(0.4)
        assert risk.positions() == 1 and risk.fills() == ["t4"]
    finally:
        stop.set()
        await asyncio.wait_for(run, 10)
        beat.cancel()
        await asyncio.gather(beat, return_exceptions=True)
        await risk.down()
        risk.state.close(linger=0)


def test_fill_journal_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    now = time.time_ns()
    j = FillJournal(path, now_ns=now)
    f1, f2 = fill(1), fill(2)
    assert j.record(f1, now) and j.record(f2, now + 10) and not j.record(f1, now + 20)
    rev = FillReversal(venue="polymarket", market="m1", trade_id="t1", order_id="o1",
                       outcome="YES", side="BUY", price=4800, size=100, ts_ns=now + 30)
    j.record_reversal(rev)
    j.note_risk_seen(now + 5)
    j.close()
    j = FillJournal(path, now_ns=now + 40)
    try:
        assert j.since(now) == [f1, rev, f2]
        assert j.since(now + 1) == [f2]
        assert j.last_fill_ms() == max(f1.ts_venue_ms, f2.ts_venue_ms)
        assert j.risk_seen_ns() == now + 5
    finally:
        j.close()


def test_user_channel_recovers_from_the_journaled_horizon_at_first_connect() -> None:
    asked: list[int] = []

    async def fetch(after_s: int) -> list[object]:
        asked.append(after_s)
        return []

    async def go() -> None:
        ch = UserChannel("ws://127.0.0.1:1/user", auth={}, condition_ids=[],
                         me=Identity("k"), assets={}, fetch_trades=fetch)
        ch.resume_from(1_000)
        ch.resume_from(None)  # a fresh run dir: keeps the horizon
        await ch.recover(FakeVenue())  # type: ignore[arg-type]

    asyncio.run(go())
    assert asked == [1_000 - 5]
