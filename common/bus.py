"""ZeroMQ sockets for the bus, with every option set where the socket is made.

- PUB: SNDHWM bounds the queue; PUB drops silently at the mark, so hot-path
  publishers are sized generously and subscribers conflate.
- PUSH (commands): SNDHWM, IMMEDIATE=1 (never queue for a peer that is not
  connected), SNDTIMEO (never block the loop forever); every timeout is counted.
- Every socket: LINGER=0, so a dead peer never holds a process at exit.
A frame that does not decode is dropped and counted (`pmm_bus_dropped_frames_total`).

CURVE (issue 6): `server_curve`/`client_curve` read `[bus.curve]`; pass the result as
`curve=` to a socket factory and the options are set before bind/connect (only for tcp://
endpoints). A process with CURVE server sockets runs `start_authenticator`, which refuses
to start on a missing or empty trusted-keys directory (libzmq only logs it) and counts
every refused peer (`pmm_bus_auth_refused_total`).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import msgspec
import zmq
import zmq.asyncio

from common import metrics
from common.errors import BusError

if TYPE_CHECKING:
    from common.config import CurveConfig

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
    """CURVE keys for one side of a socket (z85 bytes). `server_key` set means client."""

    public_key: bytes
    secret_key: bytes
    server_key: bytes = b""


def _load_cert(path: str, field: str, *, secret: bool) -> tuple[bytes, bytes]:
    import zmq.auth

    if not path:
        raise BusError(f"[bus.curve] {field} is empty; set it to a zmq.auth certificate file")
    try:
        public, secret_key = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as exc:
        raise BusError(f"[bus.curve] {field} {path}: cannot load certificate: {exc}") from exc
    if secret and not secret_key:
        raise BusError(f"[bus.curve] {field} {path} has no secret key; use the .key_secret file")
    return public, secret_key or b""


def server_curve(cfg: CurveConfig) -> Curve | None:
    """CURVE server keys from `[bus.curve] server_cert`, or None when CURVE is off."""
    if not cfg.enabled:
        return None
    public, secret = _load_cert(cfg.server_cert, "server_cert", secret=True)
    return Curve(public_key=public, secret_key=secret)


def client_curve(cfg: CurveConfig) -> Curve | None:
    """CURVE client keys (`client_cert`, `server_public`), or None when CURVE is off."""
    if not cfg.enabled:
        return None
    public, secret = _load_cert(cfg.client_cert, "client_cert", secret=True)
    server, _ = _load_cert(cfg.server_public, "server_public", secret=False)
    return Curve(public_key=public, secret_key=secret, server_key=server)


def apply_curve(sock: zmq.asyncio.Socket, curve: Curve | None, endpoints: Iterable[str]) -> None:
    """Set CURVE options on a socket before it binds or connects (tcp:// endpoints only)."""
    if curve is None or not any(ep.startswith("tcp://") for ep in endpoints):
        return
    sock.setsockopt(zmq.CURVE_PUBLICKEY, curve.public_key)
    sock.setsockopt(zmq.CURVE_SECRETKEY, curve.secret_key)
    if curve.server_key:
        sock.setsockopt(zmq.CURVE_SERVERKEY, curve.server_key)
    else:
        sock.setsockopt(zmq.CURVE_SERVER, 1)
        sock.setsockopt_string(zmq.ZAP_DOMAIN, "pmm")


def start_authenticator(cfg: CurveConfig, *, process: str) -> Any | None:
    """Start the ZAP handler that admits only the keys in `trusted_keys_dir`.

    Returns the authenticator (call `.stop()` on the way out), or None when CURVE is off.
    Raises BusError if the directory is missing or holds no public key: libzmq would only
    log it, and every peer would then be refused (or, without ZAP, admitted)."""
    if not cfg.enabled:
        return None
    import zmq.auth
    from zmq.auth.thread import ThreadAuthenticator

    where = cfg.trusted_keys_dir
    if not where or not Path(where).is_dir():
        raise BusError(f"[bus.curve] trusted_keys_dir {where!r} is not a directory; create it "
                       "and copy each client's public .key certificate into it")
    keys = zmq.auth.load_certificates(where)
    if not keys:
        raise BusError(f"[bus.curve] trusted_keys_dir {where} holds no public key (*.key); "
                       "no client could connect")
    refused = metrics.BUS_AUTH_REFUSED.labels(process=process)

    class _Counting(ThreadAuthenticator):
        async def _authenticate_curve(self, domain: str, client_key: bytes) -> tuple[bool, bytes]:
            allowed, reason = await super()._authenticate_curve(domain, client_key)
            if not allowed:
                refused.inc()
                log.warning("CURVE peer refused: %s", reason.decode(errors="replace"),
                            extra={"role_process": process})
            return allowed, reason

    auth = _Counting(context())
    auth.start()
    auth.configure_curve(domain="pmm", location=where)  # the ZAP_DOMAIN apply_curve sets
    log.info("CURVE authenticator: %d trusted keys", len(keys), extra={"dir": where})
    return auth


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


def connect(sock: zmq.asyncio.Socket, endpoints: Iterable[str]) -> None:
    for ep in endpoints:
        _prepare_ipc(ep)
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
    apply_curve(sock, curve, endpoints)
    for topic in topics:
        sock.setsockopt(zmq.SUBSCRIBE, topic)
    connect(sock, endpoints)
    return sock


def push(
    endpoints: Iterable[str], *, hwm: int = 1_000, send_timeout_ms: int = 100,
    curve: Curve | None = None,
) -> zmq.asyncio.Socket:
    endpoints = list(endpoints)
    sock = _socket(zmq.PUSH)
    apply_curve(sock, curve, endpoints)
    sock.setsockopt(zmq.SNDHWM, hwm)
    sock.setsockopt(zmq.IMMEDIATE, 1)
    sock.setsockopt(zmq.SNDTIMEO, send_timeout_ms)
    connect(sock, endpoints)
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
    apply_curve(sock, curve, [endpoint])
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
