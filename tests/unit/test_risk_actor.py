"""The risk actor over real ZeroMQ ipc sockets: intents in, approved commands out, control acked."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import msgspec
import zmq
import zmq.asyncio

from common.auth import new_nonce, open_ack, seal
from common.config import Config, MarketConfig, StackConfig, endpoint
from common.messages import (
    Ack,
    ApprovedIntent,
    CancelMarket,
    ExecutorCommand,
    Kill,
    Level,
    QuoteIntent,
)
from services.risk.actor import RiskActor
from tests.support.fixtures import Sockets
from tests.support.wait import eventually_async

SECRET = b"s" * 32
DEADLINE_S = 5.0


def test_intent_approved_and_kill_acked_over_real_sockets(run_dir: Path, zmq_sockets: Sockets) -> None:
    cfg = Config(
        stack=StackConfig(run_dir=str(run_dir)),
        markets=[MarketConfig(id="m1", venue="kalshi", venue_market="M1")],
    )
    asyncio.run(_scenario(cfg, zmq_sockets.open))


async def _scenario(cfg: Config, sock: Callable[[int], zmq.asyncio.Socket]) -> None:
    cmd_dec = msgspec.msgpack.Decoder(ExecutorCommand)
    enc = msgspec.msgpack.Encoder()
    executor = sock(zmq.PULL)
    executor.bind(endpoint(cfg, "commands", "kalshi"))
    stop = asyncio.Event()
    ready = asyncio.Event()
    actor = RiskActor(cfg, SECRET)
    task = asyncio.create_task(actor.run(stop, ready))
    try:
        await asyncio.wait_for(ready.wait(), DEADLINE_S)
        quoter = sock(zmq.PUSH)
        quoter.connect(endpoint(cfg, "intents"))
        control = sock(zmq.DEALER)
        control.connect(endpoint(cfg, "control", "risk"))
        seq = 0

        async def recv_command(
            resend: Callable[[], Awaitable[None]] | None = None,
        ) -> ExecutorCommand | None:
            if resend is not None:
                await resend()
            if await executor.poll(50):
                return cmd_dec.decode(await executor.recv())
            return None

        async def send_intent() -> None:
            nonlocal seq
            seq += 1
            msg = QuoteIntent(
                market="m1", quoter="quoter-0", seq=seq, ts_recv_ns=42, ts_sent_ns=43,
                fair_value=5000, bids=(Level(4800, 5000),), asks=(Level(5200, 5000),),
            )
            await quoter.send(enc.encode(msg))

        # The executor socket connects asynchronously: resend until one intent gets through.
        got = await eventually_async(lambda: recv_command(send_intent))
        assert isinstance(got, ApprovedIntent)
        assert got.market == "m1" and got.venue == "kalshi" and got.ts_recv_ns == 42
        assert got.bids == (Level(4800, 5000),) and got.asks == (Level(5200, 5000),)
        assert got.expires_at_ns > time.time_ns()

        # A forged kill (wrong secret) is refused with ok=False.
        forged = Kill(sender="x", nonce=new_nonce(), ts_ns=time.time_ns(), reason="forged")
        await control.send(seal(forged, b"wrong" * 8))
        assert await control.poll(int(DEADLINE_S * 1000))
        ack = open_ack(await control.recv(), SECRET)  # acks are MAC'd
        assert (ack.ok, ack.detail, ack.nonce) == (False, "bad_mac", forged.nonce)

        # A sealed kill is acked and cancels the venue's orders.
        kill = Kill(sender="test", nonce=new_nonce(), ts_ns=time.time_ns(), reason="test")
        await control.send(seal(kill, SECRET))
        assert await control.poll(int(DEADLINE_S * 1000))
        ack = open_ack(await control.recv(), SECRET)  # acks are MAC'd
        assert ack == Ack(receiver="risk", nonce=kill.nonce, ok=True)

        async def cancel_seen() -> CancelMarket | None:
            cmd = await recv_command()
            return cmd if isinstance(cmd, CancelMarket) else None

        cancel = await eventually_async(cancel_seen)
        assert isinstance(cancel, CancelMarket) and cancel.market == ""

        # While killed, intents go through as empty ladders.
        async def empty_approved() -> ApprovedIntent | None:
            cmd = await recv_command(send_intent)
            return cmd if isinstance(cmd, ApprovedIntent) and cmd.intent_seq == seq else None

        empty = await eventually_async(empty_approved)
        assert isinstance(empty, ApprovedIntent) and empty.bids == () and empty.asks == ()
    finally:
        stop.set()
        await asyncio.wait_for(task, DEADLINE_S)


def test_fill_and_its_reversal_over_real_sockets(run_dir: Path, zmq_sockets: Sockets) -> None:
    cfg = Config(
        stack=StackConfig(run_dir=str(run_dir)),
        markets=[MarketConfig(id="m1", venue="kalshi", venue_market="M1")],
    )
    asyncio.run(_reversal_scenario(cfg, zmq_sockets.open))


async def _reversal_scenario(cfg: Config, sock: Callable[[int], zmq.asyncio.Socket]) -> None:
    from common import topics
    from common.messages import Fill, FillReversal, PositionUpdate, StateChannel

    enc = msgspec.msgpack.Encoder()
    dec = msgspec.msgpack.Decoder(StateChannel)
    events = sock(zmq.PUB)
    events.bind(endpoint(cfg, "events", "kalshi"))
    state = sock(zmq.SUB)
    state.setsockopt(zmq.SUBSCRIBE, topics.position("m1"))
    stop, ready = asyncio.Event(), asyncio.Event()
    actor = RiskActor(cfg, SECRET)
    task = asyncio.create_task(actor.run(stop, ready))
    fill = Fill(venue="kalshi", market="m1", trade_id="t1", order_id="o1", outcome="YES",
                side="BUY", price=4000, size=700, fee=0, ts_venue_ms=0, ts_recv_ns=0)
    rev = FillReversal(venue="kalshi", market="m1", trade_id="t1", order_id="o1",
                       outcome="YES", side="BUY", price=4000, size=700, ts_ns=0)
    try:
        await asyncio.wait_for(ready.wait(), DEADLINE_S)
        state.connect(endpoint(cfg, "state"))

        def sender(msg: object) -> Callable[[], Awaitable[PositionUpdate | None]]:
            async def probe() -> PositionUpdate | None:
                # Re-send until risk's SUB is connected (slow joiner); it dedupes by trade id.
                await events.send_multipart((topics.events("kalshi", "m1"), enc.encode(msg)))
                while await state.poll(50):
                    upd = dec.decode((await state.recv_multipart())[1])
                    if isinstance(upd, PositionUpdate) and upd.fills == (
                            1 if isinstance(msg, Fill) else 0) and upd.ts_ns:
                        return upd
                return None
            return probe

        got = await eventually_async(sender(fill))
        assert isinstance(got, PositionUpdate) and got.position_yes == 700
        back = await eventually_async(sender(rev))
        assert isinstance(back, PositionUpdate) and back.position_yes == 0 and back.fills == 0
        assert actor.journal.count() == 1 and actor.journal.reversed() == {("kalshi", "t1")}
    finally:
        stop.set()
        await asyncio.wait_for(task, DEADLINE_S)
