"""Applying one approved ladder to the venue: budget, cancels, amends, placements.

The order of the steps keeps us from crossing ourselves. No step may leave a BUY YES at or
above our own ask, which is a BUY NO at its complement:

1. Reserve the venue budget for the placements and amends before anything is sent
   (`affordable`).
2. Send the cancels and the amends that lower an order's own price, together. Neither can
   cross anything. (A lowering amend onto a level another of our orders still holds waits
   for step 3.)
3. Send the remaining amends and the new placements, together. Every order on the other
   side is now at its new price or still lower. The new ladder does not cross itself, so
   neither can these. A level still held by an order whose cancel failed is left alone:
   one order per level, never two.
4. Cancel any order whose amend did not surely apply. It must not rest at a stale price.

A kill, cancel or dead man's switch while a step is on the wire supersedes it: orders it
placed are cancelled at once (the per-market cancel epoch).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from common import metrics
from common.messages import ApprovedIntent, Level
from services.executor.adapter import InFlight, Rejected
from services.executor.diff import diff, express_ladder, pair_amends, snap_ladder
from services.executor.orders import Actions, Amend, DesiredOrder
from services.executor.placing import exits_due, journal_results

if TYPE_CHECKING:
    from services.executor.process import ExecutorActor

log = logging.getLogger(__name__)

MAX_DEFER_S = 2.0
"""Longest a requote waits for the venue budget before cancelling anyway (see affordable)."""


async def apply_intent(actor: ExecutorActor, intent: ApprovedIntent, recv_ns: int) -> None:
    """Diff the ladder against our live orders and apply it in the module's four steps."""
    m = intent.market
    if actor.blocked(m) or actor.wall_ns() > intent.expires_at_ns:
        return
    epoch = actor.cancel_epoch[m]
    planned = await affordable(actor, intent, recv_ns, epoch)
    if planned is None:
        return
    intent, recv_ns, actions, invalid = planned
    exits = exits_due(actor, intent, actor.markets[m])
    if invalid:
        actor.count("place", "invalid_level", len(invalid))
    held = _held(actor, m)
    first = [a for a in actions.amends if not a.raises and _free(held, a.to, a.order.order_id)]
    then = [a for a in actions.amends if a not in first]
    await asyncio.gather(actor.cancel_ids(list(actions.cancels), reason="requote"),
                         _amend(actor, m, first))
    if actor.cancel_epoch[m] != epoch:
        return
    # A cancel that failed (a 429 on its last try, say) leaves its order resting: nothing may
    # join it at its price, or the level would rest twice. The next ladder retries.
    held = _held(actor, m)
    then = [a for a in then if _free(held, a.to, a.order.order_id)]
    placements = [d for d in actions.placements if _free(held, d, "")]
    if len(placements) < len(actions.placements):
        actor.count("place", "level_busy", len(actions.placements) - len(placements))
    await asyncio.gather(_amend(actor, m, then),
                         _place(actor, intent, recv_ns, [*placements, *exits], epoch))


def _held(actor: ExecutorActor, market: str) -> dict[tuple[str, int], str]:
    """(token, price) -> id of the order of ours resting there (live, in flight or cancelling)."""
    return {(o.token, o.price): o.order_id for o in actor.ledger.in_market(market)}


def _free(held: dict[tuple[str, int], str], to: DesiredOrder, mover: str) -> bool:
    """True if no order of ours but `mover` (the one being amended) rests at `to`'s level."""
    return held.get((to.token, to.price), mover) == mover


