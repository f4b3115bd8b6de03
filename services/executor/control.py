"""Control messages at an executor: Kill, Reset, Pause, Flatten (authenticated, acknowledged).

Kill and Flatten cancel first and acknowledge after, so an Ack means the venue was
asked and answered; the Ack is `ok` only when the cancel was definitive. Kill latches
until Reset. Pause is risk's business (it stops approving), so it is acknowledged only.
Flatten at an executor cancels every order in scope; working the inventory out is
risk's job (it sends exit orders through ApprovedIntent.exit_bids/exit_asks).
"""

from __future__ import annotations

import logging

from common import metrics
from common.auth import Verifier
from common.errors import AuthError
from common.messages import Ack, Flatten, Kill, Pause, Reset
from services.executor.sequencer import Sequencer

__all__ = ["handle_control"]

log = logging.getLogger(__name__)


async def handle_control(frame: bytes, *, verifier: Verifier,
                         sequencer: Sequencer) -> Ack:
    """Authenticate and apply one control frame; return the Ack to send back."""
    name, state = sequencer.name, sequencer.state
    try:
        msg = verifier.open(frame)
    except AuthError as exc:
        metrics.CONTROL_REJECTED.labels(process=name, reason=str(exc)).inc()
        return Ack(receiver=name, nonce="", ok=False, detail=str(exc))
    match msg:
        case Kill():
            if msg.venue and msg.venue != sequencer.venue:
                return Ack(receiver=name, nonce=msg.nonce, ok=True, detail="other venue")
            if msg.market and msg.market not in state.markets:
                return Ack(receiver=name, nonce=msg.nonce, ok=True, detail="no such market")
            log.warning("kill: %s", msg.reason, extra={"market": msg.market, "order_id": ""})
            state.latch_kill(msg.market or None)
            metrics.KILL_ACTIVE.labels(process=name).set(1)
            if not state.reconciled:  # starting: nothing sent yet; startup cancels the rest
                return Ack(receiver=name, nonce=msg.nonce, ok=True,
                           detail="latched while starting: nothing sent yet, and what rests "
                                  "at the venue is cancelled once it answers")
            outcome = await sequencer.cancel_scope(msg.market or None, "kill")
            ok = not (outcome.ambiguous or outcome.failed)
            return Ack(receiver=name, nonce=msg.nonce, ok=ok, detail=outcome.reason)
        case Reset():
            state.reset_kill()
            metrics.KILL_ACTIVE.labels(process=name).set(0)
            return Ack(receiver=name, nonce=msg.nonce, ok=True)
        case Pause():
            return Ack(receiver=name, nonce=msg.nonce, ok=True, detail="risk pauses")
        case Flatten():
            if msg.market and msg.market not in state.markets:
                return Ack(receiver=name, nonce=msg.nonce, ok=True, detail="no such market")
            log.warning("flatten: cancelling %s", msg.market or "every market",
                        extra={"market": msg.market, "order_id": ""})
            state.drop_pending(msg.market or None)
            outcome = await sequencer.cancel_scope(msg.market or None, "flatten")
            ok = not (outcome.ambiguous or outcome.failed)
            return Ack(receiver=name, nonce=msg.nonce, ok=ok,
                       detail=outcome.reason or "orders cancelled; risk works the exit")
    return Ack(receiver=name, nonce="", ok=False, detail="unsupported")
