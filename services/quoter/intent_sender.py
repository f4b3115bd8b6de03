"""The quoter's PUSH socket to risk, and how it sends when risk is slow or absent.

Three send paths, cheapest first:
1. a NOBLOCK send on a synchronous shadow of the socket (common/hotloop.py): no future, no
   event-loop round trip; this is the path while risk keeps up;
2. within `BACKOFF_NS` of a timed-out send (risk absent), a NOBLOCK send on the asyncio
   socket that fails at once, counted as a send timeout, so a dead risk never stalls the
   loop for a send timeout per market;
3. otherwise a send that waits up to `[bus] send_timeout_ms` (common/bus.py); a timeout
   starts the backoff window and is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import zmq
import zmq.asyncio

from common import bus, bus_curve, hotloop, metrics
from common.config import Config, endpoint

__all__ = ["BACKOFF_NS", "IntentSender"]

log = logging.getLogger(__name__)

BACKOFF_NS = 1_000_000_000
"""After a timed-out send, sends only try without waiting for this long (monotonic ns)."""


class IntentSender:
    """The `intents` PUSH to risk: `open(cfg)`, `send(payload)` per message, `close()`."""

    def __init__(self, process: str, mono_ns: Callable[[], int]) -> None:
        self._process = process
        self._mono = mono_ns
        self._push: zmq.asyncio.Socket | None = None
        self._push_now: zmq.Socket | None = None
        """A synchronous shadow of `_push` for NOBLOCK sends (common/hotloop.py)."""
        self._backoff_until = 0

    def open(self, cfg: Config) -> None:
        """Connect to risk's intents endpoint (CURVE with the quoter role's key when on)."""
        self._push = bus.push(
            [endpoint(cfg, "intents")], hwm=cfg.bus.send_hwm,
            send_timeout_ms=cfg.bus.send_timeout_ms,
            curve=bus_curve.client(cfg, "quoter", [("intents", "")]),
        )
        # the series exists at 0 from the start (the NOBLOCK hot path rarely reaches the
        # counting fallback, and a dashboard panel must not be empty until the first timeout)
        metrics.SEND_TIMEOUTS.labels(process=self._process, channel="intents")
        self._push_now = hotloop.shadow(self._push)

    def close(self) -> None:
        """Close the socket with linger 0 (a quote left unsent is stale by the restart)."""
        if self._push is not None:
            self._push.close(linger=0)
        self._push = self._push_now = None

    async def send(self, payload: bytes) -> bool:
        """PUSH one encoded message to risk; False when risk did not take it."""
        assert self._push is not None
        if self._push_now is not None:
            try:
                self._push_now.send(payload, hotloop.NOBLOCK)
                self._backoff_until = 0
                return True
            except zmq.Again:
                pass  # risk absent or the queue full: the timed send below decides
        now = self._mono()
        if now < self._backoff_until:
            try:
                await self._push.send(payload, flags=zmq.NOBLOCK)
            except zmq.Again:
                metrics.SEND_TIMEOUTS.labels(process=self._process, channel="intents").inc()
                return False
            self._backoff_until = 0
            return True
        sent = await bus.send_push(self._push, payload, process=self._process, channel="intents")
        if not sent:
            self._backoff_until = now + BACKOFF_NS
            log.warning("risk did not take an intent; is it running?")
        return sent
