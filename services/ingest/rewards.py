"""Our markets' liquidity reward programmes, read by ingest and published on the md bus.

Programmes are public market data: ingest reads them (Polymarket `GET
/rewards/markets/{condition_id}`, Kalshi `GET /incentive_programs`, both unsigned; decoded
by common/reward_programmes.py) every `[ingest] reward_refresh_ms` and publishes each
market's `RewardProgramme` on its md topic every `reward_republish_ms` in between, so a
quoter or an executor that starts later learns it. A read that fails keeps the last
programmes (logged); rows that do not decode are dropped and counted, never fatal.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

import httpx
import msgspec

from common.config import Config
from common.errors import VenueError
from common.messages import RewardProgramme, Venue
from common.reward_programmes import (
    AnyProgramme, kalshi_programme, polymarket_programme, to_message,
)
from common.venue_drops import MALFORMED, drop

__all__ = ["KalshiProgrammes", "MAX_PAGES", "PolymarketProgrammes", "ProgrammeSource",
           "RewardPoller", "source_for"]

log = logging.getLogger(__name__)

MAX_PAGES = 20
"""Pages read per market (Polymarket) or per refresh (Kalshi) at most."""


class ProgrammeSource(Protocol):
    async def read(self) -> dict[str, AnyProgramme | None]:
        """Each market's programme by market id; VenueError if the venue cannot be read."""
        ...


async def _get(client: httpx.AsyncClient, url: str, params: dict[str, Any]) -> Any:
    try:
        resp = await client.get(url, params=params)
    except httpx.HTTPError as exc:
        raise VenueError(f"{url}: {exc.__class__.__name__}", definitive=False) from None
    if resp.status_code != 200:
        raise VenueError(f"{url}: HTTP {resp.status_code}", definitive=False)
    try:
        return resp.json()
    except ValueError:
        raise VenueError(f"{url}: not JSON", definitive=False) from None


def _page(body: Any, key: str) -> dict[str, Any]:
    """A page whose `key` is a list; VenueError otherwise (a garbled answer must not read as
    "no programmes": that would clear the ones known)."""
    if not isinstance(body, dict) or not isinstance(body.get(key), list):
        raise VenueError(f"reward programmes: a page without a {key} list", definitive=False)
    return body


class PolymarketProgrammes:
    """`GET /rewards/markets/{condition_id}`, every page, for each market."""

    def __init__(self, rest_url: str, markets: Mapping[str, str]) -> None:
        self._base = rest_url.rstrip("/")
        self._markets = dict(markets)

    async def read(self) -> dict[str, AnyProgramme | None]:
        """The markets read; one that cannot be read is left out (its last programme
        stands), and VenueError only when none can."""
        today = dt.datetime.now(dt.UTC).date()
        out: dict[str, AnyProgramme | None] = {}
        failed: VenueError | None = None
        async with httpx.AsyncClient(timeout=10.0) as client:
            for market, cid in self._markets.items():
                try:
                    rows = await self._rows(client, cid)
                except VenueError as exc:
                    failed = exc
                    continue
                try:
                    out[market] = polymarket_programme(rows, cid, today)
                except MALFORMED as exc:
                    drop("polymarket", "rest", exc)
                    out[market] = None
        if failed is not None and not out:
            raise failed
        return out

    async def _rows(self, client: httpx.AsyncClient, cid: str) -> list[Any]:
        rows: list[Any] = []
        cursor = "MA=="
        for _ in range(MAX_PAGES):
            page = _page(await _get(client, f"{self._base}/rewards/markets/{cid}",
                                    {"next_cursor": cursor}), "data")
            rows += page["data"]
            cursor = str(page.get("next_cursor") or "")
            if not cursor or cursor == "LTE=":
                break
        return rows


class KalshiProgrammes:
    """`GET /incentive_programs?status=active&type=liquidity`, every page."""

    def __init__(self, rest_url: str, markets: Mapping[str, str]) -> None:
        self._url = rest_url.rstrip("/") + "/incentive_programs"
        self._by_ticker = {ticker: market for market, ticker in markets.items()}

    async def read(self) -> dict[str, AnyProgramme | None]:
        now = dt.datetime.now(dt.UTC)
        out: dict[str, AnyProgramme | None] = dict.fromkeys(self._by_ticker.values())
        cursor = ""
        async with httpx.AsyncClient(timeout=10.0) as client:
            for _ in range(MAX_PAGES):
                params: dict[str, Any] = {"status": "active", "type": "liquidity", "limit": 1000}
                if cursor:
                    params["cursor"] = cursor
                page = _page(await _get(client, self._url, params), "incentive_programs")
                for raw in page["incentive_programs"]:
                    try:
                        found = kalshi_programme(raw, now)
                    except MALFORMED as exc:
                        drop("kalshi", "rest", exc)
                        continue
                    if found is not None and found[0] in self._by_ticker:
                        market = self._by_ticker[found[0]]
                        prev = out[market]
                        out[market] = found[1] if prev is None else msgspec.structs.replace(
                            prev, daily_usd=prev.daily_usd + found[1].daily_usd)
                cursor = str(page.get("next_cursor") or "")
                if not cursor:
                    break
        return out


def source_for(cfg: Config, venue: Venue, markets: Mapping[str, str]) -> ProgrammeSource:
    """The programme reads of a venue (`markets`: market id -> venue market)."""
    if venue == "kalshi":
        return KalshiProgrammes(cfg.venues.kalshi.rest_url, markets)
    return PolymarketProgrammes(cfg.venues.polymarket.rest_url, markets)


class RewardPoller:
    """Reads the programmes every `refresh_s` and publishes them every `republish_s`."""

    def __init__(self, venue: Venue, source: ProgrammeSource, markets: list[str],
                 publish: Callable[[RewardProgramme], Awaitable[None]], *, refresh_s: float,
                 republish_s: float, clock: Callable[[], float] = time.monotonic,
                 wall_ns: Callable[[], int] = time.time_ns) -> None:
        self.venue = venue
        self.source = source
        self.markets = markets
        self.publish = publish
        self.refresh_s = refresh_s
        self.republish_s = republish_s
        self._clock = clock
        self._wall_ns = wall_ns
        self.programmes: dict[str, AnyProgramme | None] = {}
        self._read_at: float | None = None

    async def once(self) -> None:
        """Read if due (every time until a read succeeds), then publish what is known
        (nothing before the first read)."""
        now = self._clock()
        if not self.programmes or self._read_at is None or now - self._read_at >= self.refresh_s:
            self._read_at = now  # until a first read succeeds, it is tried every time
            try:  # a market the read left out keeps its last programme
                self.programmes = {**self.programmes, **await self.source.read()}
            except VenueError as exc:
                log.warning("reward programmes not read (%s): %s", exc,
                            "the last ones stand" if self.programmes else "trying again")
        if not self.programmes:
            return
        ts = self._wall_ns()
        for market in self.markets:
            await self.publish(to_message(self.venue, market, ts, self.programmes.get(market)))

    async def run(self) -> None:
        while True:
            try:
                await self.once()
            except Exception:  # noqa: BLE001 - information: a loop that ends stops ingest
                log.exception("reward programmes: the read or publish failed; next in %.0f s",
                              self.republish_s)
            await asyncio.sleep(self.republish_s)
