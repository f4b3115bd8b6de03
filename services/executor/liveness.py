"""Risk liveness at an executor: the dead man's switch and the way back.

Risk publishes heartbeats; silence past `[executor] risk_timeout_ms` cancels every
order at the venue and refuses ladders. When heartbeats return, ladders stay refused
until a reconciliation with the venue has succeeded. A heartbeat from a new risk
instance (risk restarted within the timeout) is treated like a timeout: the old gate's
orders are cancelled, and ladders are taken again only from the new gate once reconciled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from common.errors import VenueError
from common.messages import Heartbeat
from services.executor.recovery import reconcile_until_done
from services.executor.replay import RiskLink
from services.executor.sequencer import Sequencer

__all__ = ["RiskWatch"]

log = logging.getLogger(__name__)


class RiskWatch:
    """Risk's heartbeats as the executor's state sees them (`ExecutorState.risk_ok`,
    `deadman_done`, `risk_instance`), and the cancels and resumes they cause."""

    def __init__(self, *, sequencer: Sequencer, risk_link: RiskLink, timeout_ms: int,
                 clock_ns: Callable[[], int], wall_ns: Callable[[], int]) -> None:
        self._sequencer = sequencer
        self._state = sequencer.state
        self._risk_link = risk_link
        self._timeout_ms = timeout_ms
        self._clock_ns = clock_ns
        self._wall_ns = wall_ns
        self._last_ns = clock_ns()
        self.resuming: asyncio.Task[None] | None = None
        """The reconcile-then-resume (or cancel-then-resume) under way, if any."""

    def on_heartbeat(self, hb: Heartbeat | None = None) -> None:
        """Note risk is alive; after the dead man's switch, re-arm only once reconciled.
        A first heartbeat, a restart or a return after silence replays fills (replay.py)."""
        state = self._state
        now = self._clock_ns()
        if hb is not None:
            self._risk_link.on_heartbeat(hb.seq, self._wall_ns(), now - self._last_ns)
            if hb.instance and hb.instance != state.risk_instance:
                if state.risk_instance:
                    self._on_new_gate(hb.instance)
                state.risk_instance = hb.instance
        self._last_ns = now
        if state.risk_ok:
            return
        if not state.deadman_done:
            log.info("risk heartbeats received")
            state.risk_ok = True
        elif self.resuming is None:
            log.info("risk heartbeats resumed: reconciling before quoting again")
            self.resuming = asyncio.create_task(self._resume(), name="resume")

    def _on_new_gate(self, instance: str) -> None:
        """Risk restarted (a new instance id) before its silence tripped the dead man's switch:
        the orders the old gate approved are nobody's now. Cancel everything, then reconcile
        and take ladders only from the new gate, as after a timeout."""
        state = self._state
        log.warning("risk restarted (instance %s -> %s): cancelling everything until "
                    "reconciled with the new gate", state.risk_instance, instance)
        self._sequencer.count("risk", "new_instance")
        state.risk_ok = False
        state.deadman_done = True  # only a completed resume re-arms
        state.drop_pending(None)
        if self.resuming is None:
            self.resuming = asyncio.create_task(self._replace_gate(), name="replace_gate")

    async def _replace_gate(self) -> None:
        """Cancel until the venue confirms, then resume (reconcile, accept ladders)."""
        try:
            while True:
                try:
                    outcome = await self._sequencer.cancel_scope(None, "risk_restart")
                    if not (outcome.ambiguous or outcome.failed):
                        break
                except VenueError as exc:
                    log.warning("cancel for the new risk gate failed (%s); retrying", exc)
                await asyncio.sleep(1.0)
        except BaseException:
            self.resuming = None
            raise
        await self._resume()

    async def _resume(self) -> None:
        """Risk is back after the dead man's switch: reconcile, then accept ladders again."""
        try:
            if await reconcile_until_done(self._sequencer):
                self._state.risk_ok = True
                self._state.deadman_done = False
                log.info("risk heartbeats resumed and the venue is reconciled: quoting resumes")
        finally:
            self.resuming = None

    async def watchdog(self) -> None:
        """Cancel everything once risk has been silent past the timeout (retried each second
        until the venue confirms)."""
        state = self._state
        timeout_ns = self._timeout_ms * 1_000_000
        period = min(self._timeout_ms / 4000, 0.05)
        retry_ns = 0
        while True:
            await asyncio.sleep(period)
            now = self._clock_ns()
            if now - self._last_ns <= timeout_ns:
                continue
            if state.risk_ok or (not state.deadman_done and now >= retry_ns):
                if state.risk_ok:
                    log.warning("no risk heartbeat for %d ms: cancelling everything",
                                self._timeout_ms)
                state.risk_ok = False
                state.drop_pending(None)
                outcome = await self._sequencer.cancel_scope(None, "risk_timeout")
                state.deadman_done = not (outcome.ambiguous or outcome.failed)
                retry_ns = now + 1_000_000_000
