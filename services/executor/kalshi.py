"""Kalshi order entry (trade API v2) through httpx with RSA-PSS signed requests.

Every ladder order is a post-only `good_till_canceled` order on Kalshi's single book:
BUY YES at p is a `bid` at p, BUY NO at q is an `ask` at 1 - q. Each order carries a
fresh client order id (idempotency). Placements and cancels use the batch endpoints;
both go through token buckets sized from config (cancels ahead of placements) and a
429 backs off. A 4xx answer is definitive; a timeout or a 5xx leaves placements in
flight (adopted or dropped by the next reconciliation) and cancels ambiguous.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import Sequence
from typing import Any

import httpx

from common import metrics
from common.config import Config
from common import wire_numbers as wn
from common.errors import VenueDataError, VenueError
from common.kalshi_auth import KalshiSigner, path_of
from common.messages import Fill, MarketPosition, Venue
from common.prices import complement, size_to_str
from common.venue_drops import MALFORMED, drop
from services.executor import kalshi_amend
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
from services.executor.kalshi_wire import (
    dollars,
    error_text,
    fill_from_wire,
    kalshi_tokens,
    page_rows,
)
from services.executor.journal import JournalRow, OrderJournal
from services.executor.kalshi_groups import OrderGroup, limit_contracts
from services.executor.orders import (
    CLIENT_KEY_PREFIX,
    Amend,
    DesiredOrder,
    MarketTokens,
    VenueOrder,
    client_key,
)
from services.executor.ratelimit import Prepaid, TokenBucket, placement_batch

__all__ = ["KalshiExecution", "dollars", "fill_from_wire", "kalshi_tokens"]

log = logging.getLogger(__name__)

CANCEL_RETRIES = 3


def _row_error(err: Any) -> str:
    """`code: message` of a batch row's error (the message names e.g. an off-grid price)."""
    if not isinstance(err, dict):
        return str(err)
    code, message = str(err.get("code") or ""), str(err.get("message") or "")[:200]
    return f"{code}: {message}" if code and message else code or message or str(err)


