"""A tick change seen on the md bus re-expresses the executor's ladder at once.

Real bus sockets and the hand-written FakeVenue: after a BookSnapshot with a new tick
the off-grid orders are cancelled and the last ladder is placed again on the new grid
(bids down, asks up) without any new intent; a market cancelled by risk is not revived.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import msgspec

from common import bus, topics
from common.config import Config, endpoint
from common.messages import BookSnapshot, CancelMarket, Heartbeat, Level
from services.executor.__main__ import market_tokens
from services.executor.process import ExecutorActor
from tests.support.executor import SECRET, FakeVenue, config, intent
from tests.support.wait import eventually_async


def book(market: str, tick: int, seq: int) -> BookSnapshot:
    return BookSnapshot(venue="polymarket", market=market, seq=seq,
                        ts_recv_ns=time.monotonic_ns(), ts_venue_ms=0, tick=tick,
                        bids=(Level(4000, 100),), asks=(Level(6000, 100),))


def test_tick_change_reexpresses_the_last_ladder(tmp_path: Path) -> None:
    asyncio.run(_scenario(config(tmp_path)))


async def _scenario(cfg: Config) -> None:
    venue = FakeVenue()
    actor = ExecutorActor(cfg, venue, market_tokens(cfg, "polymarket"), secret=SECRET)
    enc = msgspec.msgpack.Encoder()
    state = bus.pub(endpoint(cfg, "state"))
    md = bus.pub(endpoint(cfg, "md", "polymarket"))
    push = bus.push([endpoint(cfg, "commands", "polymarket")], send_timeout_ms=1000)

    async def risk() -> None:
        seq = 0
        while True:
            seq += 1
            hb = Heartbeat(sender="risk", role="risk", seq=seq, ts_ns=time.time_ns())
            await state.send_multipart([topics.heartbeat("risk"), enc.encode(hb)])
            await asyncio.sleep(0.05)

    async def publish(msg: BookSnapshot) -> None:
        await md.send_multipart([topics.md("polymarket", msg.market), enc.encode(msg)])

    stop = asyncio.Event()
    run = asyncio.create_task(actor.run(stop))
    beat = asyncio.create_task(risk())
    try:
        await eventually_async(lambda: actor.state.risk_ok and actor.state.reconciled)
        await asyncio.sleep(0.2)  # the executor's md SUB is connected
        assert await bus.send_push(push, enc.encode(intent("m1", [(4700, 1000)], [(5300, 1000)])),
                                   process="t", channel="commands")
        assert await bus.send_push(push, enc.encode(intent("m2", [(4500, 1000)], [(5500, 1000)])),
                                   process="t", channel="commands")
        await eventually_async(lambda: len(venue.open) == 4)
        places = venue.count("place")

        # m1's grid becomes 0.02: its orders (0.47 / NO 0.47) are off it; no new intent comes
        await publish(book("m1", 200, 1))
        await eventually_async(lambda: venue.count("place") == places + 1)
        m1 = sorted((o.token, o.price) for o in venue.open.values() if o.token in ("Y1", "N1"))
        assert m1 == [("N1", 4600), ("Y1", 4600)]  # bid 0.47 -> 0.46, ask 0.53 -> 0.54
        assert actor.state.markets["m1"].tick == 200

        # risk cancels m2; a later tick change there must not bring the ladder back
        await bus.send_push(push, enc.encode(CancelMarket(
            venue="polymarket", market="m2", reason="halt", risk_seq=9,
            expires_at_ns=time.time_ns() + 2_000_000_000)), process="t", channel="commands")
        await eventually_async(lambda: not any(o.token in ("Y2", "N2") for o in venue.open.values()))
        places = venue.count("place")
        await publish(book("m2", 500, 1))
        await eventually_async(lambda: actor.state.markets["m2"].tick == 500)
        await asyncio.sleep(0.2)
        assert venue.count("place") == places
    finally:
        stop.set()
        await asyncio.wait_for(run, 10)
        beat.cancel()
        await asyncio.gather(beat, return_exceptions=True)
        for sock in (state, md, push):
            sock.close(linger=0)
