"""Market scanner (issue 5): score candidate markets from the venues' listings, filter them,
and choose the top N to quote. Pure: the listing JSON goes in, ranked rows come out.

Each component scores 0..1 against a reference scale from `[scanner]` (so a market's score
does not depend on which other markets were listed):

- volume:      log(1 + volume) / log(1 + volume_ref_usd), capped at 1 (more flow to capture)
- liquidity:   the same with liquidity_ref_usd (depth to size into and to exit against)
- spread:      spread / spread_ref, capped at 1 (a wider spread is more edge per fill);
               no two-sided book scores 0
- volatility:  1 - |price change| / volatility_ref, floored at 0 (a moving price is
               adverse selection for a maker)
- resolution:  days left / resolution_ref_days, capped at 1 (the gamma of a binary near
               its end); no known date scores 0
- reward:      log(1 + pool) / log(1 + reward_ref_usd), capped at 1: the venue's liquidity
               reward pool a day (Gamma's `clobRewards` rates, Kalshi's active liquidity
               incentive), paid whether or not we trade

The score is the weighted mean (`[scanner.weights]`). Filters drop a market before it is
ranked: closed or not accepting orders, liquidity below `min_liquidity_usd`, already
resolved, resolving later than `max_days_to_resolution` (or with no date) when that is
set, and markets the stack already runs. `select` takes the top `top_n`, at most
`max_markets` minus the markets running.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import AbstractSet, Any

import msgspec
from msgspec import Struct

from common.config import ScannerConfig
from common.errors import VenueDataError
from common.reward_programmes import kalshi_programme
from common.venue_drops import MALFORMED, drop
from common.wire_numbers import number_text

__all__ = ["COMPONENTS", "Candidate", "Scored", "components", "exclusion", "from_gamma",
    "from_kalshi", "rank", "score", "select", "with_incentives"]

COMPONENTS = ("volume", "spread", "volatility", "liquidity", "resolution", "reward")


class Candidate(Struct, frozen=True, kw_only=True):
    """One listed market with the stats the scanner reads (USD, dollars, unix seconds)."""

    venue: str
    venue_market: str
    """Polymarket condition id, Kalshi ticker."""
    token: str
    """What `pmm start` takes as the token: Polymarket's YES token id, Kalshi's ticker."""
    name: str
    volume_usd: float
    liquidity_usd: float
    spread: float | None
    price_change: float
    resolves_at_s: int | None
    tradable: bool = True
    reward_usd_per_day: float = 0.0
    """The market's liquidity reward pool a day (0: none listed)."""


class Scored(Struct, frozen=True, kw_only=True):
    candidate: Candidate
    score: float
    components: dict[str, float]
    days_to_resolution: float | None
    excluded: str
    """Why the market was filtered out; "" when it is eligible."""


def _iso_s(text: Any) -> int | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None


def _num(value: Any, field: str = "number") -> float:
    """A venue number (JSON number or decimal string), bounded; VenueDataError if not."""
    out = float(number_text(value, field))  # type, length and magnitude checked first
    if not math.isfinite(out):
        raise VenueDataError(field, value, "not finite")
    return out


def _token_ids(text: Any) -> list[str]:
    """Gamma's `clobTokenIds`, a JSON-encoded list of two ids (bounded before decoding)."""
    if not isinstance(text, str) or len(text) > 400 or text.count("[") > 1:
        raise VenueDataError("clobTokenIds", text, "not a short JSON list")
    ids = json.loads(text)
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise VenueDataError("clobTokenIds", ids, "not a list of ids")
    return ids


