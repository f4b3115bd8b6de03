"""Deliver a control message to risk and every executor directly, retrying until each acks.

Works with the control process down: the CLI calls this itself. Each receiver binds
a ROUTER; we connect one DEALER per receiver, send a sealed envelope, and resend
(with a fresh nonce) until an Ack arrives or the retries run out. An Ack counts only if
its MAC (the ack key, `common/auth.py`) checks and it names this attempt's nonce: a
forged, altered or replayed ack is ignored and counted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import logging

import zmq

from common import auth, bus, metrics
from common.errors import AuthError
from common.messages import Ack, ControlMessage

__all__ = ["deliver"]

log = logging.getLogger(__name__)


async def deliver(
    targets: dict[str, str],
    make: Callable[[str, int], ControlMessage],
    secret: bytes,
    *,
    ack_timeout_ms: int = 300,
    retries: int = 10,
    on_progress: Callable[[str], None] | None = None,
    curves: dict[str, bus.Curve | None] | None = None,
) -> dict[str, Ack | None]:
    """Send `make(nonce, ts_ns)` to every target; return each target's Ack (None if silent).

    A fresh nonce is made per attempt: a receiver that got an earlier attempt but whose
    ack was lost acts again, which is safe because every control action is idempotent.
    `curves` (`bus_curve.control_curves`) holds the CURVE client keys per target for
    tcp:// endpoints of a stack with [bus.curve] on.
    """
    results: dict[str, Ack | None] = {name: None for name in targets}

    async def one(name: str, endpoint: str) -> None:
        sock = bus.dealer(endpoint, curve=(curves or {}).get(name))
        try:
            for attempt in range(retries):
                msg = make(auth.new_nonce(), time.time_ns())
                # The dealer is IMMEDIATE: it is writable only once connected. Wait for
                # that (bounded) so the first attempt is not lost to a just-made socket.
                await sock.poll(ack_timeout_ms, zmq.POLLOUT)  # type: ignore[call-arg]
                try:
                    await sock.send(auth.seal(msg, secret), flags=zmq.NOBLOCK)
                except zmq.Again:
                    pass
                deadline = time.monotonic() + ack_timeout_ms / 1000
                while (left := deadline - time.monotonic()) > 0:
                    if not await sock.poll(int(left * 1000) + 1, zmq.POLLIN):  # type: ignore[call-arg]
                        break
                    try:
                        ack = auth.open_ack(await sock.recv(), secret)
                    except AuthError as exc:
                        metrics.CONTROL_REJECTED.labels(process="control-sender",
                                                        reason=f"ack_{exc}").inc()
                        log.warning("ack from %s refused: %s", name, exc)
                        continue
                    if ack.nonce == msg.nonce:
                        results[name] = ack
                        return
                if on_progress:
                    on_progress(f"no ack from {name} yet (attempt {attempt + 1}/{retries})")
        finally:
            sock.close(linger=0)

    await asyncio.gather(*(one(n, ep) for n, ep in targets.items()))
    return results
