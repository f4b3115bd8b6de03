"""Kalshi order entry (trade API v2) through httpx with RSA-PSS signed requests.

Every ladder order is a post-only `good_till_canceled` order on Kalshi's single book:
BUY YES at p is a `bid` at p, BUY NO at q is an `ask` at 1 - q. Each order carries a
fresh client order id (idempotency). Placements and cancels use the batch endpoints;
both go through token buckets sized from config (cancels ahead of placements) and a
429 backs off (kalshi_http.py). A 4xx answer is definitive; a timeout or a 5xx leaves
placements in flight (adopted or dropped by the next reconciliation) and cancels ambiguous.
Amends, the order group, account reads and the user channel have modules of their own.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import uuid
from collections.abc import Sequence
from typing import Any

from common.config import Config
from common.errors import VenueError
from common.kalshi_auth import KalshiSigner
from common.messages import MarketPosition, Venue
from common.prices import complement, size_to_str
from common.venue_drops import drop
from common.wire_numbers import WireError
from services.executor import kalshi_amend, kalshi_reads
from services.executor.adapter import (
    AmendReport,
    CancelOutcome,
    InFlight,
    Placed,
    PlaceReport,
    PlaceResult,
    Rejected,
    UserSink,
)
from services.executor.collateral import Balance
from services.executor.journal import JournalRow, OrderJournal
from services.executor.kalshi_groups import OrderGroups, limit_contracts
from services.executor.kalshi_http import KalshiHttp
from services.executor.kalshi_user import KalshiUserChannel
from services.executor.kalshi_wire import dollars, error_text, kalshi_tokens, row_error
from services.executor.orders import (
    CLIENT_KEY_PREFIX,
    Amend,
    DesiredOrder,
    MarketTokens,
    VenueOrder,
    client_key,
)
from services.executor.ratelimit import placement_batch

__all__ = ["KalshiExecution", "kalshi_tokens"]
"""`kalshi_tokens` (kalshi_wire.py) is re-exported for the executor's entry point."""

log = logging.getLogger(__name__)

CANCEL_RETRIES = 3


