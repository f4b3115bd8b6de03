"""The ingest actor against a local websocket server speaking the market channel."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from websockets.asyncio.server import ServerConnection, serve

from common import bus, metrics, topics
from common.config import Config, endpoint, parse
from common.messages import BookSnapshot, Heartbeat, MarketData, MarketStatus, TradePrint
from services.ingest.polymarket import PolymarketFeed
from services.ingest.process import IngestActor
from tests.support.wait import eventually_async

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "polymarket"
YES = "71321045679252212594626385532706912750332728571942532289631379312455583992563"


def config(run_dir: Path, port: int) -> Config:
    return parse(f"""
[stack]
run_dir = "{run_dir}"
[venues.polymarket]
ws_url = "ws://127.0.0.1:{port}/ws"
[ingest]
depth = 2
ping_interval_ms = 50
heartbeat_interval_ms = 50
silence_timeout_ms = 400
reward_refresh_ms = 0
[[markets]]
id = "m1"
venue = "polymarket"
venue_market = "0xdd22"
yes_token = "{YES}"
no_token = "2"
""")


class ScriptedVenue:
    """Per connection: wait for `go`, send the next script, then answer PINGs (or not)."""

    def __init__(self, scripts: list[tuple[list[str], bool]]) -> None:
        self.scripts = scripts
        self.subscriptions: list[object] = []
        self.pings = 0
        self.go = asyncio.Event()
        self.conns: list[ServerConnection] = []

    async def handler(self, ws: ServerConnection) -> None:
        self.conns.append(ws)
        self.subscriptions.append(json.loads(await ws.recv()))
        script, pong = self.scripts.pop(0) if self.scripts else ([], True)
        await self.go.wait()
        for frame in script:
            await ws.send(frame)
        async for msg in ws:
            if msg == "PING":
                self.pings += 1
                if pong:
                    await ws.send("PONG")


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def test_books_trades_staleness_and_reconnect(tmp_path: Path) -> None:
    asyncio.run(_scenario(tmp_path))


async def _scenario(tmp_path: Path) -> None:
    book = fixture("ws_market_book_msg.json")
    venue = ScriptedVenue([
        ([f"[{book}]", "PONG", "{garbage", fixture("ws_market_price_change_msg.json"),
          fixture("ws_market_last_trade_msg.json"), fixture("ws_market_tick_size_msg.json")],
         True),
        ([book], False),  # second connection: a book, then silence (no PONG)
        ([book], True),
    ])
    dropped = metrics.VENUE_MESSAGES_DROPPED.labels(venue="polymarket", channel="market")
    reconnects = metrics.FEED_RECONNECTS.labels(venue="polymarket", channel="market")
    dropped0, reconnects0 = dropped._value.get(), reconnects._value.get()
    async with serve(venue.handler, "127.0.0.1", 0) as server:
        cfg = config(tmp_path, server.sockets[0].getsockname()[1])
        actor = IngestActor(cfg, PolymarketFeed(cfg))
        sub = bus.sub([endpoint(cfg, "md", "polymarket")],
                      [topics.md("polymarket", "m1"), topics.heartbeat("ingest")])
        codec: bus.Codec[MarketData] = bus.Codec(MarketData, process="test", channel="md")
        got: list[object] = []

        async def reader() -> None:
            while True:
                got.append(codec.decode((await sub.recv_multipart())[1]))

        def of(kind: type) -> list:  # type: ignore[type-arg]
            return [m for m in got if isinstance(m, kind)]

        stop = asyncio.Event()
        run = asyncio.create_task(actor.run(stop))
        read = asyncio.create_task(reader())
        try:
            await eventually_async(lambda: bool(of(Heartbeat)) and bool(venue.subscriptions))
            venue.go.set()
            await eventually_async(lambda: any(m.reason == "tick_size_change" for m in of(MarketStatus)))
            assert venue.subscriptions[0] == {"type": "market", "assets_ids": [YES],
                                              "custom_feature_enabled": True}
            first, second = of(BookSnapshot)[:2]
            assert (first.seq, second.seq) == (1, 2)
            assert first.tick == 100 and first.ts_venue_ms == 1703875200000
            assert [(lv.price, lv.size) for lv in first.bids] == [(5000, 20000), (4900, 35000)]
            assert [(lv.price, lv.size) for lv in first.asks] == [(5100, 15000), (5200, 25000)]
            assert [(lv.price, lv.size) for lv in second.bids] == [(5100, 15000), (5000, 20000)]
            assert second.ts_recv_ns > first.ts_recv_ns > 0
            (trade,) = of(TradePrint)
            assert (trade.price, trade.size, trade.side) == (5100, 2500, "BUY")
            assert any(not m.stale for m in of(MarketStatus))
            assert dropped._value.get() == dropped0 + 1
            await eventually_async(lambda: venue.pings >= 2)

            await venue.conns[0].close()  # venue drops us: stale, reconnect, fresh book
            await eventually_async(lambda: any(m.reason == "disconnected" for m in of(MarketStatus)))
            await eventually_async(lambda: len(of(BookSnapshot)) >= 3, 10)
            assert reconnects._value.get() >= reconnects0 + 1
            n_status = len(of(MarketStatus))
            await eventually_async(lambda: any(m.reason == "silent" for m in of(MarketStatus)), 10)
            await eventually_async(lambda: len(venue.subscriptions) >= 3, 10)
            assert len(of(MarketStatus)) > n_status
        finally:
            stop.set()
            await asyncio.wait_for(run, 5)
            read.cancel()
            await asyncio.gather(read, return_exceptions=True)
            sub.close(linger=0)


def test_a_batch_of_frames_publishes_each_market_once(tmp_path: Path) -> None:
    """Frames applied back to back (one websocket read) publish one book per market, the
    newest; a trade on the market first flushes its pending book, so order is kept; a frame
    on its own publishes at once."""
    asyncio.run(_batch_scenario(tmp_path))


def _change(price: str, size: str, ts: int) -> str:
    msg = json.loads(fixture("ws_market_price_change_msg.json"))
    msg["price_changes"][0].update(price=price, size=size)
    msg["timestamp"] = str(ts)
    return json.dumps(msg)


async def _batch_scenario(tmp_path: Path) -> None:
    cfg = config(tmp_path, 1)
    actor = IngestActor(cfg, PolymarketFeed(cfg))
    sub = bus.sub([endpoint(cfg, "md", "polymarket")], [topics.md("polymarket", "m1")])
    codec: bus.Codec[MarketData] = bus.Codec(MarketData, process="test", channel="md")
    conflated = metrics.INGEST_BOOKS_CONFLATED.labels(venue="polymarket")
    base = conflated._value.get()
    try:
        await asyncio.sleep(0.2)  # the SUB joins before anything is published
        frames = [f"[{fixture('ws_market_book_msg.json')}]", _change("0.51", "150.0", 1),
                  _change("0.49", "100.0", 2), _change("0.51", "0", 3),
                  fixture("ws_market_last_trade_msg.json"), _change("0.48", "70.0", 4)]
        for i, frame in enumerate(frames):  # no suspension: as the feed loop reads a buffer
            await actor.on_frame(frame, 1_000 + i)
        got = [codec.decode((await asyncio.wait_for(sub.recv_multipart(), 2))[1])
               for _ in range(5)]
        first, fresh, book, trade, last = got
        assert isinstance(first, BookSnapshot) and first.seq == 1  # ahead of its status
        assert isinstance(fresh, MarketStatus) and not fresh.stale
        assert isinstance(book, BookSnapshot) and isinstance(trade, TradePrint)
        assert isinstance(last, BookSnapshot)
        assert (book.seq, book.ts_recv_ns, book.ts_venue_ms) == (2, 1_003, 3)
        assert [(lv.price, lv.size) for lv in book.bids] == [(5000, 20000), (4900, 10000)]
        assert (last.seq, last.ts_recv_ns, last.ts_venue_ms) == (3, 1_005, 4)
        assert conflated._value.get() == base + 2
        await actor.on_frame(_change("0.50", "0", 5), 2_000)  # alone: published by itself
        alone = codec.decode((await asyncio.wait_for(sub.recv_multipart(), 2))[1])
        assert isinstance(alone, BookSnapshot) and (alone.seq, alone.ts_recv_ns) == (4, 2_000)
        assert [(lv.price, lv.size) for lv in alone.bids] == [(4900, 10000), (4800, 7000)]
        assert conflated._value.get() == base + 2
    finally:
        sub.close(linger=0)
        actor._sock.close(linger=0)


def test_a_pending_book_goes_out_valid_before_its_market_turns_stale(tmp_path: Path) -> None:
    asyncio.run(_stale_after_change(tmp_path))


async def _stale_after_change(tmp_path: Path) -> None:
    cfg = config(tmp_path, 1)
    actor = IngestActor(cfg, PolymarketFeed(cfg))
    sub = bus.sub([endpoint(cfg, "md", "polymarket")], [topics.md("polymarket", "m1")])
    codec: bus.Codec[MarketData] = bus.Codec(MarketData, process="test", channel="md")
    try:
        await asyncio.sleep(0.2)  # the SUB joins before anything is published
        await actor.on_frame(f"[{fixture('ws_market_book_msg.json')}]", 1)
        for _ in range(2):  # the book, then its market's fresh status
            await asyncio.wait_for(sub.recv_multipart(), 2)
        for i, frame in enumerate([_change("0.49", "100.0", 2),
                                   fixture("ws_market_tick_size_msg.json")]):
            await actor.on_frame(frame, 10 + i)  # one batch: the change is still pending
        book, status = [codec.decode((await asyncio.wait_for(sub.recv_multipart(), 2))[1])
                        for _ in range(2)]
        assert isinstance(book, BookSnapshot) and book.ts_recv_ns == 10
        assert [(lv.price, lv.size) for lv in book.bids] == [(5000, 20000), (4900, 10000)]
        assert isinstance(status, MarketStatus) and status.stale
        assert status.reason == "tick_size_change"
    finally:
        sub.close(linger=0)
        actor._sock.close(linger=0)


def test_the_heartbeat_repeats_a_fresh_market_status(tmp_path: Path) -> None:
    """A PUB drops at its HWM: a lost stale=False flip would leave the quoter pulling that
    market's quotes for good, so every heartbeat repeats each market's status, fresh too."""
    asyncio.run(_fresh_repeated(tmp_path))


async def _fresh_repeated(tmp_path: Path) -> None:
    cfg = config(tmp_path, 1)
    actor = IngestActor(cfg, PolymarketFeed(cfg))
    sub = bus.sub([endpoint(cfg, "md", "polymarket")], [topics.md("polymarket", "m1")])
    codec: bus.Codec[MarketData] = bus.Codec(MarketData, process="test", channel="md")
    beat = asyncio.create_task(actor._heartbeat_loop())
    try:
        await asyncio.sleep(0.2)  # the SUB joins before anything is published
        await actor.on_frame(f"[{fixture('ws_market_book_msg.json')}]", 1)
        statuses: list[MarketStatus] = []
        while len([s for s in statuses if not s.stale]) < 3:  # the flip, then two repeats
            msg = codec.decode((await asyncio.wait_for(sub.recv_multipart(), 2))[1])
            if isinstance(msg, MarketStatus):
                statuses.append(msg)
        first_fresh = next(i for i, s in enumerate(statuses) if not s.stale)
        assert all(s.stale and s.reason == "starting" for s in statuses[:first_fresh])
        assert all(not s.stale and s.reason == "" for s in statuses[first_fresh:])
    finally:
        beat.cancel()
        await asyncio.gather(beat, return_exceptions=True)
        sub.close(linger=0)
        actor._sock.close(linger=0)
