"""Polymarket's liquidity-reward reads, through the official SDK (py-clob-client-v2).

- A market's programme: `GET /rewards/markets/{condition_id}` (public; the SDK's
  `get_raw_rewards_for_market` pages through it). Rows as Polymarket's own newer SDK,
  polymarket-client 0.14.0, models them (decoded by common/reward_programmes.py; `MarketReward`: `rewards_max_spread` in cents,
  `rewards_min_size` in shares, `rewards_config` with each funding's `rate_per_day` and
  its `start_date` / `end_date`). The pool is the sum of the rates whose dates include
  today; a market the venue lists no row for has no programme.
- Whether our orders score: `POST /orders-scoring` with a JSON list of order ids (L2;
  the SDK's `are_orders_scoring`), answered `{order_id: bool}` (polymarket-client
  `parse_orders_scoring`).

Rows that do not decode are dropped and counted (common/venue_drops.py), never fatal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import msgspec
from py_clob_client_v2.client import ClobClient
from py_clob_client_v2.clob_types import OrdersScoringParams
from py_clob_client_v2.exceptions import PolyException

from common.errors import VenueError
from common.reward_programmes import Programme, polymarket_programme
from common.venue_drops import MALFORMED, drop
from services.executor.orders import MarketTokens
from services.executor.polymarket_rest import error_text
from services.executor.polymarket_sdk import SdkCalls

__all__ = ["PolymarketRewards", "SCORING_BATCH"]

SCORING_BATCH = 100
"""Order ids per `/orders-scoring` request (the venue states no limit; kept modest)."""


class PolymarketRewards:
    """The reward reads of one Polymarket account (services/executor/rewards.py uses it)."""

    venue = "polymarket"

    def __init__(self, sdk: SdkCalls, client: ClobClient, markets: Sequence[MarketTokens]) -> None:
        self._sdk = sdk
        self._client = client
        self._markets = list(markets)

    async def programmes(self) -> dict[str, Programme | None]:
        """Each market's programme, by market id; VenueError if the venue cannot be read."""
        today = dt.datetime.now(dt.UTC).date()
        out: dict[str, Programme | None] = {}
        for m in self._markets:
            try:
                rows = await self._sdk.call("rewards", self._client.get_raw_rewards_for_market,
                                            m.venue_market)
            except PolyException as exc:
                raise VenueError(f"rewards of {m.market}: {error_text(exc)}",
                                 definitive=False) from None
            except (KeyError, TypeError) as exc:  # a page without data / next_cursor
                drop(self.venue, "rest", exc)
                out[m.market] = None
                continue
            try:
                out[m.market] = polymarket_programme(rows or (), m.venue_market, today)
            except MALFORMED as exc:
                drop(self.venue, "rest", exc)
                out[m.market] = None
        return out

    async def scoring(self, order_ids: Sequence[str]) -> dict[str, bool]:
        """Which of `order_ids` score now; VenueError if the venue cannot be asked."""
        out: dict[str, bool] = {}
        for i in range(0, len(order_ids), SCORING_BATCH):
            batch = list(order_ids[i:i + SCORING_BATCH])
            try:
                resp = await self._sdk.call("orders-scoring", self._client.are_orders_scoring,
                                            OrdersScoringParams(orderIds=batch))
            except PolyException as exc:
                raise VenueError(f"orders-scoring: {error_text(exc)}", definitive=False) from None
            try:
                answer = msgspec.convert(resp, dict[str, bool])
            except msgspec.ValidationError as exc:
                drop(self.venue, "rest", exc)
                raise VenueError("orders-scoring: answer not understood",
                                 definitive=False) from None
            out.update(answer)
        return out
