"""ZeroMQ sockets for the bus, with every option set where the socket is made.

- PUB: SNDHWM bounds the queue; PUB drops silently at the mark, so hot-path
  publishers are sized generously and subscribers conflate.
- PUSH (commands): SNDHWM, IMMEDIATE=1 (never queue for a peer that is not
  connected), SNDTIMEO (never block the loop forever); every timeout is counted.
- Every socket: LINGER=0, so a dead peer never holds a process at exit.
A frame that does not decode is dropped and counted (`pmm_bus_dropped_frames_total`).

CURVE (issues 6, 15): `common.bus_curve` builds a `Curve` per socket from the role keys in
`[bus.curve] keys_dir`; pass it as `curve=` to a socket factory and the options are set
before bind/connect, for tcp:// endpoints only. A process that binds CURVE sockets runs
`bus_curve.start_authenticator`, which admits per socket (ZAP domain) only the roles on its
allow-list and counts every refused peer (`pmm_bus_auth_refused_total`).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Generic, TypeVar

import msgspec
import zmq
import zmq.asyncio

from common import metrics
from common.errors import BusError

__all__ = ["Codec", "Curve", "MAX_MESSAGE_BYTES", "T", "apply_curve", "bind", "connect",
    "context", "dealer", "ipc_holder_alive", "payload_of", "pub", "pull", "push", "router",
    "send_pub", "send_push", "sub"]

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


class Curve(msgspec.Struct, frozen=True, kw_only=True):
    """CURVE keys for one socket (z85 bytes), made by `common.bus_curve`.

    A server has `zap_domain` (its allow-list in the process's authenticator); a client has
    `server_keys`, the public key of the server behind each tcp:// endpoint it connects."""

    public_key: bytes
    secret_key: bytes
    zap_domain: str = ""
    server_keys: dict[str, bytes] = {}


def apply_curve(sock: zmq.asyncio.Socket, curve: Curve | None, endpoints: Iterable[str]) -> None:
    """Make `sock` a CURVE server before it binds a tcp:// endpoint (clients: `connect`).

    ZAP_ENFORCE_DOMAIN: with no authenticator running, libzmq refuses every peer instead of
    admitting it."""
    if curve is None or not curve.zap_domain or not any(ep.startswith("tcp://") for ep in endpoints):
        return
    sock.setsockopt(zmq.CURVE_PUBLICKEY, curve.public_key)
    sock.setsockopt(zmq.CURVE_SECRETKEY, curve.secret_key)
    sock.setsockopt(zmq.CURVE_SERVER, 1)
    sock.setsockopt_string(zmq.ZAP_DOMAIN, curve.zap_domain)
    sock.setsockopt(zmq.ZAP_ENFORCE_DOMAIN, 1)


def ipc_holder_alive(path: str, *, timeout_s: float = 1.0) -> bool:
    """Whether a live process listens on the unix socket at `path` (probed by connecting).

    A refused connection means the file is left over from a process that died; a timeout
    (a listener too busy to accept) counts as alive, so we never take over its endpoint."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(timeout_s)
    try:
        probe.connect(path)
    except (ConnectionRefusedError, FileNotFoundError):
        return False
    except TimeoutError:
        return True
    except OSError as exc:  # not a socket, or no permission: not ours to remove either way
        raise BusError(f"cannot probe ipc://{path}: {exc.strerror}") from exc
    finally:
        probe.close()
    return True


def _held(path: str, *, probes: int = 5, gap_s: float = 0.05) -> bool:
    """Held by a live process on every probe: a socket this process just closed can still
    accept for a moment while libzmq's I/O thread tears it down, so one probe is not enough."""
    for attempt in range(probes):
        if not ipc_holder_alive(path):
            return False
        if attempt + 1 < probes:
            time.sleep(gap_s)
    return True


def bind(sock: zmq.asyncio.Socket, endpoint: str) -> None:
    """Bind `sock`; an ipc endpoint held by a live process is refused, a stale one reused.
    On refusal the socket is closed, so a caller that fails to start leaks nothing."""
    _prepare_ipc(endpoint)
    if endpoint.startswith("ipc://"):
        path = endpoint[len("ipc://") :]
        if _held(path):
            sock.close(linger=0)
            raise BusError(
                f"cannot bind {endpoint}: a running process already listens on it (another "
                "stack with the same run_dir?); stop that stack with `pmm down` or give this "
                "one another [stack] run_dir"
            )
        try:
            os.unlink(path)  # a socket file left by a process that died
        except FileNotFoundError:
            pass
    try:
        sock.bind(endpoint)
    except zmq.ZMQError as exc:
        sock.close(linger=0)
        raise BusError(f"cannot bind {endpoint}: {exc}; is another stack running?") from exc


def connect(sock: zmq.asyncio.Socket, endpoints: Iterable[str], curve: Curve | None = None) -> None:
    """Connect every endpoint; with `curve`, each tcp:// one as a CURVE client of its server.

    libzmq copies the options at each connect, so the server key is set per endpoint; the
    local endpoints are connected first, before any CURVE option, and stay plain."""
    endpoints = list(endpoints)
    remote = [ep for ep in endpoints if ep.startswith("tcp://")] if curve is not None else []
    for ep in endpoints:
        if ep not in remote:
            _prepare_ipc(ep)
            sock.connect(ep)
    if not remote:
        return
    assert curve is not None
    sock.setsockopt(zmq.CURVE_PUBLICKEY, curve.public_key)
    sock.setsockopt(zmq.CURVE_SECRETKEY, curve.secret_key)
    for ep in remote:
        key = curve.server_keys.get(ep)
        if not key:
            raise BusError(f"no CURVE server key for {ep}; build the socket's keys with "
                           "common.bus_curve.client for every endpoint it connects")
        sock.setsockopt(zmq.CURVE_SERVERKEY, key)
        sock.connect(ep)


def pub(endpoint: str, *, hwm: int = 10_000, curve: Curve | None = None) -> zmq.asyncio.Socket:
    sock = _socket(zmq.PUB)
    sock.setsockopt(zmq.SNDHWM, hwm)
    apply_curve(sock, curve, [endpoint])
    bind(sock, endpoint)
    return sock


def sub(
    endpoints: Iterable[str], topics: Iterable[bytes], *, hwm: int = 10_000,
    curve: Curve | None = None,
) -> zmq.asyncio.Socket:
    endpoints = list(endpoints)
    sock = _socket(zmq.SUB)
    sock.setsockopt(zmq.RCVHWM, hwm)
    for topic in topics:
        sock.setsockopt(zmq.SUBSCRIBE, topic)
    connect(sock, endpoints, curve)
    return sock


def push(
    endpoints: Iterable[str], *, hwm: int = 1_000, send_timeout_ms: int = 100,
    curve: Curve | None = None,
) -> zmq.asyncio.Socket:
    endpoints = list(endpoints)
    sock = _socket(zmq.PUSH)
    sock.setsockopt(zmq.SNDHWM, hwm)
    sock.setsockopt(zmq.IMMEDIATE, 1)
    sock.setsockopt(zmq.SNDTIMEO, send_timeout_ms)
    connect(sock, endpoints, curve)
    return sock


def pull(endpoint: str, *, hwm: int = 10_000, curve: Curve | None = None) -> zmq.asyncio.Socket:
    sock = _socket(zmq.PULL)
    apply_curve(sock, curve, [endpoint])
    sock.setsockopt(zmq.RCVHWM, hwm)
    bind(sock, endpoint)
    return sock


def router(endpoint: str, *, curve: Curve | None = None) -> zmq.asyncio.Socket:
    sock = _socket(zmq.ROUTER)
    apply_curve(sock, curve, [endpoint])
    sock.setsockopt(zmq.ROUTER_MANDATORY, 0)
    sock.setsockopt(zmq.RCVHWM, 1_000)
    sock.setsockopt(zmq.SNDHWM, 1_000)
    bind(sock, endpoint)
    return sock


def dealer(endpoint: str, *, curve: Curve | None = None) -> zmq.asyncio.Socket:
    sock = _socket(zmq.DEALER)
    sock.setsockopt(zmq.IMMEDIATE, 1)
    sock.setsockopt(zmq.SNDHWM, 100)
    connect(sock, [endpoint], curve)
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
