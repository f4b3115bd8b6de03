"""The executor's async sequencing: plans sent in order, venue outcomes booked.

`Sequencer` holds the venue adapter, the order state (with its ledger), the order
journal and the event publisher as named collaborators. It is the one place that
awaits the venue for orders:

- one worker per market applies the market's newest pending ladder, under the market's
  lock, so at most one requote per market is on the wire;
- a ladder waits for the venue budget (`_affordable`), then goes in the planner's two
  waves (plan.py); orders whose amend did not surely apply are cancelled; new orders are
  trimmed to the account's free collateral first (funding.py);
- a kill, cancel or dead man's switch while a wave is on the wire supersedes it: orders
  it placed are cancelled at once (the per-market cancel epoch, state.py);
- cancels of ids, of a market or of everything, and reconciliation with the venue's
  open orders; a journal write that fails latches the kill switch (`storage_fault`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from common import metrics
from common.errors import StorageError, VenueError
from common.messages import ApprovedIntent
from services.executor.adapter import (
    CancelOutcome, ExecutionAdapter, InFlight, Placed, PlaceResult, Rejected,
)
from services.executor.collateral import Hold, Wallet, amends_cost, orders_cost
from services.executor.events import EventPublisher
from services.executor.funding import Funding
from services.executor.journal import JournalRow, OrderJournal
from services.executor.orders import CLIENT_KEY_PREFIX, Amend, DesiredOrder
from services.executor.plan import Abilities, Plan, exits_due, plan_ladder, second_wave
from services.executor.state import ExecutorState

__all__ = ["MAX_DEFER_S", "Sequencer"]

log = logging.getLogger(__name__)

MAX_DEFER_S = 2.0
"""Longest a requote waits for the venue budget before cancelling anyway (see _affordable)."""


class Sequencer:
    """Applies ladders and cancels at the venue and books each outcome in the state."""

    def __init__(self, *, name: str, adapter: ExecutionAdapter, state: ExecutorState,
                 journal: OrderJournal, publisher: EventPublisher,
                 clock_ns: Callable[[], int], wall_ns: Callable[[], int],
                 wallet: Wallet | None = None) -> None:
        self.name = name
        self.venue = adapter.venue
        self.adapter = adapter
        self.state = state
        self.journal = journal
        self.publisher = publisher
        self.clock_ns = clock_ns
        self.wall_ns = wall_ns
        self.recv_to_wire_ns: deque[int] = deque(maxlen=10_000)
        self.fault_cancel: asyncio.Task[Any] | None = None
        """The cancel a storage fault started (storage_fault)."""
        self.funding = Funding(adapter, state, Wallet() if wallet is None else wallet,
                               count=self.count, clock_ns=clock_ns)
        """The account's collateral (funding.py); unknown, so unlimited, until read."""
        self._wake = {m: asyncio.Event() for m in state.markets}
        self._locks = {m: asyncio.Lock() for m in state.markets}

    @property
    def abilities(self) -> Abilities:
        """What the venue can do that changes a plan (read from the adapter each time)."""
        return Abilities.of(self.venue, can_amend=self.adapter.can_amend)

    def count(self, action: str, outcome: str, n: int = 1) -> None:
        """Count one order-path outcome (pmm_orders_total)."""
        metrics.ORDERS.labels(venue=self.venue, action=action, outcome=outcome).inc(n)

    def lock(self, market: str) -> asyncio.Lock:
        return self._locks[market]

    # --- the per-market workers ----------------------------------------------------------------

    def submit(self, intent: ApprovedIntent, recv_ns: int) -> None:
        """Queue an admitted ladder for its market's worker (the newest one wins)."""
        if self.state.queue(intent, recv_ns):
            self.count("intent", "conflated")
        self._wake[intent.market].set()

    def reexpress(self, market: str) -> bool:
        """Queue the last applied ladder again (tick changed); a newer or expired one wins."""
        if not self.state.requeue_last(market, self.wall_ns()):
            return False
        self._wake[market].set()
        return True

    async def worker(self, market: str) -> None:
        """Apply `market`'s pending ladders one at a time, forever."""
        wake = self._wake[market]
        while True:
            await wake.wait()
            wake.clear()
            item = self.state.pending.pop(market, None)
            if item is None:
                continue
            async with self._locks[market]:
                try:
                    await self.apply_intent(*item)
                except VenueError as exc:
                    log.warning("ladder not applied: %s", exc, extra={"market": market})
                except StorageError as exc:  # nothing unjournaled was sent: fail safe
                    self.storage_fault(exc)

    # --- applying a ladder ---------------------------------------------------------------------

    async def apply_intent(self, intent: ApprovedIntent, recv_ns: int) -> None:
        """Plan the ladder against our live orders and send it in the planner's waves."""
        state, m = self.state, intent.market
        if state.blocked(m) or self.wall_ns() > intent.expires_at_ns:
            return
        epoch = state.cancel_epoch[m]
        planned = await self._affordable(intent, recv_ns, epoch)
        if planned is None:
            return
        intent, recv_ns, plan = planned
        exits, bad_exits, memo = exits_due(intent, state.markets[m], state.last_exit.get(m),
                                           self.wall_ns(), self.abilities)
        if memo is None:
            state.last_exit.pop(m, None)
        else:
            state.last_exit[m] = memo
        if bad_exits:
            self.count("exit", "invalid_level", len(bad_exits))
        if plan.invalid:
            self.count("place", "invalid_level", len(plan.invalid))
        first = self.funding.fund(m, list(plan.lowering), [], self.abilities)
        with self.funding.wallet.spending(first.spend) as hold:
            await asyncio.gather(
                self.cancel_ids([*plan.cancels, *first.cancels], reason="requote"),
                self._amend(m, first.amends, hold))
        if state.cancel_epoch[m] != epoch:
            return
        amends, placements = second_wave(plan, state.ledger.in_market(m))
        if len(placements) < len(plan.placements):
            self.count("place", "level_busy", len(plan.placements) - len(placements))
        second = self.funding.fund(m, amends, [*placements, *exits], self.abilities)
        with self.funding.wallet.spending(second.spend) as hold:  # other markets see it
            await asyncio.gather(self.cancel_ids(second.cancels, reason="unfunded"),
                                 self._amend(m, second.amends, hold),
                                 self._place(intent, recv_ns, second.orders, epoch, hold))

    async def _affordable(self, intent: ApprovedIntent, recv_ns: int,
                          epoch: int) -> tuple[ApprovedIntent, int, Plan] | None:
        """The plan to send for `intent`, once the venue budget can pay for what it sends.

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
        state, m = self.state, intent.market
        deadline = self.clock_ns() + int(MAX_DEFER_S * 1e9)
        deferred = False
        while True:
            state.last_intent[m] = (intent, recv_ns)
            plan = plan_ladder(intent, state.markets[m], state.ledger.in_market(m),
                               self.abilities)
            wait = self.adapter.reserve_placements(m, plan.sends) if plan.sends else 0.0
            left = (deadline - self.clock_ns()) / 1e9
            if wait <= 0 or left <= 0:
                return intent, recv_ns, plan
            if not deferred:
                deferred = True
                self.count("requote", "deferred")
            await asyncio.sleep(min(wait, left))
            newer = state.pending.pop(m, None)
            if newer is not None:
                intent, recv_ns = newer
            if (state.blocked(m) or state.cancel_epoch[m] != epoch
                    or self.wall_ns() > intent.expires_at_ns):
                return None

    async def _amend(self, market: str, amends: list[Amend], hold: Hold | None = None) -> None:
        """Send `amends`, record what applied, and cancel the orders whose amend did not."""
        if not amends:
            return
        report = await self.adapter.amend(amends)
        ledger = self.state.ledger
        to = {a.order.order_id: a.to for a in amends}
        now = self.clock_ns()
        events = [ledger.record_amend(oid, to[oid].price, remaining, now)
                  for oid, remaining in report.done]
        if hold is not None:  # booked: the orders lock it now
            hold.release(amends_cost(amends))
        for ev in events:
            if ev is not None:
                await self.publisher.order_event(ev)
        if report.done:
            self.count("amend", "ok", len(report.done))
        if report.failed:
            self.count("amend", "failed", len(report.failed))
            olds = {a.order.order_id: a.order for a in amends}
            for oid, why in report.failed:  # ingest reads an off-grid refusal as a grid change
                await self.publisher.order_event(ledger.event(olds[oid], "rejected", reason=why))
            log.warning("amend not applied, cancelling: %s", report.failed[0][1],
                        extra={"market": market, "order_id": report.failed[0][0]})
            await self.cancel_ids([oid for oid, _ in report.failed], reason="amend failed")

    async def _place(self, intent: ApprovedIntent, recv_ns: int, orders: list[DesiredOrder],
                     epoch: int, hold: Hold | None = None) -> None:
        """Place the new levels and exits; record each outcome; cancel any that landed late."""
        state, m = self.state, intent.market
        if not orders or state.cancel_epoch[m] != epoch:
            return
        report = await self.adapter.place(orders)
        if report.wire_ns:
            self.recv_to_wire_ns.append(report.wire_ns - recv_ns)
            if intent.ts_recv_ns > 0:
                metrics.TICK_TO_WIRE.labels(venue=self.venue).observe(
                    (report.wire_ns - intent.ts_recv_ns) / 1e9)
        now = self.clock_ns()
        late: list[str] = []
        events = []
        self.journal.intend(_unjournaled(report.results, self.journal, self.wall_ns()))
        for res in report.results:
            kind = type(res).__name__.lower()
            if res.request.tif == "FAK":  # exit orders never rest: only count and report
                self.count("exit", kind)
                if isinstance(res, Rejected):
                    log.info("exit order not filled: %s", res.reason,
                             extra={"market": m, "order_id": ""})
                continue
            self.count("place", "placed" if kind == "placed" else kind)
            if not isinstance(res, Rejected) and res.order_id and (
                    state.blocked(m) or state.cancel_epoch[m] != epoch):
                late.append(res.order_id)
            if isinstance(res, (Rejected, InFlight)):
                oid = res.order_id if isinstance(res, InFlight) else ""
                log.warning("order %s: %s", kind, res.reason,
                            extra={"market": m, "order_id": oid})
            events.append(state.ledger.record_place(m, res, now))
        if hold is not None:  # booked: the resting orders lock it now
            hold.release(orders_cost(orders))
        for ev in events:
            await self.publisher.order_event(ev)
        if late:  # a kill, cancel or dead man's switch came while this batch was on the wire
            await self.cancel_ids(late, reason="blocked")

    # --- cancels -------------------------------------------------------------------------------

    async def cancel_ids(self, ids: list[str], *, reason: str) -> None:
        """Cancel some of our orders by id and apply the outcome."""
        if ids:
            await self._apply_cancel(await self.adapter.cancel(ids), ids, reason=reason)

    async def cancel_scope(self, market: str | None, reason: str) -> CancelOutcome:
        """Cancel one market (by venue market) or everything; update the live map."""
        ledger = self.state.ledger
        if market is None:
            outcome = await self.adapter.cancel_all()
            ids = list(ledger.live)
        else:
            outcome = await self.adapter.cancel_market(self.state.markets[market])
            ids = [o.order_id for o in ledger.in_market(market)]
        await self._apply_cancel(outcome, ids, reason=reason)
        return outcome

    async def cancel_market_cmd(self, market: str, reason: str) -> None:
        """Risk's CancelMarket ("" for every market): drop what is queued, then cancel."""
        for m in [market] if market else list(self.state.markets):
            self.state.drop_pending(m)
        if not market:
            await self.cancel_scope(None, reason)
            return
        async with self._locks[market]:
            await self.cancel_scope(market, reason)

    async def shutdown_cancel(self) -> None:
        """Cancel everything at the venue as the process stops (best effort, 10 s)."""
        try:
            outcome = await asyncio.wait_for(self.adapter.cancel_all(), 10)
            await self._apply_cancel(outcome, list(self.state.ledger.live), reason="shutdown")
        except (asyncio.TimeoutError, VenueError) as exc:
            log.error("cancel-all at shutdown failed: %s", exc)

    async def _apply_cancel(self, outcome: CancelOutcome, ids: list[str], *, reason: str) -> None:
        for ev in self.state.ledger.apply_cancel(outcome, ids, reason=reason,
                                                 now_ns=self.clock_ns()):
            await self.publisher.order_event(ev)
        self.count("cancel", "ambiguous" if outcome.ambiguous else
                   "failed" if outcome.failed else "ok")
        if outcome.ambiguous or outcome.failed:
            log.warning("cancel (%s) not confirmed: %s", reason, outcome.reason,
                        extra={"market": "", "order_id": ",".join(ids[:5])})

    def storage_fault(self, exc: StorageError) -> None:
        """A journal write failed (disk full, I/O error): latch the kill switch, drop what is
        pending and cancel everything in the background, so the caller (a fill handler, a
        worker, reconciliation) carries on and the process stays up and answering. Released
        by `pmm reset`; a write that fails again latches it again."""
        if self.state.kill_all:
            return
        log.error("%s: kill switch latched, every order cancelled. Free disk space or repair "
                  "%s, then run `pmm reset`", exc, self.journal.path,
                  extra={"market": "", "order_id": ""})
        self.state.latch_kill(None)
        metrics.KILL_ACTIVE.labels(process=self.name).set(1)
        self.fault_cancel = asyncio.create_task(self.cancel_scope(None, "storage_fault"),
                                                name="storage_fault")

    # --- venue truth ---------------------------------------------------------------------------

    async def reconcile_once(self) -> None:
        """Replace the live map with the venue's open orders and cancel strays."""
        state = self.state
        requested = self.clock_ns()
        venue_orders = await self.adapter.open_orders()
        self.funding.wallet.locked_hi = None  # reconciliation may adopt orders we did not book
        result = state.ledger.reconcile(
            venue_orders, requested_ns=requested, blocked=state.blocked_markets(),
            owns=lambda vo: self.journal.owns(vo.order_id, vo.client_id))
        try:
            for provisional, order_id in result.resolved.items():
                self.journal.placed(provisional.removeprefix(CLIENT_KEY_PREFIX), order_id)
            self.journal.prune_retired(  # keeps the journal to minutes of orders (journal.py)
                {k.removeprefix(CLIENT_KEY_PREFIX) for k in state.ledger.live}, self.wall_ns())
        except StorageError as exc:
            self.storage_fault(exc)
        if result.adopted or result.dropped or result.foreign:
            log.info("reconciled: adopted %d, dropped %d, foreign %d (cancelled)",
                     result.adopted, result.dropped, result.foreign)
        if not state.reconciled:
            state.startup_cancelled += len(result.cancel)
        if result.foreign:
            self.count("reconcile", "foreign", result.foreign)
        if result.cancel:
            await self._apply_cancel(await self.adapter.cancel(result.cancel), result.cancel,
                                     reason="reconcile")


def _unjournaled(results: list[PlaceResult], journal: OrderJournal,
                 now_ns: int) -> list[JournalRow]:
    """Rows for the ids an adapter without a journal hook returned (journaled after the fact)."""
    return [JournalRow(key=r.order_id, market=r.request.market, token=r.request.token,
                       price=r.request.price, size=r.request.size, ts_ns=now_ns)
            for r in results
            if isinstance(r, (Placed, InFlight)) and r.order_id
            and not r.order_id.startswith(CLIENT_KEY_PREFIX) and not journal.owns(r.order_id)]