class KalshiExecution:
    """ExecutionAdapter for one Kalshi API key."""

    venue: Venue = "kalshi"

    def __init__(self, cfg: Config, markets: Sequence[MarketTokens], *,
                 signer: KalshiSigner) -> None:
        k = cfg.venues.kalshi
        self._k = k
        self.http = KalshiHttp(k, signer)
        """Signed, rate-limited requests (kalshi_http.py)."""
        self.batch_size = placement_batch(k.max_batch, self.http.write.capacity, k.order_cost)
        """Orders per batched create: a batch costs the sum of its orders, and one costing
        more than the venue's write bucket holds is refused every time."""
        self._markets = list(markets)
        self._by_ticker = {m.venue_market: m for m in self._markets}
        self._by_market = {m.market: m for m in self._markets}
        self.journal: OrderJournal | None = None
        ours = {m.market for m in self._markets}
        self.groups = OrderGroups(self.http.request, write_cost=k.order_cost, limits={
            m.id: limit_contracts(k.order_group_contracts, [cfg.quoting_for(m).max_inventory])
            for m in cfg.markets if m.id in ours})
        """The venue-side fill-volume breakers, one per market (kalshi_groups.py)."""

    def set_journal(self, journal: OrderJournal) -> None:
        """Record every client order id in `journal` before its order is sent."""
        self.journal = journal

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Check the key works (balance read); raise VenueError if the venue cannot be used."""
        await self.balance()
        await self.groups.create()
        log.info("kalshi adapter ready", extra={"key_id": self.http.signer.key_id})

    async def balance(self) -> Balance | None:
        """The account's available balance (GetBalance `balance`, integer cents: what
        resting orders reserve is already taken out); VenueError if the venue refuses the
        read, None (logged) if its answer cannot be read."""
        resp = await self.http.request("GET", "/portfolio/balance")
        if resp.status_code != 200:
            raise VenueError(f"kalshi balance: {error_text(resp)}", definitive=True,
                             status=resp.status_code)
        try:
            cents = resp.json().get("balance")
        except (ValueError, AttributeError):
            cents = None
        if not isinstance(cents, int) or isinstance(cents, bool):
            drop(self.venue, "rest", WireError("balance", cents, "not integer cents"))
            return None
        return Balance(cents * 10_000, net_of_orders=True)

    async def close(self) -> None:
        await self.http.close()

    # --- orders ------------------------------------------------------------------------------

    def _order_body(self, d: DesiredOrder) -> dict[str, Any]:
        tokens = self._by_market[d.market]
        bid = d.token == tokens.yes_token
        exit_order = d.tif == "FAK"
        body = {"ticker": tokens.venue_market, "client_order_id": str(uuid.uuid4()),
                "side": "bid" if bid else "ask", "count": size_to_str(d.size),
                "price": dollars(d.price if bid else complement(d.price)),
                "time_in_force": "immediate_or_cancel" if exit_order else "good_till_canceled",
                "post_only": not exit_order,
                "self_trade_prevention_type": "maker", "cancel_order_on_pause": True}
        group = self.groups.id_for(d.market)
        if group:
            body["order_group_id"] = group
        return body

    async def _place_chunk(self, chunk: Sequence[DesiredOrder]) -> tuple[list[PlaceResult], int]:
        bodies = [self._order_body(d) for d in chunk]
        if self.journal is not None:  # before sending: a crash now cannot orphan the order
            now = time.time_ns()
            self.journal.intend(JournalRow(
                key=b["client_order_id"], market=d.market, token=d.token, price=d.price,
                size=d.size, ts_ns=now) for b, d in zip(bodies, chunk))
        keys = [client_key(b["client_order_id"]) for b in bodies]
        wire_ns = time.monotonic_ns()
        try:
            resp = await self.http.request(
                "POST", "/portfolio/events/orders/batched", body={"orders": bodies}, write=True,
                cost=self.http.owed(chunk[0].market, self._k.order_cost * len(chunk)))
        except VenueError as exc:
            return [InFlight(d, k, str(exc)) for d, k in zip(chunk, keys)], wire_ns
        if resp.status_code >= 500:
            return [InFlight(d, k, error_text(resp)) for d, k in zip(chunk, keys)], wire_ns
        if resp.status_code != 201:
            return [Rejected(d, error_text(resp)) for d in chunk], wire_ns
        rows = resp.json().get("orders") or []
        out: list[PlaceResult] = []
        for k, d in enumerate(chunk):
            row = rows[k] if k < len(rows) and isinstance(rows[k], dict) else None
            if row is None:
                out.append(InFlight(d, keys[k], "no result row"))
            elif row.get("order_id") and not row.get("error"):
                if self.journal is not None:
                    self.journal.placed(bodies[k]["client_order_id"], str(row["order_id"]))
                out.append(Placed(d, str(row["order_id"])))
            else:
                out.append(Rejected(d, row_error(row.get("error") or {})))
        return out, wire_ns

    async def place(self, orders: Sequence[DesiredOrder]) -> PlaceReport:
        """Post post-only orders in batches the write bucket can pay for, concurrently."""
        n = self.batch_size
        done = await asyncio.gather(*(self._place_chunk(orders[i:i + n])
                                      for i in range(0, len(orders), n)))
        wire = [ns for _, ns in done if ns]
        return PlaceReport(results=[r for rs, _ in done for r in rs],
                           wire_ns=min(wire) if wire else 0)

    can_amend = True

    async def amend(self, amends: Sequence[Amend]) -> AmendReport:
        """Move resting orders in place (kalshi_amend.py)."""
        return await kalshi_amend.amend(self.http, self._by_market, amends,
                                        amend_cost=self._k.amend_cost)

    def reserve_placements(self, market: str, n: int) -> float:
        return self.http.reserve(market, self._k.order_cost * n)

    async def cancel(self, order_ids: Sequence[str]) -> CancelOutcome:
        """Batch cancel by id; an unknown id is already gone. 429s are retried after back-off."""
        ids = list(dict.fromkeys(order_ids))
        # An in-flight submit known only by its client id cannot be cancelled by id yet:
        # leave it ambiguous; reconciliation names it and the next diff cancels it.
        pending = [i for i in ids if i.startswith(CLIENT_KEY_PREFIX)]
        ids = [i for i in ids if not i.startswith(CLIENT_KEY_PREFIX)]
        if not ids:
            return CancelOutcome(ambiguous=bool(pending), reason="venue id not known yet")
        gone: list[str] = []
        failed: list[str] = []
        ambiguous, reason = bool(pending), ""
        n = self._k.max_batch
        for i in range(0, len(ids), n):
            chunk = ids[i:i + n]
            for attempt in range(CANCEL_RETRIES):
                try:
                    resp = await self.http.request(
                        "DELETE", "/portfolio/events/orders/batched",
                        body={"orders": [{"order_id": oid} for oid in chunk]}, write=True,
                        cost=self._k.cancel_cost * len(chunk), urgent=True)
                except VenueError as exc:
                    ambiguous, reason = True, str(exc)
                    break
                if resp.status_code == 429 and attempt + 1 < CANCEL_RETRIES:
                    continue
                if resp.status_code >= 500:
                    ambiguous, reason = True, error_text(resp)
                elif resp.status_code != 200:
                    failed += chunk
                    reason = error_text(resp)
                else:
                    for row in resp.json().get("orders") or ():
                        err = row.get("error")
                        code = err.get("code") if isinstance(err, dict) else err
                        (gone if not err or code == "not_found" else failed).append(
                            str(row.get("order_id")))
                break
        return CancelOutcome(gone=tuple(gone), failed=tuple(failed), ambiguous=ambiguous,
                             reason=reason)

    async def cancel_market(self, market: MarketTokens) -> CancelOutcome:
        """Cancel every resting order of one market (listed, then batch-cancelled)."""
        ids = [o.order_id for o in await self.open_orders(ticker=market.venue_market)]
        outcome = await self.cancel(ids)
        clean = not (outcome.ambiguous or outcome.failed)
        return CancelOutcome(gone=outcome.gone, failed=outcome.failed,
                             ambiguous=outcome.ambiguous, everything=clean, reason=outcome.reason)

    async def cancel_all(self) -> CancelOutcome:
        """DELETE /portfolio/events/orders: every resting order of the account.

        The venue answers 204 with no body (kalshi-python-sync `cancel_all_orders`), so the
        cancelled ids are not listed: `everything` marks every order we track as gone.
        """
        for attempt in range(CANCEL_RETRIES):
            try:
                resp = await self.http.request("DELETE", "/portfolio/events/orders", write=True,
                                               cost=self._k.order_cost,  # the default cost
                                               urgent=True)
            except VenueError as exc:
                return CancelOutcome(ambiguous=True, reason=str(exc))
            if resp.status_code == 429 and attempt + 1 < CANCEL_RETRIES:
                continue
            if resp.status_code in (200, 204):  # Kalshi answers 204 without a body
                return CancelOutcome(everything=True)
            if resp.status_code >= 500:
                return CancelOutcome(ambiguous=True, reason=error_text(resp))
            return CancelOutcome(failed=("*",), reason=error_text(resp))
        return CancelOutcome(ambiguous=True, reason="rate limited")

    async def open_orders(self, ticker: str = "") -> list[VenueOrder]:
        """Every resting order (all pages); malformed rows are counted and skipped."""
        return await kalshi_reads.open_orders(self.http, ticker)

    async def positions(self) -> list[MarketPosition]:
        """Net positions of the configured markets (Kalshi reports net YES contracts only)."""
        return await kalshi_reads.positions(self.http, self._markets)

    async def heartbeat(self) -> None:
        """Kalshi has no heartbeat endpoint: the order group is the venue-side breaker.

        A triggered group blocks new orders; once its 15 s window has passed it is reset
        here (the trip is logged and counted), so quoting resumes on the next ladder.
        """
        await self.groups.keep(time.time_ns() // 1_000_000)

    async def run_user_stream(self, sink: UserSink) -> None:
        """Follow the `fill` channel; after each (re)connect recover the gap from REST fills."""
        await KalshiUserChannel(
            self._k.ws_url, signer=self.http.signer, by_ticker=self._by_ticker,
            fetch_fills=functools.partial(kalshi_reads.fills_since, self.http, self._by_ticker),
            on_group=self.groups.on_update).run(sink)
