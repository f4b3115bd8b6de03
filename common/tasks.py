"""Stopping asyncio tasks without swallowing the stopper's own cancellation.

Cancelling a task and awaiting it inside `contextlib.suppress(CancelledError)` is a trap:
if the *caller* is cancelled while it waits there, the suppress absorbs the caller's
cancellation, and the caller carries on as if nothing happened. It left a Polymarket
executor reconnecting to a dead venue forever after supervisord was killed (its
user-channel task was cancelled while it reaped its pinger), so the stack's stop never
finished. `reap` waits with
`asyncio.wait`, which never raises a child's outcome and always raises the caller's own
cancellation.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

__all__ = ["STOP_GRACE_S", "reap"]

log = logging.getLogger(__name__)

STOP_GRACE_S = 5.0
"""How long a stopping process waits for its tasks to finish their cancellation."""


async def reap(*tasks: asyncio.Future[Any], grace_s: float | None = None,
               what: str = "") -> set[asyncio.Future[Any]]:
    """Cancel `tasks` and wait until every one is done, or `grace_s` s; return those still
    running (logged at ERROR naming `what`). A child's exception is retrieved and dropped
    (the owner reports the ones it cares about before reaping); a cancellation of the
    caller propagates."""
    for task in tasks:
        task.cancel()
    if not tasks:
        return set()
    done, pending = await asyncio.wait(tasks, timeout=grace_s)
    for task in done:
        if not task.cancelled():
            task.exception()
    if pending:
        names = sorted(t.get_name() if isinstance(t, asyncio.Task) else repr(t) for t in pending)
        log.error("%d task(s) of %s still running %.1f s after their cancellation: %s",
                  len(pending), what or "this process", grace_s or 0.0, ", ".join(names))
    return pending