class KalshiExecution:
    """ExecutionAdapter for one Kalshi API key."""

    venue: Venue = "kalshi"

    def __init__(self, cfg: Config, markets: Sequence[MarketTokens], *,
                 signer: KalshiSigner) -> None:
        k = cfg.venues.kalshi
        self._cfg = cfg
        self._k = k
        self._signer = signer
        self._base = k.rest_url.rstrip("/")
        self._base_path = path_of(self._base)
        self._http = httpx.AsyncClient(timeout=k.request_timeout_ms / 1000)
        self._write = TokenBucket(k.write_tokens_per_s, k.write_tokens_per_s * k.write_burst_s)
        self._prepaid = Prepaid(self._write)
        """Tokens reserve_placements took ahead for a market's next placements and amends."""
        self._read = TokenBucket(k.read_tokens_per_s, k.read_tokens_per_s)
        self.batch_size = placement_batch(k.max_batch, self._write.capacity, k.order_cost)
        """Orders per batched create: a batch costs the sum of its orders, and one costing
        more than the venue's write bucket holds is refused every time."""
        self._markets = list(markets)
        self._by_ticker = {m.venue_market: m for m in self._markets}
        self._by_market = {m.market: m for m in self._markets}
        self.amend_cost = k.amend_cost
        self.sign_ns: deque[int] = deque(maxlen=10_000)
        self._limited = metrics.VENUE_RATE_LIMITED.labels(venue=self.venue)
        self._waits = metrics.RATE_LIMIT_WAITS.labels(venue=self.venue)
        self._wait_s = metrics.RATE_LIMIT_WAIT_SECONDS.labels(venue=self.venue)
        self.journal: OrderJournal | None = None
        ours = {m.market for m in self._markets}
        self.group = OrderGroup(self.request, write_cost=k.order_cost, contracts=limit_contracts(
            k.order_group_contracts,
            [cfg.quoting_for(m).max_inventory for m in cfg.markets if m.id in ours]))
        """The venue-side fill-volume breaker every order joins (kalshi_groups.py)."""

    def set_journal(self, journal: OrderJournal) -> None:
        """Record every client order id in `journal` before its order is sent."""
        self.journal = journal

    # --- transport ---------------------------------------------------------------------------

    async def request(self, method: str, path: str, *, body: Any = None,
                      params: dict[str, Any] | None = None, cost: float | None = None,
                      write: bool = False, urgent: bool = False) -> httpx.Response:
        """One signed request after its rate-limit tokens; raise VenueError if nothing came back."""
        bucket = self._write if write else self._read
        waited = await bucket.take(self._k.read_cost if cost is None else cost, urgent=urgent)
        if waited:
            self._waits.inc()
            self._wait_s.inc(waited)
        t0 = time.perf_counter_ns()
        headers = self._signer.headers(method, self._base_path + path)
        self.sign_ns.append(time.perf_counter_ns() - t0)
        start = time.perf_counter()
        try:
            resp = await self._http.request(method, self._base + path, json=body, params=params,
                                            headers=headers)
        except httpx.HTTPError as exc:
            raise VenueError(f"{method} {path}: {type(exc).__name__}", definitive=False) from None
        finally:
            metrics.VENUE_LATENCY.labels(venue=self.venue, endpoint=path.split("/")[1]).observe(
                time.perf_counter() - start)
        if resp.status_code == 429:
            self._limited.inc()
            pause = bucket.limited()
            log.warning("kalshi rate limited (429); backing off %.2fs", pause)
        elif resp.status_code < 500:
            bucket.ok()
        return resp

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Check the key works (balance read); raise VenueError if the venue cannot be used."""
        resp = await self.request("GET", "/portfolio/balance")
        if resp.status_code != 200:
            raise VenueError(f"kalshi balance: {error_text(resp)}", definitive=True,
                             status=resp.status_code)
        if self.group.contracts > 0:
            await self.group.create()
        log.info("kalshi adapter ready", extra={"key_id": self._signer.key_id})

    async def close(self) -> None:
        await self._http.aclose()

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
        if self.group.id:
            body["order_group_id"] = self.group.id
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
            resp = await self.request("POST", "/portfolio/events/orders/batched",
                                      body={"orders": bodies}, write=True,
                                      cost=self.owed(chunk[0].market,
                                                     self._k.order_cost * len(chunk)))
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
                out.append(Rejected(d, _row_error(row.get("error") or {})))
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

    def market(self, market: str) -> MarketTokens:
        return self._by_market[market]

    async def amend(self, amends: Sequence[Amend]) -> AmendReport:
        """Move resting orders in place (kalshi_amend.py)."""
        return await kalshi_amend.amend(self, amends)

    def owed(self, market: str, cost: int) -> float:
        """What a request for `market` still has to pay after its reserved tokens."""
        return self._prepaid.owed(market, cost)

    def reserve_placements(self, market: str, n: int) -> float:
        return self._prepaid.reserve(market, self._k.order_cost * n)

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
                    resp = await self.request(
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
                resp = await self.request("DELETE", "/portfolio/events/orders", write=True,
                                          cost=self._k.order_cost, urgent=True)  # default cost
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
        out: list[VenueOrder] = []
        params: dict[str, Any] = {"status": "resting", "limit": 200}
        if ticker:
            params["ticker"] = ticker
        for row in await self._all_pages("/portfolio/orders", "orders", params, "open orders"):
            try:
                out.append(self._venue_order(row))
            except MALFORMED as exc:
                metrics.VENUE_MESSAGES_DROPPED.labels(venue=self.venue, channel="rest").inc()
                drop(self.venue, "rest", exc)
        return out

    async def _all_pages(self, path: str, key: str, params: dict[str, Any],
                         what: str) -> list[Any]:
        """The rows of every page of a cursor-paged GET (a repeated cursor fails the call):
        a row missed on page two would be an open order left alone or, for positions, a
        market halted at the venue position check (risk/venue_check.py)."""
        rows: list[Any] = []
        cursor = ""
        seen: set[str] = set()
        while True:
            resp = await self.request("GET", path,
                                      params=params | ({"cursor": cursor} if cursor else {}))
            if resp.status_code != 200:
                raise VenueError(f"{what}: {error_text(resp)}",
                                 definitive=resp.status_code < 500, status=resp.status_code)
            page, cursor = self._page(resp, key, seen)
            rows += page
            if not cursor:
                return rows

    def _page(self, resp: httpx.Response, key: str, seen: set[str]) -> tuple[list[Any], str]:
        """One list page's rows and cursor; a malformed page fails the whole call, ambiguously."""
        try:
            return page_rows(resp, key, seen)
        except VenueDataError as exc:
            metrics.VENUE_MESSAGES_DROPPED.labels(venue=self.venue, channel="rest").inc()
            drop(self.venue, "rest", exc)
            raise VenueError(f"{key}: malformed page ({exc})", definitive=False) from None

    def _venue_order(self, row: dict[str, Any]) -> VenueOrder:
        if not isinstance(row, dict):
            raise VenueDataError("orders", row, "not an object")
        for key in ("ticker", "order_id"):
            if not isinstance(row.get(key), str) or not row[key]:
                raise VenueDataError(key, row.get(key), "not an id")
        yes_tok, no_tok = kalshi_tokens(str(row["ticker"]))
        is_yes = row.get("outcome_side", row.get("side")) == "yes"
        yes_price = wn.pips(row.get("yes_price_dollars"), "yes_price_dollars")
        buy = row.get("action", "buy") == "buy"
        return VenueOrder(
            order_id=str(row["order_id"]), token=yes_tok if is_yes else no_tok,
            side="BUY" if buy else "SELL",
            price=yes_price if is_yes else complement(yes_price),
            size=wn.centi(row.get("remaining_count_fp"), "remaining_count_fp"),
            venue_market=str(row["ticker"]),
            client_id=str(row.get("client_order_id") or ""),
            filled=wn.centi(row.get("fill_count_fp") or "0", "fill_count_fp"),
        )

    async def fills_since(self, min_ts_s: int, ts_recv_ns: int) -> list[Fill]:
        """Our fills at or after `min_ts_s` (unix s) from REST, oldest first."""
        out: list[Fill] = []
        cursor = ""
        seen: set[str] = set()
        while True:
            params: dict[str, Any] = {"min_ts": min_ts_s, "limit": 200}
            if cursor:
                params["cursor"] = cursor
            resp = await self.request("GET", "/portfolio/fills", params=params)
            if resp.status_code != 200:
                raise VenueError(f"fills: {error_text(resp)}",
                                 definitive=resp.status_code < 500, status=resp.status_code)
            rows, cursor = self._page(resp, "fills", seen)
            for row in rows:
                try:
                    if not isinstance(row, dict):
                        raise VenueDataError("fills", row, "not an object")
                    m = self._by_ticker.get(str(row.get("ticker") or row.get("market_ticker")))
                    if m is None:
                        continue
                    out.append(fill_from_wire(row, m.market, ts_recv_ns))
                except VenueDataError as exc:  # fill_from_wire raises nothing else
                    metrics.VENUE_MESSAGES_DROPPED.labels(venue=self.venue, channel="rest").inc()
                    drop(self.venue, "rest", exc)
            if not cursor:
                return list(reversed(out))

    async def positions(self) -> list[MarketPosition]:
        """Net positions of the configured markets (Kalshi reports net YES contracts only)."""
        net: dict[str, int] = {}
        for row in await self._all_pages("/portfolio/positions", "market_positions",
                                         {"limit": 1000}, "positions"):
            m = self._by_ticker.get(str(row.get("ticker"))) if isinstance(row, dict) else None
            if m is not None:
                try:  # signed: a negative position_fp is a NO position
                    net[m.market] = wn.signed_centi(row.get("position_fp") or "0", "position_fp")
                except VenueDataError as exc:
                    metrics.VENUE_MESSAGES_DROPPED.labels(venue=self.venue, channel="rest").inc()
                    drop(self.venue, "rest", exc)
        return [MarketPosition(market=m.market, position_yes=max(net.get(m.market, 0), 0),
                               position_no=max(-net.get(m.market, 0), 0),
                               net=net.get(m.market, 0)) for m in self._markets]

    async def heartbeat(self) -> None:
        """Kalshi has no heartbeat endpoint: the order group is the venue-side breaker.

        A triggered group blocks new orders; once its 15 s window has passed it is reset
        here (the trip is logged and counted), so quoting resumes on the next ladder.
        """
        await self.group.keep(time.time_ns() // 1_000_000)

    async def run_user_stream(self, sink: UserSink) -> None:
        """Follow the `fill` channel; after each (re)connect recover the gap from REST fills."""
        from services.executor.kalshi_user import KalshiUserChannel

        await KalshiUserChannel(self._cfg, self, self._signer, self._by_ticker,
                                on_group=self.group.on_update).run(sink)
