"""The hot-path bus loop: non-blocking pyzmq calls plus one persistent readiness wait.

Why not zmq.asyncio on the hot sockets: every `zmq.asyncio.Poller.poll()` creates a
future per socket, adds and removes an event-loop reader per socket (epoll_ctl calls)
and arms a timer, and every awaited recv/send makes a future; on this 2-core machine
that cost ~250 us of CPU per message in a relay process against ~50 us for blocking
pyzmq (bench/README.md). Here a socket is read and written through a plain
(synchronous) shadow of the same libzmq socket with NOBLOCK, and the loop only suspends
when every watched socket is known to be empty:

- `Readiness` registers one event-loop reader per socket FD for its whole life. The ZMQ
  FD is edge-like: it signals that the socket's state *may* have changed and stays quiet
  after that until libzmq processes the socket's commands again. A NOBLOCK read that
  ends in EAGAIN processes them (re-arming the FD), so an `Input` drained to EAGAIN is
  known empty until its FD signals; any other call that processes the socket's commands
  (a send on a ROUTER) must `touch()` it so it is read again. A timeout marks every input
  unknown as a safety net (at most every 50 ms), so nothing can sit unread for long.
- The timeout is one persistent timer, re-armed only when it fires or must fire sooner:
  no timer is made and cancelled per message.
- Sends go out with NOBLOCK on the shadow. That raises `zmq.Again` only when the socket
  cannot take the frame right now (no peer, HWM); the caller then falls back to the
  awaited zmq.asyncio send, whose SNDTIMEO semantics (count a timeout, back off) are
  unchanged. The asyncio socket stays the owner: close it, never the shadow.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import zmq

__all__ = ["Input", "NOBLOCK", "Readiness", "drain", "send_pub", "shadow"]

NOBLOCK = int(zmq.NOBLOCK)
"""Plain ints: pyzmq's flag enums cost an Enum construction per `|` and per
`getsockopt(zmq.RCVMORE)` (~2-5 us a message in send_multipart/recv_multipart)."""
_SNDMORE_NOBLOCK = int(zmq.SNDMORE | zmq.NOBLOCK)
_RCVMORE = int(zmq.RCVMORE)
_EVENTS = int(zmq.EVENTS)
_POLLIN = int(zmq.POLLIN)

_YIELD_EVERY_NS = 2_000_000
"""While inputs stay readable the loop never suspends; it still yields to the event loop
at least this often, so signal handlers, timers and other tasks run during a flood."""
_SWEEP_EVERY_NS = 50_000_000
"""A timeout re-reads every input at most this often (callers with short timers, e.g. risk's
5 ms market-data tick, would otherwise make an EAGAIN read per socket per timer)."""


def shadow(sock: zmq.Socket) -> zmq.Socket:
    """A synchronous handle on the same libzmq socket (does not own it)."""
    return zmq.Socket.shadow(sock.underlying)


def drain(sock: zmq.Socket, limit: int) -> list[list[bytes]]:
    """Every frame set waiting on a (synchronous) socket right now, at most `limit`.

    Asks ZMQ_EVENTS before each read instead of reading until EAGAIN: pyzmq builds a
    `zmq.Again` (an enum lookup and strerror) for every EAGAIN, 4-8 us here against ~2 us
    for the option read, and one of them ended every drain. Reading ZMQ_EVENTS processes
    the socket's pending commands exactly as the failed read did, so the FD is re-armed
    the same way (libzmq's documented pattern for ZMQ_FD)."""
    out: list[list[bytes]] = []
    recv, opt = sock.recv, sock.getsockopt
    try:
        while len(out) < limit and opt(_EVENTS) & _POLLIN:  # type: ignore[operator]  # an int option
            parts = [recv(NOBLOCK)]
            while opt(_RCVMORE):  # a message's parts arrive together: no EAGAIN here
                parts.append(recv(NOBLOCK))
            out.append(parts)
    except zmq.Again:  # not expected after POLLIN; still never fatal
        pass
    return out


def send_pub(sock: zmq.Socket, topic: bytes, payload: bytes) -> None:
    """[topic, payload] on a synchronous PUB shadow, NOBLOCK (a PUB drops at its HWM and
    never raises Again; other sockets may)."""
    sock.send(topic, _SNDMORE_NOBLOCK)
    sock.send(payload, NOBLOCK)


class Input:
    """One watched socket: NOBLOCK reads, and whether it may hold unread frames."""

    __slots__ = ("maybe", "sock")

    def __init__(self, sock: zmq.Socket) -> None:
        self.sock = shadow(sock)
        self.maybe = True

    def drain(self, limit: int) -> list[list[bytes]]:
        """Every frame set waiting now (at most `limit`); an empty read marks it empty.
        Skipped (no syscall) while the socket is known empty."""
        if not self.maybe:
            return []
        out = drain(self.sock, limit)
        self.maybe = len(out) >= limit
        return out

    def touch(self) -> None:
        """Something else processed this socket's commands (a send on it): read it again."""
        self.maybe = True


class Readiness:
    """Suspend until one of a fixed set of sockets may be readable, or a timeout passes.

    Build it inside the running loop; `close()` before the sockets are closed."""

    def __init__(self, socks: Sequence[zmq.Socket]) -> None:
        self.inputs = [Input(s) for s in socks]
        self._loop = asyncio.get_running_loop()
        self._fds: list[int] = []
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._yielded_ns = self._swept_ns = time.monotonic_ns()
        for inp in self.inputs:
            fd = int(inp.sock.getsockopt(zmq.FD))
            self._loop.add_reader(fd, self._signalled, inp)
            self._fds.append(fd)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _signalled(self, inp: Input) -> None:
        inp.maybe = True
        self._wake()

    def _timed_out(self) -> None:
        self._timer = None
        now = time.monotonic_ns()
        if now - self._swept_ns >= _SWEEP_EVERY_NS:  # the safety net, not on every timeout
            self._swept_ns = now
            for inp in self.inputs:
                inp.maybe = True
        self._wake()

    async def wait(self, timeout_s: float) -> None:
        """Return at once if an input may be readable (yielding to the loop now and then),
        else when one's FD signals or after `timeout_s`."""
        for inp in self.inputs:
            if inp.maybe:
                now = time.monotonic_ns()
                if now - self._yielded_ns >= _YIELD_EVERY_NS:
                    self._yielded_ns = now
                    await asyncio.sleep(0)
                return
        loop = self._loop
        at = loop.time() + max(0.0, timeout_s)
        if self._timer is None or self._timer_at > at:
            if self._timer is not None:
                self._timer.cancel()
            self._timer, self._timer_at = loop.call_at(at, self._timed_out), at
        waiter = loop.create_future()
        self._waiter = waiter
        try:
            await waiter
        finally:
            self._waiter = None
            self._yielded_ns = time.monotonic_ns()

    def close(self) -> None:
        """Drop the readers and the timer (call before closing the sockets)."""
        for fd in self._fds:
            self._loop.remove_reader(fd)
        self._fds = []
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
