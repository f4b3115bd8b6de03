"""Kalshi's liquidity incentives for our markets: GET /incentive_programs (public).

Rows as kalshi-python-sync 3.34.0 models them (`IncentiveProgram`): `market_ticker`,
`incentive_type` ("liquidity" here), `start_date` / `end_date`, `period_reward` in
centi-cents for the whole period, `discount_factor_bps`, `target_size_fp` (contracts,
two decimals), `paid_out`. Asked with `status=active&type=liquidity`, every page
(`next_cursor`). The venue publishes no per-order scoring, so `scoring` answers nothing
and the executor scores our orders by the programme's rules itself (strategy/rewards.py).
Rows that do not decode are dropped and counted, never fatal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import msgspec

from common.errors import VenueError
from common.reward_programmes import KalshiProgramme, kalshi_programme
from common.venue_drops import MALFORMED, drop
from services.executor.kalshi_http import KalshiHttp
from services.executor.kalshi_wire import error_text
from services.executor.orders import MarketTokens

__all__ = ["KalshiRewards", "MAX_PAGES"]

MAX_PAGES = 20
"""Pages of programmes read per refresh at most (1,000 rows each)."""


class KalshiRewards:
    """The incentive reads of one Kalshi account (services/executor/rewards.py uses it)."""

    venue = "kalshi"

    def __init__(self, http: KalshiHttp, markets: Sequence[MarketTokens]) -> None:
        self._http = http
        self._by_ticker = {m.venue_market: m.market for m in markets}

    async def programmes(self) -> dict[str, KalshiProgramme | None]:
        """Each market's running liquidity programme, by market id; VenueError if the
        venue cannot be read."""
        out: dict[str, KalshiProgramme | None] = dict.fromkeys(self._by_ticker.values())
        now = dt.datetime.now(dt.UTC)
        cursor = ""
        for _ in range(MAX_PAGES):
            params = {"status": "active", "type": "liquidity", "limit": 1000}
            if cursor:
                params["cursor"] = cursor
            resp = await self._http.request("GET", "/incentive_programs", params=params)
            if resp.status_code != 200:
                raise VenueError(f"incentive programs: {error_text(resp)}", definitive=False)
            try:
                body = resp.json()
                rows, cursor = body["incentive_programs"], str(body.get("next_cursor") or "")
            except MALFORMED as exc:
                drop(self.venue, "rest", exc)
                raise VenueError("incentive programs: answer not understood",
                                 definitive=False) from None
            for raw in rows or ():
                try:
                    found = kalshi_programme(raw, now)
                except MALFORMED as exc:
                    drop(self.venue, "rest", exc)
                    continue
                if found is not None and found[0] in self._by_ticker:
                    market = self._by_ticker[found[0]]
                    prev = out[market]  # two programmes on one market: their pools add up
                    out[market] = found[1] if prev is None else msgspec.structs.replace(
                        prev, daily_usd=prev.daily_usd + found[1].daily_usd)
            if not cursor:
                break
        return out

    async def scoring(self, order_ids: Sequence[str]) -> dict[str, bool]:
        """Kalshi publishes no per-order scoring: nothing is known."""
        return {}
