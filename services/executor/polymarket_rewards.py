"""Polymarket's liquidity-reward reads, through the official SDK (py-clob-client-v2).

- A market's programme: `GET /rewards/markets/{condition_id}` (public; the SDK's
  `get_raw_rewards_for_market` pages through it). Rows as Polymarket's own newer SDK,
  polymarket-client 0.14.0, models them (`MarketReward`: `rewards_max_spread` in cents,
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
import math
from collections.abc import Iterable, Sequence

import msgspec
from py_clob_client_v2.client import ClobClient
from py_clob_client_v2.clob_types import OrdersScoringParams
from py_clob_client_v2.exceptions import PolyException

from common.errors import VenueError
from common.venue_drops import MALFORMED, drop
from services.executor.orders import MarketTokens
from services.executor.polymarket_rest import error_text
from services.executor.polymarket_sdk import SdkCalls
from strategy.rewards import Programme

__all__ = ["PolymarketRewards", "SCORING_BATCH", "programme_of"]

SCORING_BATCH = 100
"""Order ids per `/orders-scoring` request (the venue states no limit; kept modest)."""


class _Funding(msgspec.Struct):
    rate_per_day: float | str
    start_date: str | None = None
    end_date: str | None = None


class _MarketReward(msgspec.Struct):
    condition_id: str
    rewards_max_spread: float | str | None = None
    rewards_min_size: float | str | None = None
    rewards_config: list[_Funding] = []


def _day(text: str | None) -> dt.date | None:
    """The date of an ISO date or timestamp (None if absent or unreadable)."""
    if not text:
        return None
    try:
        return dt.date.fromisoformat(str(text)[:10])
    except ValueError:
        return None


def _finite(value: float | str) -> float:
    """A finite number of the venue's (ValueError for NaN, infinities and non-numbers)."""
    number = float(value)
    if not math.isfinite(number) or abs(number) > 1e12:
        raise ValueError(f"not a usable amount: {value!r}")
    return number


def programme_of(rows: Iterable[object], condition_id: str, today: dt.date) -> Programme | None:
    """The programme the venue's rows give `condition_id` (None: no row, no band, or no
    funding running today); a row that does not decode raises msgspec.ValidationError, one
    with an amount that is not a finite number ValueError."""
    for raw in rows:
        row = msgspec.convert(raw, _MarketReward, strict=False)
        if row.condition_id.lower() != condition_id.lower():
            continue
        if row.rewards_max_spread is None or row.rewards_min_size is None:
            return None
        daily = sum(_finite(f.rate_per_day) for f in row.rewards_config
                    if (_day(f.start_date) or today) <= today <= (_day(f.end_date) or today))
        spread = round(_finite(row.rewards_max_spread) * 100)  # cents -> pips
        if spread <= 0 or daily <= 0:
            return None
        return Programme(max_spread=spread, min_size=round(_finite(row.rewards_min_size) * 100),
                         daily_usd=daily)
    return None


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
                out[m.market] = programme_of(rows or (), m.venue_market, today)
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
