"""Kalshi account reads over REST: resting orders, fills since a time, net positions.

Every list is cursor-paged; all pages are read (a repeated cursor fails the call): a row
missed on page two would be an open order left alone or, for positions, a market halted
at the venue position check (risk/venue_check.py). A malformed page fails the whole
call, ambiguously; a malformed row is counted and skipped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from common import metrics
from common import wire_numbers as wn
from common.errors import VenueDataError, VenueError
from common.messages import Fill, MarketPosition
from common.venue_drops import MALFORMED, drop
from common.venues.kalshi import fill_from_wire
from services.executor.kalshi_http import KalshiHttp
from services.executor.kalshi_wire import error_text, page_rows, venue_order
from services.executor.orders import MarketTokens, VenueOrder

__all__ = ["all_pages", "fills_since", "open_orders", "positions"]

VENUE = "kalshi"


def _dropped(exc: BaseException) -> None:
    metrics.VENUE_MESSAGES_DROPPED.labels(venue=VENUE, channel="rest").inc()
    drop(VENUE, "rest", exc)


def _page(resp: httpx.Response, key: str, seen: set[str]) -> tuple[list[Any], str]:
    """One list page's rows and cursor; a malformed page fails the whole call, ambiguously."""
    try:
        return page_rows(resp, key, seen)
    except VenueDataError as exc:
        _dropped(exc)
        raise VenueError(f"{key}: malformed page ({exc})", definitive=False) from None


async def all_pages(http: KalshiHttp, path: str, key: str, params: dict[str, Any],
                    what: str) -> list[Any]:
    """The rows under `key` of every page of a cursor-paged GET."""
    rows: list[Any] = []
    cursor = ""
    seen: set[str] = set()
    while True:
        resp = await http.request("GET", path,
                                  params=params | ({"cursor": cursor} if cursor else {}))
        if resp.status_code != 200:
            raise VenueError(f"{what}: {error_text(resp)}",
                             definitive=resp.status_code < 500, status=resp.status_code)
        page, cursor = _page(resp, key, seen)
        rows += page
        if not cursor:
            return rows


async def open_orders(http: KalshiHttp, ticker: str = "") -> list[VenueOrder]:
    """Every resting order (of one market if `ticker`); malformed rows are counted and skipped."""
    out: list[VenueOrder] = []
    params: dict[str, Any] = {"status": "resting", "limit": 200}
    if ticker:
        params["ticker"] = ticker
    for row in await all_pages(http, "/portfolio/orders", "orders", params, "open orders"):
        try:
            out.append(venue_order(row))
        except MALFORMED as exc:
            _dropped(exc)
    return out


async def fills_since(http: KalshiHttp, by_ticker: Mapping[str, MarketTokens], min_ts_s: int,
                      ts_recv_ns: int) -> list[Fill]:
    """Our fills of the `by_ticker` markets at or after `min_ts_s` (unix s), oldest first."""
    out: list[Fill] = []
    cursor = ""
    seen: set[str] = set()
    while True:
        params: dict[str, Any] = {"min_ts": min_ts_s, "limit": 200}
        if cursor:
            params["cursor"] = cursor
        resp = await http.request("GET", "/portfolio/fills", params=params)
        if resp.status_code != 200:
            raise VenueError(f"fills: {error_text(resp)}",
                             definitive=resp.status_code < 500, status=resp.status_code)
        rows, cursor = _page(resp, "fills", seen)
        for row in rows:
            try:
                if not isinstance(row, dict):
                    raise VenueDataError("fills", row, "not an object")
                m = by_ticker.get(str(row.get("ticker") or row.get("market_ticker")))
                if m is None:
                    continue
                out.append(fill_from_wire(row, m.market, ts_recv_ns))
            except VenueDataError as exc:  # fill_from_wire raises nothing else
                _dropped(exc)
        if not cursor:
            return list(reversed(out))


async def positions(http: KalshiHttp, markets: Sequence[MarketTokens]) -> list[MarketPosition]:
    """Net positions of `markets` (Kalshi reports net YES contracts only)."""
    by_ticker = {m.venue_market: m for m in markets}
    net: dict[str, int] = {}
    for row in await all_pages(http, "/portfolio/positions", "market_positions",
                               {"limit": 1000}, "positions"):
        m = by_ticker.get(str(row.get("ticker"))) if isinstance(row, dict) else None
        if m is not None:
            try:  # signed: a negative position_fp is a NO position
                net[m.market] = wn.signed_centi(row.get("position_fp") or "0", "position_fp")
            except VenueDataError as exc:
                _dropped(exc)
    return [MarketPosition(market=m.market, position_yes=max(net.get(m.market, 0), 0),
                           position_no=max(-net.get(m.market, 0), 0),
                           net=net.get(m.market, 0)) for m in markets]
