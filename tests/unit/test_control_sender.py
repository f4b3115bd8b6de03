"""The control sender delivers on its first attempt, not after an ack timeout."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import msgspec
import zmq

from common import auth, bus
from common.messages import Ack, Kill
from services.control.sender import deliver

SECRET = b"s" * 32


async def _acking_router(endpoint: str, stop: asyncio.Event) -> list[str]:
    """A receiver that acknowledges every control frame; returns the nonces it saw."""
    sock = bus.router(endpoint)
    verifier = auth.Verifier(SECRET)
    enc = msgspec.msgpack.Encoder()
    seen: list[str] = []
    try:
        while not stop.is_set():
            if not await sock.poll(20, zmq.POLLIN):
                continue
            ident, frame = await sock.recv_multipart()
            msg = verifier.open(frame)
            seen.append(msg.nonce)
            await sock.send_multipart([ident, enc.encode(Ack(receiver="r", nonce=msg.nonce, ok=True))])
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
