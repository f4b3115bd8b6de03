"""Websockets that reconnect forever: websockets' own reconnecting `connect`, plus two things.

Iterating `websockets.asyncio.client.connect` reconnects after every failure or close, with
jittered exponential backoff (`reconnect_delays`), and asks `process_exception` which
failures are fatal. Every feed (ingest's market channels, the executors' user channels,
the reference feeds) connects through `connections`, which adds:

- headers made afresh for every attempt: Kalshi signs the handshake with a timestamp, so
  the headers of a first attempt are stale by a reconnect (`headers=` is a callable);
- a short jittered pause after a connection that ended within `MIN_CONNECTION_S`, since
  websockets resets its backoff on every successful handshake: a server that accepts and
  closes at once could otherwise drive a tight reconnect loop.

Transient: OSError, timeouts and any websocket error but a malformed URL, logged at
WARNING with the caller's `what` and log extra (websockets logs the delay at INFO). Any
other exception is a bug and ends the iteration.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from typing import Any, Protocol, cast

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.client import backoff
from websockets.exceptions import InvalidURI, WebSocketException

__all__ = ["CLOSE_TIMEOUT_S", "Counter", "MIN_CONNECTION_S", "connections"]

log = logging.getLogger(__name__)

MIN_CONNECTION_S = 1.0
"""A connection that ends sooner than this is followed by a 0.5-1.5 s pause."""
CLOSE_TIMEOUT_S = 2.0
"""How long closing a connection waits for the peer's close frame (websockets' default is
10 s): a stopping program reaps its feeds within `common.tasks.STOP_GRACE_S` (5 s) even
when the venue went silent without closing."""


class Counter(Protocol):
    """A prometheus counter child, as far as reconnect counting needs it."""

    def inc(self, amount: float = 1) -> None: ...


class _Connect(ws_connect):
    """websockets' connect, asking for fresh handshake headers before every attempt."""

    def __init__(self, uri: str, *, headers: Callable[[], Mapping[str, str]] | None,
                 **kwargs: Any) -> None:
        super().__init__(uri, **kwargs)
        self._make_headers = headers

    async def connect(self) -> ClientConnection:
        if self._make_headers is not None:
            self.additional_headers = dict(self._make_headers())
        return await super().connect()


def _transient(what: str, extra: Mapping[str, str],
               on_refused: Callable[[Exception], None] | None,
               ) -> Callable[[Exception], Exception | None]:
    def decide(exc: Exception) -> Exception | None:
        if on_refused is not None:
            on_refused(exc)
        if isinstance(exc, InvalidURI) or not isinstance(
                exc, (OSError, asyncio.TimeoutError, WebSocketException)):
            return exc
        log.warning("%s connect failed (%s); reconnecting with backoff", what, exc,
                    extra=dict(extra))
        return None
    return decide


def connections(uri: str, *, what: str, extra: Mapping[str, str] | None = None,
                headers: Callable[[], Mapping[str, str]] | None = None,
                initial_delay: float = 1.0, min_delay: float = 0.5, max_delay: float = 30.0,
                rng: random.Random | None = None, reconnects: Counter | None = None,
                on_refused: Callable[[Exception], None] | None = None,
                **kwargs: Any) -> contextlib.aclosing[AsyncGenerator[ClientConnection, None]]:
    """One open connection after another, forever; `kwargs` go to websockets' connect
    (open_timeout, max_size, compression...); `reconnects` counts every connection after
    the first; `on_refused` sees every failed attempt first (a refused handshake's answer
    still carries the venue's `Date`: common/venue_clock.py). Use it as
    `async with connections(...) as conns: async for ws in conns:`. A connection is
    closed when the loop body returns to the iteration, and the open one also when the
    `async with` exits, a cancellation included (a bare async generator would leave it to
    the garbage collector)."""
    kwargs.setdefault("close_timeout", CLOSE_TIMEOUT_S)
    return contextlib.aclosing(_connections(
        uri, what=what, extra=extra or {}, headers=headers, rng=rng or random.Random(),
        reconnects=reconnects, on_refused=on_refused,
        delays=functools.partial(backoff, initial_delay=initial_delay, min_delay=min_delay,
                                 max_delay=max_delay),
        kwargs=kwargs))


async def _connections(uri: str, *, what: str, extra: Mapping[str, str],
                       headers: Callable[[], Mapping[str, str]] | None, rng: random.Random,
                       reconnects: Counter | None,
                       on_refused: Callable[[Exception], None] | None,
                       delays: Callable[[], Generator[float, None, None]],
                       kwargs: dict[str, Any]) -> AsyncGenerator[ClientConnection, None]:
    conn = _Connect(uri, headers=headers,
                    process_exception=_transient(what, extra, on_refused),
                    reconnect_delays=delays, **kwargs)
    # websockets' own iteration is an async generator too: close it with ours, or its open
    # connection would wait for the garbage collector.
    async with contextlib.aclosing(
            cast(AsyncGenerator[ClientConnection, None], aiter(conn))) as attempts:
        first = True
        async for ws in attempts:
            if not first and reconnects is not None:
                reconnects.inc()
            first = False
            opened = time.monotonic()
            yield ws
            if time.monotonic() - opened < MIN_CONNECTION_S:
                await asyncio.sleep(0.5 + rng.random())