async def affordable(
    actor: ExecutorActor, intent: ApprovedIntent, recv_ns: int, epoch: int,
) -> tuple[ApprovedIntent, int, Actions, list[Level]] | None:
    """The diff to apply for `intent`, once the venue budget can pay for what it sends.

    A ladder waits here, before any of its requests, until the budget can pay for all of
    its placements and amends, so they leave together with its cancels. Cancelling at once
    and placing when tokens refill would leave the market empty for as long as the budget
    is short: Kalshi's Basic tier pays for 10 placements or amends per second. Amends
    queued in the bucket would each arrive stale. Meanwhile the live orders keep resting,
    and a newer ladder that arrives replaces this one (conflation). Pure cancels (pulls)
    never wait. The wait is capped at MAX_DEFER_S, so a long 429 back-off cannot keep old
    quotes resting. Returns None when a kill, a cancel or the intent's expiry came while
    waiting.
    """
    m = intent.market
    tokens = actor.markets[m]
    deadline = actor.clock_ns() + int(MAX_DEFER_S * 1e9)
    deferred = False
    while True:
        actor.last_intent[m] = (intent, recv_ns)
        desired, invalid = express_ladder(tokens, *snap_ladder(intent.bids, intent.asks,
                                                               tokens.tick))
        live = actor.ledger.in_market(m)
        actions = diff(desired, live)
        if actor.adapter.can_amend:
            actions = pair_amends(actions, live)
        sends = len(actions.placements) + len(actions.amends)
        wait = actor.adapter.reserve_placements(m, sends) if sends else 0.0
        left = (deadline - actor.clock_ns()) / 1e9
        if wait <= 0 or left <= 0:
            return intent, recv_ns, actions, invalid
        if not deferred:
            deferred = True
            actor.count("requote", "deferred")
        await asyncio.sleep(min(wait, left))
        newer = actor.pending.pop(m, None)
        if newer is not None:
            intent, recv_ns = newer
        if (actor.blocked(m) or actor.cancel_epoch[m] != epoch
                or actor.wall_ns() > intent.expires_at_ns):
            return None


async def _amend(actor: ExecutorActor, market: str, amends: list[Amend]) -> None:
    """Send `amends`, record what applied, and cancel the orders whose amend did not."""
    if not amends:
        return
    report = await actor.adapter.amend(amends)
    to = {a.order.order_id: a.to for a in amends}
    now = actor.clock_ns()
    for oid, remaining in report.done:
        ev = actor.ledger.record_amend(oid, to[oid].price, remaining, now)
        if ev is not None:
            await actor.publish_event(ev)
    if report.done:
        actor.count("amend", "ok", len(report.done))
    if report.failed:
        actor.count("amend", "failed", len(report.failed))
        olds = {a.order.order_id: a.order for a in amends}
        for oid, why in report.failed:  # ingest reads an off-grid refusal as a grid change
            await actor.publish_event(actor.ledger.event(olds[oid], "rejected", reason=why))
        log.warning("amend not applied, cancelling: %s", report.failed[0][1],
                    extra={"market": market, "order_id": report.failed[0][0]})
        await actor.cancel_ids([oid for oid, _ in report.failed], reason="amend failed")


async def _place(actor: ExecutorActor, intent: ApprovedIntent, recv_ns: int,
                 orders: list[DesiredOrder], epoch: int) -> None:
    """Place the new levels and exits; record each outcome; cancel any that landed late."""
    m = intent.market
    if not orders or actor.cancel_epoch[m] != epoch:
        return
    report = await actor.adapter.place(orders)
    if report.wire_ns:
        actor.recv_to_wire_ns.append(report.wire_ns - recv_ns)
        if intent.ts_recv_ns > 0:
            metrics.TICK_TO_WIRE.labels(venue=actor.venue).observe(
                (report.wire_ns - intent.ts_recv_ns) / 1e9)
    now = actor.clock_ns()
    late: list[str] = []
    journal_results(actor, report.results)
    for res in report.results:
        kind = type(res).__name__.lower()
        if res.request.tif == "FAK":  # exit orders never rest: only count and report
            actor.count("exit", kind)
            if isinstance(res, Rejected):
                log.info("exit order not filled: %s", res.reason,
                         extra={"market": m, "order_id": ""})
            continue
        actor.count("place", "placed" if kind == "placed" else kind)
        if not isinstance(res, Rejected) and res.order_id and (
                actor.blocked(m) or actor.cancel_epoch[m] != epoch):
            late.append(res.order_id)
        if isinstance(res, (Rejected, InFlight)):
            oid = res.order_id if isinstance(res, InFlight) else ""
            log.warning("order %s: %s", kind, res.reason,
                        extra={"market": m, "order_id": oid})
        await actor.publish_event(actor.ledger.record_place(m, res, now))
    if late:  # a kill, cancel or dead man's switch came while this batch was on the wire
        await actor.cancel_ids(late, reason="blocked")
