"""Risk liveness at an executor: the dead man's switch and the way back.

Risk publishes heartbeats; silence past `[executor] risk_timeout_ms` cancels every
order at the venue and refuses ladders. When heartbeats return, ladders stay refused
until a reconciliation with the venue has succeeded (recovery.resume).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from common import bus
from common.errors import VenueError
from common.messages import Heartbeat, ReplayRequest
from services.executor import recovery

if TYPE_CHECKING:
    from services.executor.process import ExecutorActor

    _Base = ExecutorActor
else:
    _Base = object

log = logging.getLogger(__name__)


class LivenessMixin(_Base):
    """Risk-heartbeat handling of ExecutorActor."""

    # --- risk liveness -----------------------------------------------------------------------

    async def _state_loop(self) -> None:
        while True:
            payload = bus.payload_of(await self._state.recv_multipart())
            msg = self._state_codec.decode(payload) if payload is not None else None
            if isinstance(msg, Heartbeat) and msg.role == "risk":
                self.on_risk_heartbeat(msg)
            elif isinstance(msg, ReplayRequest) and msg.venue == self.venue:
                self.risk_link.request(msg.since_ns - self._cfg.executor.fill_replay_margin_ms
                                       * 1_000_000, f"risk saw {msg.reason}")

    def on_risk_heartbeat(self, hb: Heartbeat | None = None) -> None:
        """Note risk is alive; after the dead man's switch, re-arm only once reconciled.
        A first heartbeat, a restart or a return after silence replays fills (replay.py)."""
        now = self._clock_ns()
        if hb is not None:
            self.risk_link.on_heartbeat(hb.seq, self._wall_ns(), now - self._last_risk_ns)
            if hb.instance and hb.instance != self.risk_instance:
                if self.risk_instance:
                    self.on_new_gate(hb.instance)
                self.risk_instance = hb.instance
        self._last_risk_ns = now
        if self.risk_ok:
            return
        if not self.deadman_done:
            log.info("risk heartbeats received")
            self.risk_ok = True
        elif self.resuming is None:
            log.info("risk heartbeats resumed: reconciling before quoting again")
            self.resuming = asyncio.create_task(recovery.resume(self), name="resume")

    def on_new_gate(self, instance: str) -> None:
        """Risk restarted (a new instance id) before its silence tripped the dead man's switch:
        the orders the old gate approved are nobody's now. Cancel everything, then reconcile
        and take ladders only from the new gate, as after a timeout."""
        log.warning("risk restarted (instance %s -> %s): cancelling everything until "
                    "reconciled with the new gate", self.risk_instance, instance)
        self._count("risk", "new_instance")
        self.risk_ok = False
        self.deadman_done = True  # only a completed resume re-arms
        self.drop_pending(None)
        if self.resuming is None:
            self.resuming = asyncio.create_task(self._replace_gate(), name="replace_gate")

    async def _replace_gate(self) -> None:
        """Cancel until the venue confirms, then resume (reconcile, accept ladders)."""
        try:
            while True:
                try:
                    outcome = await self.cancel_scope(None, "risk_restart")
                    if not (outcome.ambiguous or outcome.failed):
                        break
                except VenueError as exc:
                    log.warning("cancel for the new risk gate failed (%s); retrying", exc)
                await asyncio.sleep(1.0)
        except BaseException:
            self.resuming = None
            raise
        await recovery.resume(self)

    async def _watchdog_loop(self) -> None:
        timeout_ns = self._cfg.executor.risk_timeout_ms * 1_000_000
        period = min(self._cfg.executor.risk_timeout_ms / 4000, 0.05)
        retry_ns = 0
        while True:
            await asyncio.sleep(period)
            now = self._clock_ns()
            if now - self._last_risk_ns <= timeout_ns:
                continue
            if self.risk_ok or (not self.deadman_done and now >= retry_ns):
                if self.risk_ok:
                    log.warning("no risk heartbeat for %d ms: cancelling everything",
                                self._cfg.executor.risk_timeout_ms)
                self.risk_ok = False
                self.drop_pending(None)
                outcome = await self.cancel_scope(None, "risk_timeout")
                self.deadman_done = not (outcome.ambiguous or outcome.failed)
                retry_ns = now + 1_000_000_000

