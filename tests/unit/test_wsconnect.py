"""common/wsconnect.py against a real local websocket server: fresh headers per attempt,
reconnect after a close and after a refused attempt, fatal errors end the iteration."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.server import ServerConnection, serve
from websockets.protocol import State
from websockets.exceptions import InvalidURI

from common import wsconnect


class Count:
    def __init__(self) -> None:
        self.n = 0.0

    def inc(self, amount: float = 1) -> None:
        self.n += amount


class ZeroRng(random.Random):
    def random(self) -> float:
        return 0.0  # the short-connection pause is its minimum, 0.5 s


def test_every_attempt_gets_fresh_headers_and_a_closed_connection_reconnects() -> None:
    asyncio.run(_fresh_headers())


async def _fresh_headers() -> None:
    seen: list[str] = []

    async def handler(ws: ServerConnection) -> None:
        seen.append(ws.request.headers["X-Signed"])
        await ws.close()  # accept, then close at once

    counter = iter(range(1, 100))
    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        got = 0
        loop = asyncio.get_running_loop()
        started = loop.time()
        reconnects = Count()
        async with wsconnect.connections(
                f"ws://127.0.0.1:{port}/", what="test", rng=ZeroRng(), reconnects=reconnects,
                headers=lambda: {"X-Signed": str(next(counter))}) as conns:
            async for ws in conns:
                await ws.wait_closed()
                got += 1
                if got == 3:
                    break
        assert seen == ["1", "2", "3"]
        assert reconnects.n == 2  # the first connection is not a reconnect
        # two short connections were each followed by the 0.5 s pause
        assert loop.time() - started >= 1.0


def test_a_refused_connect_is_retried_until_the_server_is_up() -> None:
    asyncio.run(_refused_then_up())


async def _refused_then_up() -> None:
    with socket.socket() as s:  # a free port, nothing listening yet
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def handler(ws: ServerConnection) -> None:
        await ws.send("hello")
        await ws.wait_closed()

    async def first_message() -> str:
        async with wsconnect.connections(f"ws://127.0.0.1:{port}/", what="test",
                                         initial_delay=0.05, min_delay=0.05,
                                         max_delay=0.1) as conns:
            async for ws in conns:
                return str(await ws.recv())
        raise AssertionError("the iteration ended")

    task = asyncio.create_task(first_message())
    await asyncio.sleep(0.3)  # some refused attempts
    assert not task.done()
    async with serve(handler, "127.0.0.1", port):
        assert await asyncio.wait_for(task, 5) == "hello"


def test_a_malformed_url_is_fatal() -> None:
    async def go() -> None:
        async with wsconnect.connections("not a url", what="test") as conns:
            async for _ in conns:
                raise AssertionError("connected to a malformed url")

    with pytest.raises(InvalidURI):
        asyncio.run(go())


def test_only_network_and_protocol_errors_are_transient() -> None:
    seen: list[Exception] = []
    decide = wsconnect._transient("test", {}, seen.append)
    assert decide(ConnectionRefusedError()) is None
    assert decide(asyncio.TimeoutError()) is None
    bug = ValueError("a bug")
    assert decide(bug) is bug
    bad = InvalidURI("x", "malformed")
    assert decide(bad) is bad
    assert [type(e) for e in seen] == [ConnectionRefusedError, asyncio.TimeoutError, ValueError,
                                       InvalidURI]  # on_refused sees every failed attempt


def test_cancelling_the_consumer_closes_its_open_connection_at_once() -> None:
    asyncio.run(_cancelled())


async def _cancelled() -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.wait_closed()

    held: list[ClientConnection] = []

    async def consume(port: int) -> None:
        async with wsconnect.connections(f"ws://127.0.0.1:{port}/", what="test") as conns:
            async for ws in conns:
                held.append(ws)
                await ws.recv()  # nothing comes: cancelled here

    async with serve(handler, "127.0.0.1", 0) as server:
        task = asyncio.create_task(consume(server.sockets[0].getsockname()[1]))
        while not held:
            await asyncio.sleep(0.01)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        # closed by the time the consumer is done, not later by the garbage collector
        assert held[0].state is State.CLOSED
