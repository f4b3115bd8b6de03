"""Control messages at an executor: Kill, Reset, Pause, Flatten (authenticated, acknowledged).

Kill and Flatten cancel first and acknowledge after, so an Ack means the venue was
asked and answered; the Ack is `ok` only when the cancel was definitive. Kill latches
until Reset. Pause is risk's business (it stops approving), so it is acknowledged only.
Flatten at an executor cancels every order in scope; working the inventory out is
risk's job (it sends exit orders through ApprovedIntent.exit_bids/exit_asks).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from common import metrics
from common.errors import AuthError, StorageError
from common.messages import Ack, Flatten, Kill, Pause, Reset

if TYPE_CHECKING:
    from services.executor.process import ExecutorActor

log = logging.getLogger(__name__)


async def handle_control(actor: ExecutorActor, frame: bytes) -> Ack:
    """Authenticate and apply one control frame; return the Ack to send back."""
    name = actor.name
    try:
        msg = actor.verifier.open(frame)
    except AuthError as exc:
        metrics.CONTROL_REJECTED.labels(process=name, reason=str(exc)).inc()
        return Ack(receiver=name, nonce="", ok=False, detail=str(exc))
    match msg:
        case Kill():
            if msg.venue and msg.venue != actor.venue:
                return Ack(receiver=name, nonce=msg.nonce, ok=True, detail="other venue")
            if msg.market and msg.market not in actor.markets:
                return Ack(receiver=name, nonce=msg.nonce, ok=True, detail="no such market")
            log.warning("kill: %s", msg.reason, extra={"market": msg.market, "order_id": ""})
            if msg.market:
                actor.killed_markets.add(msg.market)
                actor.drop_pending(msg.market)
            else:
                actor.kill_all = True
                actor.drop_pending(None)
            metrics.KILL_ACTIVE.labels(process=name).set(1)
            outcome = await actor.cancel_scope(msg.market or None, "kill")
            ok = not (outcome.ambiguous or outcome.failed)
            return Ack(receiver=name, nonce=msg.nonce, ok=ok, detail=outcome.reason)
        case Reset():
            actor.kill_all = False
            actor.killed_markets.clear()
            metrics.KILL_ACTIVE.labels(process=name).set(0)
            return Ack(receiver=name, nonce=msg.nonce, ok=True)
        case Pause():
            return Ack(receiver=name, nonce=msg.nonce, ok=True, detail="risk pauses")
        case Flatten():
            if msg.market and msg.market not in actor.markets:
                return Ack(receiver=name, nonce=msg.nonce, ok=True, detail="no such market")
            log.warning("flatten: cancelling %s", msg.market or "every market",
                        extra={"market": msg.market, "order_id": ""})
            actor.drop_pending(msg.market or None)
            outcome = await actor.cancel_scope(msg.market or None, "flatten")
            ok = not (outcome.ambiguous or outcome.failed)
            return Ack(receiver=name, nonce=msg.nonce, ok=ok,
                       detail=outcome.reason or "orders cancelled; risk works the exit")
    return Ack(receiver=name, nonce="", ok=False, detail="unsupported")


def storage_fault(actor: ExecutorActor, exc: StorageError) -> None:
    """A journal write failed (disk full, I/O error): latch the kill switch, drop what is
    pending and cancel everything in the background, so the caller (a fill handler, a
    worker, reconciliation) carries on and the process stays up and answering. Released by
    `pmm reset`; a write that fails again latches it again."""
    if actor.kill_all:
        return
    log.error("%s: kill switch latched, every order cancelled. Free disk space or repair "
              "%s, then run `pmm reset`", exc, actor.journal.path,
              extra={"market": "", "order_id": ""})
    actor.kill_all = True
    actor.drop_pending(None)
    metrics.KILL_ACTIVE.labels(process=actor.name).set(1)
    actor.fault_cancel = asyncio.create_task(actor.cancel_scope(None, "storage_fault"),
                                             name="storage_fault")
