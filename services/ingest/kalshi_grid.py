"""Kalshi price grids from REST market data.

Kalshi pushes no websocket message when a market's price grid changes (venues.md B3,
B5: the Market object's `price_ranges` / `price_level_structure` are REST only), so
ingest reads `GET /markets?tickers=...` on every (re)subscribe, on a slow timer, and
when the executor reports a rejected order (grid.py). A market's tick is the
coarsest step of its `price_ranges` (the least common multiple of the steps): a
price on that grid is valid everywhere in the market, also on tapered grids.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import httpx

from common import wire_numbers as wn
from common.config import Config
from common.errors import VenueDataError, VenueError
from common.kalshi_auth import KalshiSigner, path_of
from common.prices import ONE_DOLLAR
from common.venue_drops import MALFORMED, drop

__all__ = ["PAGE_LIMIT", "STRUCTURE_TICKS", "KalshiGrid", "tick_of"]

PAGE_LIMIT = 1000
STRUCTURE_TICKS = {"linear_cent": 100, "deci_cent": 10, "tapered_deci_cent": 100}
"""Fallback when a market carries no `price_ranges`: the coarsest step of each structure."""


def tick_of(market: dict[str, Any]) -> int:
    """The coarsest valid tick (pips) of one Market object; VenueDataError if it has none."""
    if not isinstance(market, dict):
        raise VenueDataError("markets", market, "not an object")
    tick = 0
    ranges = market.get("price_ranges") or []
    if not isinstance(ranges, list):
        raise VenueDataError("price_ranges", ranges, "not a list")
    for rng in ranges:
        if not isinstance(rng, dict):
            raise VenueDataError("price_ranges", rng, "not an object")
        step = wn.pips(rng.get("step"), "step")
        tick = math.lcm(tick or step, step)
        if tick >= ONE_DOLLAR:  # also bounds the work a hostile list of steps can cause
            raise VenueDataError("price_ranges", rng.get("step"), "no common tick inside (0, 1)")
    if tick:
        return tick
    fallback = STRUCTURE_TICKS.get(str(market.get("price_level_structure") or ""))
    if fallback is None:
        raise VenueDataError("price_level_structure", market.get("price_level_structure"),
                             "no price grid")
    return fallback


class KalshiGrid:
    """Reads the price grid of Kalshi markets over signed REST."""

    def __init__(self, cfg: Config, signer: KalshiSigner | None) -> None:
        k = cfg.venues.kalshi
        self._signer = signer
        self._base = k.rest_url.rstrip("/")
        self._path = path_of(self._base) + "/markets"
        self._http = httpx.AsyncClient(timeout=k.request_timeout_ms / 1000)
        if signer is not None:
            signer.clock.watch_async(self._http)  # every answer dates Kalshi's clock

    async def ticks(self, tickers: Sequence[str]) -> tuple[dict[str, int], int]:
        """(ticker -> tick in pips, malformed markets skipped); raise VenueError on failure."""
        out: dict[str, int] = {}
        bad = 0
        cursor = ""
        seen: set[str] = set()
        while True:
            params: dict[str, Any] = {"tickers": ",".join(tickers), "limit": PAGE_LIMIT}
            if cursor:
                params["cursor"] = cursor
            headers = self._signer.headers("GET", self._path) if self._signer else {}
            try:
                resp = await self._http.get(self._base + "/markets", params=params,
                                            headers=headers)
                data = resp.json() if resp.status_code == 200 else None
            except (httpx.HTTPError, ValueError) as exc:
                raise VenueError(f"GET /markets: {type(exc).__name__}", definitive=False) from None
            if not isinstance(data, dict):
                raise VenueError(f"GET /markets: HTTP {resp.status_code}", definitive=False,
                                 status=resp.status_code)
            markets = data.get("markets") or []
            for market in markets if isinstance(markets, list) else [markets]:
                try:
                    out[str(market["ticker"])] = tick_of(market)
                except MALFORMED as exc:
                    bad += 1
                    drop("kalshi", "rest", exc)
            cursor = str(data.get("cursor") or "")
            if cursor in seen:
                raise VenueError("GET /markets: the venue repeated a cursor", definitive=False)
            seen.add(cursor)
            if not cursor:
                return out, bad

    async def close(self) -> None:
        await self._http.aclose()