def from_gamma(rows: Any) -> tuple[list[Candidate], int]:
    """Candidates from Polymarket Gamma `GET /markets`; (candidates, malformed rows)."""
    out: list[Candidate] = []
    bad = 0
    for row in rows if isinstance(rows, list) else []:
        try:
            tokens = _token_ids(row["clobTokenIds"])
            spread = row.get("spread")
            out.append(Candidate(
                venue="polymarket", venue_market=str(row["conditionId"]), token=str(tokens[0]),
                name=str(row.get("question") or row["conditionId"]),
                volume_usd=_num(row.get("volume24hr", 0) or 0),
                liquidity_usd=_num(row.get("liquidityNum", row.get("liquidity", 0)) or 0),
                spread=None if spread is None else _num(spread),
                price_change=abs(_num(row.get("oneDayPriceChange", 0) or 0)),
                resolves_at_s=_iso_s(row.get("endDate")),
                tradable=bool(row.get("active", True)) and not row.get("closed", False)
                and bool(row.get("acceptingOrders", True)),
                reward_usd_per_day=_gamma_pool(row.get("clobRewards")),
            ))
        except MALFORMED as exc:
            bad += 1
            drop("polymarket", "listing", exc)
    return out, bad


def _gamma_pool(rewards: Any) -> float:
    """The daily rate of a Gamma row's `clobRewards` (polymarket-client's `ClobReward`:
    `rewardsDailyRate` per funding), summed; a row without any pays 0, and one whose
    rewards cannot be read is counted and scored as paying 0 (the market stays listed)."""
    if not rewards:
        return 0.0
    try:
        return sum(max(0.0, _num(r["rewardsDailyRate"], "rewardsDailyRate")) for r in rewards)
    except MALFORMED as exc:
        drop("polymarket", "listing", exc)
        return 0.0


def with_incentives(cands: list[Candidate], payload: Any,
                    now: datetime) -> tuple[list[Candidate], int]:
    """Kalshi candidates with their liquidity incentive pool a day from `GET
    /incentive_programs?status=active&type=liquidity` (decoded by
    common/reward_programmes.py, as the executor's and ingest's reads are); programmes on
    one market add up. (candidates, malformed programmes)."""
    pools: dict[str, float] = {}
    bad = 0
    rows = payload.get("incentive_programs") if isinstance(payload, dict) else None
    for row in rows if isinstance(rows, list) else []:
        try:
            found = kalshi_programme(row, now)
        except MALFORMED as exc:
            bad += 1
            drop("kalshi", "listing", exc)
            continue
        if found is not None:
            ticker, prog = found
            pools[ticker] = pools.get(ticker, 0.0) + prog.daily_usd
    return [c if c.venue_market not in pools else
            msgspec.structs.replace(c, reward_usd_per_day=pools[c.venue_market])
            for c in cands], bad


def from_kalshi(payload: Any) -> tuple[list[Candidate], int]:
    """Candidates from Kalshi `GET /markets` (2026 fixed-point fields); (candidates, malformed).

    Volume in USD is `volume_24h_fp` contracts at the mid; liquidity is the top of book
    (`yes_bid_size_fp` at the bid plus `yes_ask_size_fp` at 1 - ask: the SDK's Market has
    no `liquidity_dollars`); the price change is |last - previous|."""
    out: list[Candidate] = []
    bad = 0
    rows = payload.get("markets") if isinstance(payload, dict) else None
    for row in rows if isinstance(rows, list) else []:
        try:
            bid, ask = _num(row["yes_bid_dollars"]), _num(row["yes_ask_dollars"])
            two_sided = 0 < bid < ask < 1
            mid = (bid + ask) / 2 if two_sided else _num(row.get("last_price_dollars", 0) or 0)
            liquidity = (_num(row.get("yes_bid_size_fp", 0)) * bid
                         + _num(row.get("yes_ask_size_fp", 0)) * (1 - ask))
            prev = row.get("previous_price_dollars")
            change = 0.0 if prev is None else abs(_num(row.get("last_price_dollars", 0)) - _num(prev))
            out.append(Candidate(
                venue="kalshi", venue_market=str(row["ticker"]), token=str(row["ticker"]),
                name=str(row.get("title") or row["ticker"]),
                volume_usd=_num(row.get("volume_24h_fp", 0) or 0) * mid,
                liquidity_usd=_num(liquidity), spread=round(ask - bid, 4) if two_sided else None,
                price_change=change, resolves_at_s=_iso_s(row.get("close_time")),
                tradable=str(row.get("status", "active")) in ("active", "open"),
            ))
        except MALFORMED as exc:
            bad += 1
            drop("kalshi", "listing", exc)
    return out, bad


