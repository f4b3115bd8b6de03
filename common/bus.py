"""ZeroMQ sockets for the bus, with every option set where the socket is made.

- PUB: SNDHWM bounds the queue; PUB drops silently at the mark, so hot-path
  publishers are sized generously and subscribers conflate.
- PUSH (commands): SNDHWM, IMMEDIATE=1 (never queue for a peer that is not
  connected), SNDTIMEO (never block the loop forever); every timeout is counted.
- Every socket: LINGER=0, so a dead peer never holds a process at exit.
A frame that does not decode is dropped and counted (`pmm_bus_dropped_frames_total`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Generic, TypeVar

import msgspec
import zmq
import zmq.asyncio

from common import metrics
from common.errors import BusError

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_MESSAGE_BYTES = 1 << 20
"""Receiving sockets drop a peer that sends a larger frame (ZMQ_MAXMSGSIZE): no message on
pmm's bus comes near it, so anything bigger is garbage or an attack, never read into memory."""

_ctx: zmq.asyncio.Context | None = None


def context() -> zmq.asyncio.Context:
    """The process's one asyncio ZeroMQ context."""
    global _ctx
    if _ctx is None:
        _ctx = zmq.asyncio.Context()
    return _ctx


def _prepare_ipc(endpoint: str) -> None:
    if endpoint.startswith("ipc://"):
        path = Path(endpoint[len("ipc://") :])
        path.parent.mkdir(parents=True, exist_ok=True)
        if len(str(path)) > 100:
            raise BusError(f"ipc path too long for a unix socket ({len(str(path))} > 100): {path}")


def _socket(kind: int, *, linger_ms: int = 0) -> zmq.asyncio.Socket:
    sock = context().socket(kind)
    sock.setsockopt(zmq.LINGER, linger_ms)
    if kind in (zmq.SUB, zmq.PULL, zmq.ROUTER, zmq.DEALER):
        sock.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
    return sock


def bind(sock: zmq.asyncio.Socket, endpoint: str) -> None:
    _prepare_ipc(endpoint)
    if endpoint.startswith("ipc://"):
        path = endpoint[len("ipc://") :]
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    try:
        sock.bind(endpoint)
    except zmq.ZMQError as exc:
        raise BusError(f"cannot bind {endpoint}: {exc}; is another stack running?") from exc


def connect(sock: zmq.asyncio.Socket, endpoints: Iterable[str]) -> None:
    for ep in endpoints:
        _prepare_ipc(ep)
        sock.connect(ep)


def pub(endpoint: str, *, hwm: int = 10_000) -> zmq.asyncio.Socket:
    sock = _socket(zmq.PUB)
    sock.setsockopt(zmq.SNDHWM, hwm)
    bind(sock, endpoint)
    return sock


def sub(
    endpoints: Iterable[str], topics: Iterable[bytes], *, hwm: int = 10_000
) -> zmq.asyncio.Socket:
    sock = _socket(zmq.SUB)
    sock.setsockopt(zmq.RCVHWM, hwm)
    for topic in topics:
        sock.setsockopt(zmq.SUBSCRIBE, topic)
    connect(sock, endpoints)
    return sock


def push(
    endpoints: Iterable[str], *, hwm: int = 1_000, send_timeout_ms: int = 100
) -> zmq.asyncio.Socket:
    sock = _socket(zmq.PUSH)
    sock.setsockopt(zmq.SNDHWM, hwm)
    sock.setsockopt(zmq.IMMEDIATE, 1)
    sock.setsockopt(zmq.SNDTIMEO, send_timeout_ms)
    connect(sock, endpoints)
    return sock


def pull(endpoint: str, *, hwm: int = 10_000) -> zmq.asyncio.Socket:
    sock = _socket(zmq.PULL)
    sock.setsockopt(zmq.RCVHWM, hwm)
    bind(sock, endpoint)
    return sock


def router(endpoint: str) -> zmq.asyncio.Socket:
    sock = _socket(zmq.ROUTER)
    sock.setsockopt(zmq.ROUTER_MANDATORY, 0)
    sock.setsockopt(zmq.RCVHWM, 1_000)
    sock.setsockopt(zmq.SNDHWM, 1_000)
    bind(sock, endpoint)
    return sock


def dealer(endpoint: str) -> zmq.asyncio.Socket:
    sock = _socket(zmq.DEALER)
    sock.setsockopt(zmq.IMMEDIATE, 1)
    sock.setsockopt(zmq.SNDHWM, 100)
    connect(sock, [endpoint])
    return sock


class Codec(Generic[T]):
    """One encoder and one typed decoder for a channel, built once; bad frames are counted."""

    def __init__(self, union: Any, *, process: str, channel: str) -> None:
        self._enc = msgspec.msgpack.Encoder()
        self._dec: msgspec.msgpack.Decoder[T] = msgspec.msgpack.Decoder(union)
        self._dropped = metrics.DROPPED_FRAMES.labels(process=process, channel=channel)
        self.channel = channel

    def encode(self, msg: Any) -> bytes:
        return self._enc.encode(msg)

    def decode(self, frame: bytes) -> T | None:
        """Decode a frame, or count it as dropped and return None."""
        try:
            return self._dec.decode(frame)
        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as exc:
            self._dropped.inc()
            log.warning(
                "dropped frame on %s: %s", self.channel, str(exc)[:200],
                extra={"channel": self.channel},
            )
            return None


async def send_pub(sock: zmq.asyncio.Socket, topic: bytes, payload: bytes) -> None:
    await sock.send_multipart((topic, payload), copy=False)


async def send_push(
    sock: zmq.asyncio.Socket, payload: bytes, *, process: str, channel: str
) -> bool:
    """Send on a PUSH socket; return False (and count it) if no peer took it in time."""
    try:
        await sock.send(payload, copy=False)
        return True
    except zmq.Again:
        metrics.SEND_TIMEOUTS.labels(process=process, channel=channel).inc()
        return False


def payload_of(frames: list[bytes]) -> bytes | None:
    """The payload of a [topic, payload] PUB frame set, or None if it is malformed."""
    if len(frames) != 2:
        return None
    return frames[1]
