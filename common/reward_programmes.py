"""The venues' liquidity reward programmes: the records, their decoding from each venue's
answer, and their form on the md bus (`RewardProgramme`). Pure; ingest reads the
programmes (services/ingest/rewards.py), the executor and the quoter use them.

- Polymarket `GET /rewards/markets/{condition_id}` rows, as Polymarket's own newer SDK
  (polymarket-client 0.14.0 `MarketReward`) reads them: `rewards_max_spread` in cents,
  `rewards_min_size` in shares, `rewards_config` with each funding's `rate_per_day` and
  its `start_date` / `end_date`; the pool is the sum of the rates whose dates include
  today.
- Kalshi `GET /incentive_programs` rows, as kalshi-python-sync 3.34.0's
  `IncentiveProgram`: `period_reward` in centi-cents for the whole period,
  `discount_factor_bps`, `target_size_fp` (contracts, two decimals).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable

import msgspec
from msgspec import Struct

from common.messages import RewardProgramme, Venue

__all__ = ["AnyProgramme", "KalshiProgramme", "Programme", "from_message", "kalshi_programme",
           "polymarket_programme", "to_message"]


class Programme(Struct, frozen=True, kw_only=True):
    """One market's reward programme as the venue publishes it."""

    max_spread: int
    """Pips from the adjusted midpoint (the venue's `rewards_max_spread` is in cents)."""
    min_size: int
    """Centi-contracts (the venue's `rewards_min_size` is in shares)."""
    daily_usd: float
    """The day's pool (the sum of the active `rewards_config` rates)."""


class KalshiProgramme(Struct, frozen=True, kw_only=True):
    """One Kalshi market's liquidity incentive as the venue publishes it."""

    target_size: int
    """Centi-contracts of depth from the best price that score (`target_size_fp`)."""
    discount: float
    """The multiplier per cent from the best price (`discount_factor_bps` / 10,000)."""
    daily_usd: float
    """The period's reward (`period_reward`, centi-cents) over the period's days."""


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


def polymarket_programme(rows: Iterable[object], condition_id: str, today: dt.date) -> Programme | None:
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


def kalshi_programme(raw: object, now: dt.datetime) -> tuple[str, KalshiProgramme] | None:
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


AnyProgramme = Programme | KalshiProgramme


def to_message(venue: Venue, market: str, ts_ns: int,
               prog: AnyProgramme | None) -> RewardProgramme:
    """A market's programme (or its absence) as published on the md bus."""
    if isinstance(prog, Programme):
        return RewardProgramme(venue=venue, market=market, ts_ns=ts_ns, kind="polymarket",
                               daily_usd=prog.daily_usd, max_spread=prog.max_spread,
                               min_size=prog.min_size)
    if isinstance(prog, KalshiProgramme):
        return RewardProgramme(venue=venue, market=market, ts_ns=ts_ns, kind="kalshi",
                               daily_usd=prog.daily_usd, target_size=prog.target_size,
                               discount=prog.discount)
    return RewardProgramme(venue=venue, market=market, ts_ns=ts_ns)


def from_message(msg: RewardProgramme) -> AnyProgramme | None:
    """The programme a `RewardProgramme` carries (None: none, or one not understood)."""
    if msg.kind == "polymarket" and msg.max_spread > 0 and msg.daily_usd > 0:
        return Programme(max_spread=msg.max_spread, min_size=msg.min_size,
                         daily_usd=msg.daily_usd)
    if msg.kind == "kalshi" and msg.target_size > 0 and msg.daily_usd > 0:
        return KalshiProgramme(target_size=msg.target_size, discount=msg.discount,
                               daily_usd=msg.daily_usd)
    return None
