"""Reference feeds (issue 5): the wire parser, the reference actor over a real websocket and
real ZeroMQ, the simulator's walk and follower probability, and the quoter taking a price."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest
from websockets.asyncio.server import ServerConnection, serve

from common import bus, metrics, topics
from common.config import Config, MarketConfig, SimReferenceConfig, StackConfig, endpoint, parse
from common.errors import ConfigError
from common.messages import BookSnapshot, Heartbeat, Level, MarketData, ReferencePrice
from services.quoter.actor import Quoter
from services.reference.process import ReferenceActor
from services.reference.wire import Malformed
from services.reference.wire import parse as parse_tick
from services.venue_sim.reference import ReferenceWalk, above_probability
from tests.support.wait import eventually_async


def test_wire_accepts_ticks_and_ignores_other_feeds_and_keepalives() -> None:
    msg = parse_tick('{"feed": "BTC-USD", "price": 97000.5, "ts": 1700000000123}', "BTC-USD", 5)
    assert msg == ReferencePrice(feed="BTC-USD", ts_ns=1_700_000_000_123_000_000, price=97000.5)
    assert parse_tick('{"feed": "BTC-USD", "price": 1}', "BTC-USD", 5).ts_ns == 5  # type: ignore[union-attr]
    assert parse_tick('{"feed": "ETH-USD", "price": 3000, "ts": 1}', "BTC-USD", 5) is None
    assert parse_tick("PONG", "BTC-USD", 5) is None


@pytest.mark.parametrize("frame", [
    "{garbage", '{"price": 1, "ts": 1}', '{"feed": "BTC-USD", "price": "high"}',
    '{"feed": "BTC-USD", "price": -1, "ts": 1}', '{"feed": "BTC-USD", "price": 0}',
    '{"feed": "BTC-USD", "price": 1, "ts": -5}', "[1, 2]", b"\xff\xfe",
])
def test_wire_rejects_malformed_messages(frame: str | bytes) -> None:
    with pytest.raises(Malformed):
        parse_tick(frame, "BTC-USD", 5)


def test_config_is_strict_about_feeds() -> None:
    text = '[[references]]\nfeed = "BTC-USD"\nurl = "ws://127.0.0.1:1/ref/ws"\n'
    assert parse(text).references[0].silence_timeout_ms == 5000
    with pytest.raises(ConfigError, match=r"references\[0\].url"):
        parse('[[references]]\nfeed = "BTC-USD"\nurl = "http://x"\n')
    with pytest.raises(ConfigError, match=r"duplicate reference feed .*references\[1\].feed"):
        parse(text + text)
    market = ('[[markets]]\nid = "m"\nvenue = "kalshi"\nvenue_market = "M"\n'
              'reference = "ETH-USD"\n')
    with pytest.raises(ConfigError, match=r"not a \[\[references\]\] feed .*markets\[0\].reference"):
        parse(text + market)


def test_actor_publishes_prices_drops_garbage_and_reconnects(tmp_path: Path) -> None:
    asyncio.run(_actor_scenario(tmp_path))


async def _actor_scenario(tmp_path: Path) -> None:
    scripts = [
        ['{"feed":"BTC-USD","price":100.5,"ts":1000}', "{garbage",
         '{"feed":"BTC-USD","price":-3,"ts":1001}', '{"feed":"ETH-USD","price":7,"ts":1002}',
         '{"feed":"BTC-USD","price":101.25,"ts":1003}'],
        ['{"feed":"BTC-USD","price":99.0,"ts":2000}'],
    ]
    conns = 0

    async def handler(ws: ServerConnection) -> None:
        nonlocal conns
        conns += 1
        for frame in scripts.pop(0) if scripts else []:
            await ws.send(frame)
        if conns == 1:
            await ws.close()  # the actor must reconnect
        else:
            await asyncio.sleep(10)

    dropped = metrics.REFERENCE_DROPPED.labels(feed="BTC-USD")
    dropped0 = dropped._value.get()
    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        cfg = parse(f'[stack]\nrun_dir = "{tmp_path}"\n[ingest]\nheartbeat_interval_ms = 50\n'
                    f'[[references]]\nfeed = "BTC-USD"\nurl = "ws://127.0.0.1:{port}/ref/ws"\n')
        sub = bus.sub([endpoint(cfg, "md", "reference")],
                      [topics.reference("BTC-USD"), topics.heartbeat("reference")])
        codec: bus.Codec[MarketData] = bus.Codec(MarketData, process="test", channel="md")
        got: list[object] = []

        async def reader() -> None:
            while True:
                got.append(codec.decode((await sub.recv_multipart())[1]))

        actor = ReferenceActor(cfg)
        stop = asyncio.Event()
        run = asyncio.create_task(actor.run(stop))
        read = asyncio.create_task(reader())
        try:
            await eventually_async(lambda: any(isinstance(m, ReferencePrice) and m.price == 99.0 for m in got))
            prices = [m.price for m in got if isinstance(m, ReferencePrice)]
            # In order; the heartbeat may repeat the newest one for late joiners.
            distinct = [p for i, p in enumerate(prices) if i == 0 or p != prices[i - 1]]
            assert distinct[-3:] == [100.5, 101.25, 99.0] or distinct == [101.25, 99.0]
            assert dropped._value.get() - dropped0 == 2
            hb = [m for m in got if isinstance(m, Heartbeat)]
            assert hb and hb[0].role == "reference" and hb[0].markets == ("BTC-USD",)
            assert conns == 2
        finally:
            stop.set()
            await run
            read.cancel()
            sub.close(linger=0)


def test_sim_walk_is_seeded_and_lags() -> None:
    cfg = SimReferenceConfig(feed="X", start_price=100.0, volatility=0.01, step_ms=100, lag_ms=300)
    a, b = ReferenceWalk(cfg, 7, 0), ReferenceWalk(cfg, 7, 0)
    path = [a.step(100 * (i + 1)) for i in range(10)]
    assert path == [b.step(100 * (i + 1)) for i in range(10)]
    assert path != [ReferenceWalk(cfg, 8, 0).step(100 * (i + 1)) for i in range(10)]
    assert a.lagged(1000) == path[6]  # the price published at 700 ms, 300 ms before 1000
    assert a.lagged(1050) == path[6] and a.lagged(1100) == path[7]


def test_binary_probability() -> None:
    assert above_probability(100.0, 100.0, 0.01, 100.0) == 0.5
    up = above_probability(101.0, 100.0, 0.001, 100.0)  # ln(1.01)/0.01 = 0.995 sd
    assert up == pytest.approx(0.8401, abs=1e-4)
    assert above_probability(99.0, 100.0, 0.001, 100.0) == pytest.approx(0.1574, abs=1e-4)  # ln(0.99)/0.01 = -1.005 sd
    assert above_probability(101.0, 100.0, 0.0, 100.0) == 1.0
    assert above_probability(99.0, 100.0, 0.01, 0.0) == 0.0
    assert not math.isnan(above_probability(1e-9, 1e9, 1.0, 1e9))


def test_quoter_keeps_the_reference_and_steps_on_a_move(tmp_path: Path) -> None:
    cfg = Config(stack=StackConfig(run_dir=str(tmp_path)), markets=[
        MarketConfig(id="m0", venue="kalshi", venue_market="M0", reference="BTC-USD"),
        MarketConfig(id="m1", venue="kalshi", venue_market="M1"),
    ])
    q = Quoter(cfg, 0, 1)
    st, other = q.markets["m0"], q.markets["m1"]
    q.on_reference(ReferencePrice(feed="BTC-USD", ts_ns=10, price=97_000.0))
    assert st.reference == 97_000.0 and st.reference_ts_ns == 10 and not st.dirty  # no book yet
    book = BookSnapshot(venue="kalshi", market="m0", seq=1, ts_recv_ns=1, ts_venue_ms=1, tick=100,
                        bids=(Level(4000, 1000),), asks=(Level(4200, 1000),))
    q.on_book(book)
    st.dirty = False
    q.on_reference(ReferencePrice(feed="BTC-USD", ts_ns=20, price=97_000.0))  # a repeat
    assert not st.dirty and st.reference_ts_ns == 20
    q.on_reference(ReferencePrice(feed="BTC-USD", ts_ns=15, price=1.0))  # older: ignored
    assert st.reference == 97_000.0
    q.on_reference(ReferencePrice(feed="BTC-USD", ts_ns=30, price=97_100.0))
    assert st.dirty and st.reference == 97_100.0
    q.on_reference(ReferencePrice(feed="ETH-USD", ts_ns=40, price=1.0))
    assert other.reference is None and st.reference == 97_100.0
