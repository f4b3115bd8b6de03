"""Polymarket order entry over the real py_clob_client_v2.ClobClient.

The SDK is blocking, so every call runs in a worker thread (polymarket_sdk.py) and the
event loop never waits on the network. Tick size and neg-risk come from config and
are passed on every order, so signing does no per-order lookups (the SDK's one-off
/tick-size and /version reads are warmed at start). Prices and sizes become decimal
strings, then floats, only here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from py_clob_client_v2.client import ClobClient
from py_clob_client_v2.clob_types import (OrderMarketCancelParams, OrderType,
                                          PartialCreateOrderOptions, PostOrdersV2Args, TradeParams)
from py_clob_client_v2.exceptions import PolyApiException, PolyException
from py_clob_client_v2.order_builder.builder import ROUNDING_CONFIG

from common import metrics
from common.config import Config
from common.errors import ConfigError, VenueError
from common.messages import MarketPosition, Venue
from common.prices import price_to_str
from common.venue_clock import VenueClock
from common.venue_drops import drop
from common.wire_numbers import WireError
from services.executor.adapter import (
    AmendReport,
    CancelOutcome,
    InFlight,
    PlaceReport,
    PlaceResult,
    Rejected,
    UserSink,
)
from services.executor.collateral import Balance
from services.executor.journal import JournalRow, OrderJournal
from services.executor.orders import Amend, DesiredOrder, MarketTokens, VenueOrder
from services.executor.pm_signer import OrderSigner
from services.executor.polymarket_rest import (
    cancel_outcome,
    classify_post,
    error_text,
    is_definitive,
    venue_order,
)
from services.executor.polymarket_funds import Recheck, check_wallet, read_positions
from services.executor.polymarket_rewards import PolymarketRewards
from services.executor.polymarket_sdk import SdkCalls, configure_sdk_http, sdk_http
from services.executor.polymarket_user import Asset, Identity, UserChannel
from services.executor.ratelimit import Prepaid, TokenBucket

__all__ = ["PolymarketExecution", "cancel_outcome", "classify_post", "error_text",
           "is_definitive"]

log = logging.getLogger(__name__)
CANCEL_RETRIES = 3

class PolymarketExecution:
    """ExecutionAdapter for one Polymarket account."""

    venue: Venue = "polymarket"

    def __init__(
        self,
        cfg: Config,
        markets: Sequence[MarketTokens],
        *,
        private_key: str,
        pool: ThreadPoolExecutor,
    ) -> None:
        pm = cfg.venues.polymarket
        self._cfg = cfg
        self._sdk = SdkCalls(pool, reauthenticate=self._derive_key)
        self._max_batch = pm.max_batch
        self._markets = list(markets)
        self._by_token: dict[str, MarketTokens] = {}
        self._options: dict[str, PartialCreateOrderOptions] = {}
        for m in self._markets:
            self._adopt(m)
        configure_sdk_http(pm.request_timeout_ms)
        self._client = ClobClient(
            pm.rest_url, chain_id=pm.chain_id, key=private_key,
            signature_type=pm.signature_type, funder=pm.funder or None,
        )
        # POLY_TIMESTAMP (L1 and L2 headers) in the venue's time, as estimated from the Date
        # of every answer: the SDK's own use_server_time costs a GET /time per request.
        self.clock = VenueClock("polymarket")
        self.clock.watch(sdk_http._http_client)
        self._client._get_timestamp = self.clock.now_s  # type: ignore[method-assign]
        self.rewards = PolymarketRewards(self._sdk, self._client)
        self._recheck = Recheck(wallet=self.address, chain_id=pm.chain_id,
                                neg_risk=[bool(m.neg_risk) for m in self._markets])
        # Orders are signed by pm_signer (byte-identical to the SDK's builder, ~15x faster).
        self._signer = OrderSigner(private_key, chain_id=pm.chain_id,
                                   signature_type=pm.signature_type, funder=pm.funder)
        self._heartbeat_id = ""
        self._auth: dict[str, str] = {}
        self._api_key = ""
        self._channel: UserChannel | None = None
        self._orders_bucket = TokenBucket(pm.order_tokens_per_s, pm.order_burst)
        self._prepaid = Prepaid(self._orders_bucket, urgent=True)  # a bucket of its own
        """Tokens reserve_placements took ahead for a market's next placements."""
        self._cancels_bucket = TokenBucket(pm.cancel_tokens_per_s, pm.cancel_burst)
        self.journal: OrderJournal | None = None

    def set_journal(self, journal: OrderJournal) -> None:
        """Record every order id (the EIP-712 hash) in `journal` before it is sent."""
        self.journal = journal

    def _adopt(self, market: MarketTokens) -> str:
        """Sign `market`'s tokens on its tick (ConfigError if not a Polymarket tick size)."""
        tick = price_to_str(market.tick)
        if tick not in ROUNDING_CONFIG:
            raise ConfigError(f"tick {tick} of market {market.market} is no Polymarket tick")
        for token in (market.yes_token, market.no_token):
            self._by_token[token] = market
            self._options[token] = PartialCreateOrderOptions(
                tick_size=tick, neg_risk=market.neg_risk)  # type: ignore[arg-type]
        return tick

    def set_tick(self, market: MarketTokens) -> None:
        """The venue changed a market's tick: sign on the new grid from now on."""
        tick = self._adopt(market)
        for token in (market.yes_token, market.no_token):
            # The SDK caches each token's minimum tick and refuses a finer one; it has no
            # public way to forget it, so the name-mangled cache is updated here.
            self._client._ClobClient__tick_sizes[token] = tick  # type: ignore[attr-defined]
        self._markets = [market if m.market == market.market else m for m in self._markets]

    @property
    def address(self) -> str:
        """The funder address orders are made for."""
        return str(self._client.builder.funder)

    # --- lifecycle ---------------------------------------------------------------------------

    async def _derive_key(self) -> None:
        """Create or derive the API key (L1-signed with the private key) and use it. Run at
        start and again whenever the venue answers 401 (polymarket_sdk.SdkCalls): the
        derivation is deterministic, so the venue hands back the key it lost."""
        try:
            creds = await self._sdk.call("auth", self._client.create_or_derive_api_key)
        except PolyException as exc:
            raise VenueError(f"cannot get API credentials: {error_text(exc)}",
                             definitive=False) from exc
        self._client.set_api_creds(creds)
        if self._api_key and creds.api_key != self._api_key:
            log.warning("the venue issued a different API key; the user channel takes it "
                        "at its next connection")
        self._api_key = creds.api_key
        # updated in place: the user channel holds this dict and reads it at every connect
        self._auth.update(apiKey=creds.api_key, secret=creds.api_secret,
                          passphrase=creds.api_passphrase)
        if self._api_key and self._channel is not None:  # derived again while running
            self._channel.identity = Identity(api_key=self._api_key, address=self.address)
            self._channel.reconnect()
        log.info("polymarket API key ready")

    async def start(self) -> None:
        """Create or derive the API key, check the wallet's collateral is approved for
        our markets' exchanges (polymarket_funds.py), then warm the SDK's caches."""
        await self._derive_key()
        await check_wallet(self._sdk, self._client, wallet=self.address,
                           chain_id=self._cfg.venues.polymarket.chain_id,
                           neg_risk=[bool(m.neg_risk) for m in self._markets])
        for m in self._markets:
            probe = DesiredOrder(market=m.market, token=m.yes_token, outcome="YES",
                                 price=m.tick, size=max(m.min_size, 100))
            try:  # signs a throwaway order: fills the SDK caches, sends no order
                await self._sdk.call("warm", self._sign, probe)
            except (PolyException, ValueError) as exc:
                log.warning("cache warm-up failed for %s: %s", m.market, error_text(exc),
                            extra={"market": m.market})
        log.info("polymarket adapter ready for %s", self.address)

    async def close(self) -> None:
        """Nothing to release: the pool belongs to the process."""

    # --- orders ------------------------------------------------------------------------------

    def _sign(self, d: DesiredOrder) -> Any:
        m = self._by_token[d.token]
        return self._signer.sign(d.token, d.price, d.size, "BUY", tick=m.tick,
                                 neg_risk=bool(m.neg_risk))

    def order_id_of(self, signed: Any, token: str) -> str:
        """The EIP-712 hash of a signed order: the id the venue will give it."""
        return self._signer.order_hash(signed, neg_risk=bool(self._by_token[token].neg_risk))

    def _journal(self, signed: Sequence[tuple[int, Any]], reqs: Sequence[DesiredOrder]) -> None:
        if self.journal is None:
            return
        now = time.time_ns()
        self.journal.intend(JournalRow(
            key=self.order_id_of(o, d.token), market=d.market, token=d.token, price=d.price,
            size=d.size, ts_ns=now) for (_, o), d in zip(signed, reqs))

    def _place_chunk(self, chunk: Sequence[DesiredOrder]) -> tuple[list[PlaceResult], int]:
        """Sign, journal and post one batch (runs in a worker thread).

        Resting orders go post-only GTC; exit orders (`tif` FAK) go as marketable
        fill-and-kill orders in their own request (post-only applies to a whole batch).
        """
        results: list[PlaceResult | None] = [None] * len(chunk)
        signed: list[tuple[int, Any]] = []
        for i, d in enumerate(chunk):
            try:
                signed.append((i, self._sign(d)))
            except (PolyException, ValueError) as exc:
                results[i] = Rejected(d, f"not signed: {error_text(exc)}")
        wire_ns = 0
        if signed:
            reqs = [chunk[i] for i, _ in signed]
            exit_orders = reqs[0].tif == "FAK"
            self._journal(signed, reqs)
            wire_ns = time.monotonic_ns()
            try:
                resp = self._client.post_orders(
                    [PostOrdersV2Args(order=o, orderType=OrderType.FAK if exit_orders
                                      else OrderType.GTC) for _, o in signed],
                    post_only=not exit_orders,
                )
            except PolyException as exc:
                self._sdk.note_status(self._orders_bucket, exc)
                reason = error_text(exc)
                for (i, o), req in zip(signed, reqs):
                    results[i] = (
                        Rejected(req, reason) if is_definitive(exc)
                        else InFlight(req, self.order_id_of(o, req.token), reason)
                    )
            except Exception as exc:  # noqa: BLE001 - unknown failure after sending: ambiguous
                for (i, o), req in zip(signed, reqs):
                    results[i] = InFlight(req, self.order_id_of(o, req.token), error_text(exc))
            else:
                def id_of(k: int) -> str:
                    return self.order_id_of(signed[k][1], reqs[k].token)

                self._sdk.note_status(self._orders_bucket, None)
                for (i, _), res in zip(signed, classify_post(reqs, resp, id_of)):
                    results[i] = res
        return [r for r in results if r is not None], wire_ns

    async def _post_chunk(self, chunk: Sequence[DesiredOrder]) -> tuple[list[PlaceResult], int]:
        owed = self._prepaid.owed(chunk[0].market, len(chunk))
        if owed > 0:
            await self._sdk.spend(self._orders_bucket, owed)
        return await self._sdk.call("post_orders", self._place_chunk, chunk)

    async def place(self, orders: Sequence[DesiredOrder]) -> PlaceReport:
        """Sign and post in batches of at most max_batch, concurrently across workers."""
        n = self._max_batch
        resting = [o for o in orders if o.tif != "FAK"]
        exits = [o for o in orders if o.tif == "FAK"]
        chunks = [group[i:i + n] for group in (resting, exits) for i in range(0, len(group), n)]
        done = await asyncio.gather(*(self._post_chunk(c) for c in chunks))
        results = [r for chunk_results, _ in done for r in chunk_results]
        wire = [ns for _, ns in done if ns]
        return PlaceReport(results=results, wire_ns=min(wire) if wire else 0)

    async def _cancel(self, endpoint: str, fn: Callable[..., Any], *args: Any,
                      ids: Sequence[str] = (), everything: bool = False) -> CancelOutcome:
        """One cancel request after its tokens; a 429 backs off and is retried."""
        if not self._api_key:  # a kill that arrives while start() is still deriving the key:
            try:  # the SDK refuses L2 calls without one, so derive it here (deterministic)
                await self._derive_key()
            except VenueError as exc:
                return CancelOutcome(ambiguous=True, reason=str(exc))
        for attempt in range(CANCEL_RETRIES):
            await self._sdk.spend(self._cancels_bucket, len(ids) or 1)
            try:
                resp = await self._sdk.call(endpoint, fn, *args)
            except PolyException as exc:
                self._sdk.note_status(self._cancels_bucket, exc)
                if getattr(exc, "status_code", None) == 429 and attempt + 1 < CANCEL_RETRIES:
                    continue
                # our key is unknown to the venue: derive it now and cancel again (a kill's
                # cancel-all is sent once and must not be left refused)
                if getattr(exc, "status_code", None) == 401 and attempt + 1 < CANCEL_RETRIES \
                        and await self._sdk.reauthenticate(force=True):
                    continue
                if is_definitive(exc):
                    return CancelOutcome(failed=tuple(ids), reason=error_text(exc))
                return CancelOutcome(ambiguous=True, reason=error_text(exc))
            self._sdk.note_status(self._cancels_bucket, None)
            return cancel_outcome(resp, everything=everything)
        return CancelOutcome(ambiguous=True, reason="rate limited")

    can_amend = False

    async def amend(self, amends: Sequence[Amend]) -> AmendReport:
        """No amend on this venue: every requote cancels and places (never called)."""
        return AmendReport(failed=tuple((a.order.order_id, "no amend") for a in amends))

    def reserve_placements(self, market: str, n: int) -> float:
        return self._prepaid.reserve(market, n)

    async def cancel(self, order_ids: Sequence[str]) -> CancelOutcome:
        """Cancel by id in one request (DELETE /orders)."""
        if not order_ids:
            return CancelOutcome()
        return await self._cancel("cancel_orders", self._client.cancel_orders, list(order_ids),
                                  ids=order_ids)

    async def cancel_market(self, market: MarketTokens) -> CancelOutcome:
        """Cancel every order of one market (DELETE /cancel-market-orders)."""
        params = OrderMarketCancelParams(market=market.venue_market)
        return await self._cancel("cancel_market_orders", self._client.cancel_market_orders,
                                  params, everything=True)

    async def cancel_all(self) -> CancelOutcome:
        """Cancel every order of the account (DELETE /cancel-all)."""
        return await self._cancel("cancel_all", self._client.cancel_all, everything=True)

    async def open_orders(self) -> list[VenueOrder]:
        """Every open order of the account, all pages; malformed rows are counted and skipped."""
        try:
            rows = await self._sdk.call("open_orders", self._client.get_open_orders)
        except PolyException as exc:
            raise VenueError(f"open orders: {error_text(exc)}",
                             definitive=is_definitive(exc)) from None
        out: list[VenueOrder] = []
        for row in rows or ():
            try:
                out.append(venue_order(row))
            except WireError as exc:
                metrics.VENUE_MESSAGES_DROPPED.labels(venue=self.venue, channel="rest").inc()
                drop(self.venue, "rest", exc)
        return out

    async def heartbeat(self) -> None:
        """POST /v1/heartbeats echoing the last id (the venue-side dead man's switch).

        A 400 naming the expected id (after our restart) is answered at once with that id.
        """
        for attempt in (1, 2):
            try:
                resp = await self._sdk.call("heartbeat", self._client.post_heartbeat,
                                        self._heartbeat_id)
            except PolyApiException as exc:
                err = exc.error_msg
                if attempt == 1 and isinstance(err, dict) and err.get("heartbeat_id"):
                    self._heartbeat_id = str(err["heartbeat_id"])
                    continue
                raise VenueError(f"heartbeat: {error_text(exc)}",
                                 definitive=is_definitive(exc)) from None
            except PolyException as exc:
                raise VenueError(f"heartbeat: {error_text(exc)}", definitive=False) from None
            if isinstance(resp, dict) and resp.get("heartbeat_id"):
                self._heartbeat_id = str(resp["heartbeat_id"])
            return

    async def fetch_trades(self, after_s: int) -> list[Any]:
        """Our trades (REST rows, all pages) matched at or after `after_s` (unix s)."""
        try:
            rows = await self._sdk.call("trades", self._client.get_trades,
                                    TradeParams(after=max(0, after_s)))
        except PolyException as exc:
            raise VenueError(f"trades: {error_text(exc)}", definitive=is_definitive(exc)) from None
        except (KeyError, TypeError, AttributeError) as exc:  # a page without data/next_cursor
            drop(self.venue, "rest", exc)
            raise VenueError(f"trades: malformed page ({exc!r:.80})", definitive=False) from None
        if not isinstance(rows, list):
            drop(self.venue, "rest", WireError("data", rows, "not a list"))
            raise VenueError("trades: the venue sent no list of trades", definitive=False)
        return rows

    async def positions(self) -> list[MarketPosition]:
        """Conditional-token balances of every configured market (6-dp amounts -> centi)."""
        return await read_positions(self._sdk, self._client, self._markets)

    async def balance(self) -> Balance | None:
        """The wallet's collateral, its open orders' part included (collateral.py), its
        approvals checked again (`Recheck`); VenueError if it cannot be read."""
        funds = await self._recheck.read(self._sdk, self._client)
        return Balance(funds.balance, net_of_orders=False)

    async def run_user_stream(self, sink: UserSink) -> None:
        """Follow the user websocket for our markets (needs start() first)."""
        assets: dict[str, Asset] = {}
        for m in self._markets:
            assets[m.yes_token] = (m.market, "YES")
            assets[m.no_token] = (m.market, "NO")
        self._channel = UserChannel(
            self._cfg.venues.polymarket.ws_url.rstrip("/") + "/user",
            auth=self._auth,
            condition_ids=sorted({m.venue_market for m in self._markets}),
            me=Identity(api_key=self._api_key, address=self.address),
            assets=assets,
            fetch_trades=self.fetch_trades,
        )
        await self._channel.run(sink)
