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
import math
from collections.abc import Sequence

import msgspec

from common.errors import VenueError
from common.venue_drops import MALFORMED, drop
from services.executor.kalshi_http import KalshiHttp
from services.executor.kalshi_wire import error_text
from services.executor.orders import MarketTokens
from strategy.rewards import KalshiProgramme

__all__ = ["KalshiRewards", "MAX_PAGES", "programme_of"]

MAX_PAGES = 20
"""Pages of programmes read per refresh at most (1,000 rows each)."""


class _Programme(msgspec.Struct):
    market_ticker: str
    period_reward: int
    start_date: str
    end_date: str
    incentive_type: str = "liquidity"
    paid_out: bool = False
    discount_factor_bps: int | None = None
    target_size_fp: str | None = None


def _utc(text: str) -> dt.datetime:
    """An ISO date-time, UTC when it names no zone (ValueError if it is none)."""
    when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def programme_of(raw: object, now: dt.datetime) -> tuple[str, KalshiProgramme] | None:
    """(ticker, programme) of one row, None if it is not a liquidity programme running now;
    a row that does not decode raises one of MALFORMED."""
    row = msgspec.convert(raw, _Programme)
    start, end = _utc(row.start_date), _utc(row.end_date)
    if row.incentive_type != "liquidity" or row.paid_out or not start <= now < end:
        return None
    days = max((end - start).total_seconds() / 86_400, 1 / 24)
    target = float(row.target_size_fp or "0")
    if not math.isfinite(target) or target <= 0 or row.period_reward <= 0:
        return None
    return row.market_ticker, KalshiProgramme(
        target_size=round(target * 100),
        discount=1.0 if row.discount_factor_bps is None  # no factor listed: no discount
        else min(max(row.discount_factor_bps / 10_000, 0.0), 1.0),
        daily_usd=row.period_reward / 10_000 / days)


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
                    found = programme_of(raw, now)
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