def components(c: Candidate, cfg: ScannerConfig, now_s: int) -> dict[str, float]:
    """Each component's 0..1 score (module docstring)."""
    days = None if c.resolves_at_s is None else (c.resolves_at_s - now_s) / 86_400
    return {
        "volume": min(1.0, math.log1p(max(c.volume_usd, 0)) / math.log1p(cfg.volume_ref_usd)),
        "spread": 0.0 if c.spread is None else min(1.0, max(c.spread, 0) / cfg.spread_ref),
        "volatility": max(0.0, 1 - c.price_change / cfg.volatility_ref),
        "liquidity": min(1.0, math.log1p(max(c.liquidity_usd, 0)) / math.log1p(cfg.liquidity_ref_usd)),
        "resolution": 0.0 if days is None else min(1.0, max(days, 0) / cfg.resolution_ref_days),
        "reward": min(1.0, math.log1p(max(c.reward_usd_per_day, 0))
                      / math.log1p(cfg.reward_ref_usd)),
    }


def score(parts: dict[str, float], cfg: ScannerConfig) -> float:
    """The weighted mean of the components (weights from `[scanner.weights]`)."""
    weights = {name: getattr(cfg.weights, name) for name in COMPONENTS}
    total = sum(weights.values())
    return sum(weights[n] * parts[n] for n in COMPONENTS) / total


def exclusion(c: Candidate, cfg: ScannerConfig, now_s: int, running: AbstractSet[tuple[str, str]]) -> str:
    """Why `c` is filtered out, or "" if it is eligible."""
    if (c.venue, c.venue_market) in running:
        return "already running"
    if not c.tradable:
        return "closed or not accepting orders"
    if c.liquidity_usd < cfg.min_liquidity_usd:
        return f"liquidity ${c.liquidity_usd:,.0f} < min ${cfg.min_liquidity_usd:,.0f}"
    if c.resolves_at_s is not None and c.resolves_at_s <= now_s:
        return "past its resolution time"
    if cfg.max_days_to_resolution > 0:
        if c.resolves_at_s is None:
            return "no resolution date (max_days_to_resolution is set)"
        days = (c.resolves_at_s - now_s) / 86_400
        if days > cfg.max_days_to_resolution:
            return f"resolves in {days:,.1f} days > max {cfg.max_days_to_resolution:g}"
    return ""


def rank(cands: list[Candidate], cfg: ScannerConfig, now_s: int,
         running: AbstractSet[tuple[str, str]] | None = None) -> list[Scored]:
    """Every candidate scored: eligible ones first by score (ties by id), then the rest."""
    running = running or set()
    rows = []
    for c in cands:
        parts = components(c, cfg, now_s)
        days = None if c.resolves_at_s is None else (c.resolves_at_s - now_s) / 86_400
        rows.append(Scored(candidate=c, score=score(parts, cfg), components=parts,
                           days_to_resolution=days, excluded=exclusion(c, cfg, now_s, running)))
    rows.sort(key=lambda r: (r.excluded != "", -r.score, r.candidate.venue, r.candidate.venue_market))
    return rows


def select(ranked: list[Scored], cfg: ScannerConfig, running_count: int) -> list[Scored]:
    """The top `top_n` eligible rows, no more than `max_markets - running_count`."""
    room = max(0, min(cfg.top_n, cfg.max_markets - running_count))
    return [r for r in ranked if not r.excluded][:room]
