"""The control sender: delivers on its first attempt, and counts only genuine (MAC'd) acks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest
import zmq

from common import auth, bus
from common.messages import Ack, Kill
from common.nonce_store import NonceStore
from services.control.sender import deliver

SECRET = b"s" * 32


def _genuine(ack: Ack) -> bytes:
    return auth.seal_ack(ack, SECRET)


async def _acking_router(endpoint: str, stop: asyncio.Event,
                         reply: Callable[[Ack], bytes] = _genuine) -> list[str]:
    """A receiver that acknowledges every control frame with `reply(ack)`; returns the
    nonces it saw."""
    sock = bus.router(endpoint)
    verifier = auth.Verifier(SECRET, store=NonceStore(None))
    seen: list[str] = []
    try:
        while not stop.is_set():
            if not await sock.poll(20, zmq.POLLIN):
                continue
            ident, frame = await sock.recv_multipart()
            msg = verifier.open(frame)
            seen.append(msg.nonce)
            await sock.send_multipart([ident, reply(Ack(receiver="r", nonce=msg.nonce, ok=True))])
    finally:
        sock.close(linger=0)
    return seen


def test_first_attempt_is_delivered_to_a_fresh_dealer(tmp_path: Path) -> None:
    endpoint = f"ipc://{tmp_path}/control.sock"
    progress: list[str] = []

    async def main() -> tuple[dict[str, Ack | None], list[str], float]:
        stop = asyncio.Event()
        router = asyncio.create_task(_acking_router(endpoint, stop))
        await asyncio.sleep(0)  # let the router bind before the dealer connects
        t0 = time.monotonic()
        acks = await deliver(
            {"r": endpoint}, lambda n, ts: Kill(sender="t", nonce=n, ts_ns=ts, reason="test"),
            SECRET, ack_timeout_ms=2000, retries=3, on_progress=progress.append)
        elapsed = time.monotonic() - t0
        stop.set()
        return acks, await router, elapsed

    acks, seen, elapsed = asyncio.run(main())
    ack = acks["r"]
    assert ack is not None and ack.ok
    assert progress == [], "the first attempt was lost and retried"
    assert len(seen) == 1 and seen[0] == ack.nonce
    assert elapsed < 2.0  # answered within the first attempt's window


_raw = msgspec.msgpack.Encoder()


@pytest.mark.parametrize(("what", "reply"), [
    ("unsealed", lambda ack: _raw.encode(ack)),
    ("sealed with another secret", lambda ack: auth.seal_ack(ack, b"x" * 32)),
    ("sealed with the message key", lambda ack: auth.seal(
        Kill(sender="r", nonce=ack.nonce, ts_ns=time.time_ns(), reason="reflected"), SECRET)),
])
def test_a_forged_ack_is_not_counted(tmp_path: Path, what: str, reply: Callable[[Ack], bytes]) -> None:
    endpoint = f"ipc://{tmp_path}/control.sock"

    async def main() -> tuple[dict[str, Ack | None], list[str]]:
        stop = asyncio.Event()
        router = asyncio.create_task(_acking_router(endpoint, stop, reply))
        await asyncio.sleep(0)
        acks = await deliver(
            {"r": endpoint}, lambda n, ts: Kill(sender="t", nonce=n, ts_ns=ts, reason="test"),
            SECRET, ack_timeout_ms=100, retries=2)
        stop.set()
        return acks, await router

    acks, seen = asyncio.run(main())
    assert len(seen) == 2, f"the receiver got both attempts ({what})"  # the fault fired twice
    assert acks["r"] is None, what


@pytest.mark.parametrize(("detail", "needle"), [
    (None, "check that it runs"),
    ("bad_mac", "control secret differs"),
    ("stale", "check NTP"),
    ("future", "check NTP"),
    ("nonce_store", "free disk space"),
    ("storage fault: disk full; fix the disk, then reset again", "fix the disk, then reset again"),
])
def test_every_refusal_tells_the_operator_what_to_do(detail: str | None, needle: str) -> None:
    from services.control.commands import refusal_advice

    assert needle in refusal_advice(detail)
