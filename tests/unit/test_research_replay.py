"""The replayer over real ipc sockets: it plays nothing before its subscribers are in, so a
subscriber that connects late still gets the opening books (ZeroMQ's slow joiner)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
import pytest
import zmq

from common import bus, config, recording, topics
from common.messages import BookSnapshot, MarketData, MarketStatus
from research import runner
from services.recorder.replay import Replayer, ReplayError

MARKET = "m1"
TOPIC = topics.md("polymarket", MARKET)


def _setup(run_dir: Path) -> tuple[config.Config, Path]:
    cfg = config.parse(f'[stack]\nrun_dir = "{run_dir}/run"\n')
    data = runner.write_scenario("calm", 3, run_dir / "rec", {"duration_s": 2.0, "market": MARKET})
    return cfg, data


async def _late_subscriber(cfg: config.Config, replayer: Replayer,
                           delay_s: float) -> list[MarketData]:
    """Connect a SUB `delay_s` after the replay starts; collect md until the replay ends."""
    stop = asyncio.Event()
    task = asyncio.create_task(replayer.run(stop))
    await asyncio.sleep(delay_s)
    sock = bus.sub([config.endpoint(cfg, "md", "polymarket")], [TOPIC])
    dec = msgspec.msgpack.Decoder(MarketData)
    got: list[MarketData] = []
    try:
        while not (task.done() and not await sock.poll(200)):
            if await sock.poll(50):
                frames = await sock.recv_multipart(flags=zmq.NOBLOCK)
                got.append(dec.decode(frames[1]))
        await task
    finally:
        sock.close(linger=0)
    return got


def _recorded_books(data: Path) -> list[BookSnapshot]:
    dec = msgspec.msgpack.Decoder(MarketData)
    msgs = [dec.decode(r.payload) for r in recording.read(data)]
    return [m for m in msgs if isinstance(m, BookSnapshot)]


def test_a_late_subscriber_gets_every_record_from_the_first_book(run_dir: Path) -> None:
    cfg, data = _setup(run_dir)
    replayer = Replayer(cfg, data, speed=100.0, start_delay_s=0.05, subscribers=1, wait_s=5)
    got = asyncio.run(_late_subscriber(cfg, replayer, 0.3))
    assert isinstance(got[0], MarketStatus) and got[0].stale is False
    books = [m for m in got if isinstance(m, BookSnapshot)]
    assert [b.seq for b in books] == [b.seq for b in _recorded_books(data)]
    assert len(got) == replayer.published + 1  # + the fresh status


def test_without_waiting_a_late_subscriber_loses_the_opening(run_dir: Path) -> None:
    """The slow joiner the wait exists for: a PUB drops what it sends before the SUB is in."""
    cfg, data = _setup(run_dir)
    replayer = Replayer(cfg, data, speed=100.0, start_delay_s=0.0, subscribers=0, wait_s=0)
    got = asyncio.run(_late_subscriber(cfg, replayer, 0.3))
    books = [m for m in got if isinstance(m, BookSnapshot)]
    assert len(books) < len(_recorded_books(data))


def test_replay_waits_for_the_requested_subscribers_then_says_what_to_start(
    run_dir: Path,
) -> None:
    cfg, data = _setup(run_dir)
    replayer = Replayer(cfg, data, speed=100.0, subscribers=2, wait_s=0.5)

    async def one_subscriber() -> None:
        sock = bus.sub([config.endpoint(cfg, "md", "polymarket")], [topics.MD_ALL])
        try:
            await replayer.run(asyncio.Event())
        finally:
            sock.close(linger=0)

    with pytest.raises(ReplayError, match="polymarket.m1.*1.*pmm up --paper"):
        asyncio.run(one_subscriber())
    assert replayer.published == 0
    assert replayer.subscribed("polymarket.m1") == 1


def test_prefix_subscriptions_count_and_other_markets_do_not(run_dir: Path) -> None:
    cfg, data = _setup(run_dir)
    replayer = Replayer(cfg, data)
    replayer.subscriptions["polymarket"].update(
        {b"md.": 2, TOPIC: 1, topics.md("polymarket", "m10"): 4, b"hb.": 1})
    assert replayer.subscribed("polymarket.m1") == 3


def test_negative_wait_settings_are_refused_by_name(run_dir: Path) -> None:
    cfg, data = _setup(run_dir)
    with pytest.raises(Exception, match="--subscribers"):
        Replayer(cfg, data, subscribers=-1)


def test_the_md_endpoint_is_an_xpub_that_reports_subscriptions(run_dir: Path) -> None:
    cfg, data = _setup(run_dir)
    sock = Replayer(cfg, data)._bind(config.endpoint(cfg, "md", "polymarket"))
    try:
        assert sock.getsockopt(zmq.TYPE) == zmq.XPUB
    finally:
        sock.close(linger=0)


def test_reference_prices_are_recorded_and_replayed_on_their_own_endpoint(run_dir: Path) -> None:
    """`pmm record` writes the reference feed's prices beside the books, and `pmm replay`
    plays them back on the reference endpoint, where quoters read them."""
    from common.messages import ReferencePrice
    from services.recorder.record import Recorder

    def with_refs(run: str) -> config.Config:
        return config.parse(f'[stack]\nrun_dir = "{run_dir}/{run}"\n[[references]]\n'
                            'feed = "BTC"\nurl = "ws://127.0.0.1:1/ref/ws"\n[[markets]]\n'
                            'id = "m1"\nvenue = "polymarket"\nvenue_market = "0xc1"\n'
                            'yes_token = "Y1"\nno_token = "N1"\nreference = "BTC"\n')

    cfg = with_refs("run")
    # The replay binds its own ipc paths: a closed socket's file is unlinked by libzmq's I/O
    # thread later, which can remove a new socket's file bound at the same path meanwhile.
    replay_cfg = with_refs("replay")
    data = run_dir / "rec"
    enc = msgspec.msgpack.Encoder()
    prices = [97_000.0 + i for i in range(5)]

    async def record() -> None:
        md = bus.pub(config.endpoint(cfg, "md", "polymarket"))
        ref = bus.pub(config.endpoint(cfg, "md", "reference"))
        rec = Recorder(cfg, data, chunk_s=60)
        stop = asyncio.Event()
        task = asyncio.create_task(rec.run(stop))
        book = BookSnapshot(venue="polymarket", market="m1", seq=1, ts_recv_ns=1, ts_venue_ms=1,
                            bids=(), asks=(), tick=100)
        while rec.records == 0:  # slow joiner: until the recorder's SUB is in
            await bus.send_pub(md, TOPIC, enc.encode(book))
            await asyncio.sleep(0.02)
        for p in prices:
            await bus.send_pub(ref, topics.reference("BTC"), enc.encode(
                ReferencePrice(feed="BTC", ts_ns=1, price=p)))
            await bus.send_pub(md, TOPIC, enc.encode(book))
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        stop.set()
        await task
        md.close(linger=0)
        ref.close(linger=0)

    asyncio.run(record())
    dec = msgspec.msgpack.Decoder(MarketData)
    recorded = [dec.decode(r.payload) for r in recording.read(data)]
    assert [m.price for m in recorded if isinstance(m, ReferencePrice)] == prices

    async def replay() -> list[float]:
        replayer = Replayer(replay_cfg, data, speed=50.0, start_delay_s=0.2, subscribers=1,
                            wait_s=5)
        sock = bus.sub([config.endpoint(replay_cfg, "md", "reference")], [topics.REFERENCE_ALL])
        md = bus.sub([config.endpoint(replay_cfg, "md", "polymarket")], [TOPIC])
        task = asyncio.create_task(replayer.run(asyncio.Event()))
        got: list[float] = []
        try:
            while not (task.done() and not await sock.poll(200)):
                if await sock.poll(50):
                    msg = dec.decode((await sock.recv_multipart(flags=zmq.NOBLOCK))[1])
                    assert isinstance(msg, ReferencePrice)
                    got.append(msg.price)
            await task
        finally:
            sock.close(linger=0)
            md.close(linger=0)
        return got

    assert asyncio.run(replay()) == prices
