"""The quoter actor over real ZeroMQ ipc sockets: books in, intents and heartbeats out."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import msgspec
import zmq
import zmq.asyncio

from common import topics
from common.config import Config, MarketConfig, QuotingConfig, StackConfig, endpoint
from common.messages import (
    BookSnapshot,
    Heartbeat,
    IntentChannel,
    Level,
    MarketStatus,
    PositionUpdate,
    QuoteIntent,
    TradePrint,
)
from services.quoter.actor import Quoter
from services.quoter.market_state import shard_markets
from tests.support.fixtures import Sockets
from tests.support.wait import eventually_async

DEADLINE_S = 5.0


def config(run_dir: Path) -> Config:
    return Config(
        stack=StackConfig(run_dir=str(run_dir)),
        markets=[
            MarketConfig(id="m0", venue="kalshi", venue_market="M0"),
            MarketConfig(id="m1", venue="kalshi", venue_market="M1"),
            MarketConfig(id="m2", venue="kalshi", venue_market="M2"),
        ],
    )


def test_sharding_by_index(run_dir: Path) -> None:
    cfg = config(run_dir)
    assert [m.id for m in shard_markets(cfg, 0, 2)] == ["m0", "m2"]
    assert [m.id for m in shard_markets(cfg, 1, 2)] == ["m1"]


def test_book_to_intent_stale_pulls_and_heartbeats(run_dir: Path, zmq_sockets: Sockets) -> None:
    asyncio.run(_scenario(config(run_dir), zmq_sockets))


async def _scenario(cfg: Config, sockets: Sockets) -> None:
    enc = msgspec.msgpack.Encoder()
    dec = msgspec.msgpack.Decoder(IntentChannel)

    def sock(kind: int, ep: str) -> zmq.asyncio.Socket:
        s = sockets.open(kind)
        s.bind(ep)
        return s

    md = sock(zmq.PUB, endpoint(cfg, "md", "kalshi"))
    state = sock(zmq.PUB, endpoint(cfg, "state"))
    risk = sock(zmq.PULL, endpoint(cfg, "intents"))
    stop = asyncio.Event()
    quoter = Quoter(cfg, 0, 2)
    task = asyncio.create_task(quoter.run(stop))
    book_seq = 0

    async def publish_book(stale: bool = False, market: str = "m0") -> None:
        nonlocal book_seq
        book_seq += 1
        book = BookSnapshot(
            venue="kalshi", market=market, seq=book_seq, ts_recv_ns=777, ts_venue_ms=1,
            tick=100, bids=(Level(4900, 10_000),), asks=(Level(5100, 10_000),), stale=stale,
        )
        await md.send_multipart((topics.md("kalshi", market), enc.encode(book)))

    async def next_intent(
        want: Callable[[QuoteIntent], bool], publish: Callable[[], Awaitable[None]]
    ) -> QuoteIntent | None:
        await publish()
        while await risk.poll(50):
            msg = dec.decode(await risk.recv())
            if isinstance(msg, QuoteIntent) and want(msg):
                return msg
        return None

    try:
        # SUB connects asynchronously (slow joiner): republish until an intent arrives.
        intent = await eventually_async(lambda: next_intent(lambda m: bool(m.bids), publish_book))
        assert isinstance(intent, QuoteIntent)
        assert intent.market == "m0" and intent.quoter == "quoter-0"
        assert intent.bids == (Level(4800, 5000),) and intent.asks == (Level(5200, 5000),)
        assert intent.fair_value == 5000 and intent.ts_recv_ns == 777

        # A long position from risk skews the ladder (fewer bids) at the next book.
        async def long_then_book() -> None:
            pos = PositionUpdate(
                venue="kalshi", market="m0", ts_ns=0, position_yes=25_000, position_no=0,
                net_position=25_000, avg_price=5000, realized_pnl=0, marked_pnl=0, mark=5000,
                fills=1, halted=False,
            )
            await state.send_multipart((topics.position("m0"), enc.encode(pos)))
            await publish_book()

        skewed = await eventually_async(
            lambda: next_intent(lambda m: bool(m.bids) and m.bids[0].size < 5000, long_then_book)
        )
        # 250 contracts of 500: the bid halves, and the default exact skew (1) moves the
        # centre down 1 * 0.5 * 2 * 1.75c = 1.75c: bid 48.25 -> 46.5 -> 46, ask 51.75 -> 50.
        assert isinstance(skewed, QuoteIntent) and skewed.bids == (Level(4600, 2500),)
        assert skewed.asks == (Level(5000, 5000),)

        # A stale status pulls the quotes: an empty ladder.
        async def stale_status() -> None:
            status = MarketStatus(venue="kalshi", market="m0", ts_ns=0, stale=True)
            await md.send_multipart((topics.md("kalshi", "m0"), enc.encode(status)))
            await publish_book()

        pulled = await eventually_async(
            lambda: next_intent(lambda m: not m.bids and not m.asks, stale_status)
        )
        assert isinstance(pulled, QuoteIntent)

        async def heartbeat() -> Heartbeat | None:
            if await risk.poll(50):
                msg = dec.decode(await risk.recv())
                return msg if isinstance(msg, Heartbeat) else None
            return None

        hb = await eventually_async(heartbeat)
        assert isinstance(hb, Heartbeat)
        assert hb.sender == "quoter-0" and hb.role == "quoter" and hb.markets == ("m0", "m2")
    finally:
        stop.set()
        await asyncio.wait_for(task, DEADLINE_S)


def test_timer_floor_resends_without_new_books(run_dir: Path, zmq_sockets: Sockets) -> None:
    """The timer floor (every `interval_ms`) still steps a quoted market with no new book,
    and never one without a book: the hot loop checks floors only once the earliest may be
    due (issue 9), which must not lose any."""
    cfg = config(run_dir)
    cfg = Config(stack=cfg.stack, markets=cfg.markets, quoting=QuotingConfig(interval_ms=150))
    asyncio.run(_floor_scenario(cfg, zmq_sockets, busy=False))


async def _floor_scenario(cfg: Config, sockets: Sockets, *, busy: bool) -> None:
    """Quote m0 once, then for ~1.2 s either publish no book (`busy` False) or the same
    book every ~20 ms (`busy` True: steps that never change the ladder); the timer floor
    alone must re-send at least three times, and never for m2, which has no book."""
    enc = msgspec.msgpack.Encoder()
    dec = msgspec.msgpack.Decoder(IntentChannel)
    md = sockets.open(zmq.PUB)
    md.bind(endpoint(cfg, "md", "kalshi"))
    state = sockets.open(zmq.PUB)
    state.bind(endpoint(cfg, "state"))
    risk = sockets.open(zmq.PULL)
    risk.bind(endpoint(cfg, "intents"))
    stop = asyncio.Event()
    task = asyncio.create_task(Quoter(cfg, 0, 2).run(stop))
    intents: list[QuoteIntent] = []
    seq = 0

    async def publish_and_collect() -> None:
        nonlocal seq
        seq += 1  # the same prices every time: the ladder never changes
        book = BookSnapshot(venue="kalshi", market="m0", seq=seq, ts_recv_ns=1, ts_venue_ms=1,
                            tick=100, bids=(Level(4900, 10_000),), asks=(Level(5100, 10_000),))
        await md.send_multipart((topics.md("kalshi", "m0"), enc.encode(book)))
        await collect()

    async def collect() -> None:
        while await risk.poll(20):
            msg = dec.decode(await risk.recv())
            if isinstance(msg, QuoteIntent):
                intents.append(msg)

    try:
        deadline = time.monotonic() + DEADLINE_S
        while not intents and time.monotonic() < deadline:  # slow joiner: republish
            await publish_and_collect()
        assert intents, "no intent for the first book"
        first = len(intents)
        until = time.monotonic() + 1.2
        while time.monotonic() < until:
            await (publish_and_collect() if busy else collect())
        resent = len(intents) - first
        assert resent >= 3, f"{resent} timer re-sends in 1.2 s (busy book: {busy})"
        assert {i.market for i in intents} == {"m0"}  # m2 has no book: never stepped
    finally:
        stop.set()
        await asyncio.wait_for(task, DEADLINE_S)


def test_timer_floor_resends_on_a_busy_book_too(run_dir: Path, zmq_sockets: Sockets) -> None:
    """Books that keep arriving without changing the ladder must not postpone the floor:
    a ladder that stopped resting at the venue (filled, cancelled by a kill) is repaired
    within one interval, not at max_quote_age_ms."""
    cfg = config(run_dir)
    cfg = Config(stack=cfg.stack, markets=cfg.markets, quoting=QuotingConfig(interval_ms=200))
    asyncio.run(_floor_scenario(cfg, zmq_sockets, busy=True))


def test_trades_keep_the_aggressor_for_the_toxicity_signal(run_dir: Path) -> None:
    """TradePrint.side is the aggressor; the engine's toxicity signal reads it from TradeTick
    (0 would make it infer the side from the price)."""
    q = Quoter(config(run_dir), 0, 1)
    for side in ("BUY", "SELL"):
        q.on_trade(TradePrint(venue="kalshi", market="m0", ts_recv_ns=1, ts_venue_ms=1,
                              price=5000, size=100, side=side))  # type: ignore[arg-type]
    assert [t.side for t in q.markets["m0"].trades] == [1, -1]
