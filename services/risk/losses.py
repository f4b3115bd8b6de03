"""Loss limits, as pure functions: which markets a loss halts, and when the day restarts.

Three limits, each on realized plus marked P&L counted from the last daily reset
(`[risk] daily_reset_utc`), each latching a persisted halt on the markets it covers:

    market loss  <= -max_loss_usd             halts the market             "max_loss"
    venue loss   <= -max_venue_loss_usd       halts the venue's markets    "max_venue_loss"
    total loss   <= -max_total_loss_usd       halts every market           "max_total_loss"

A limit of 0 is off (except the total, which is always > 0). The venue and total losses are
running sums (totals.py). The daily reset releases these halts, and only these.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from datetime import UTC, datetime, timedelta

from common.config import MarketConfig, RiskConfig
from common.prices import MONEY_SCALE

__all__ = [
    "LOSS_HALTS", "last_reset_ns", "loss_breached", "loss_halts", "market_loss_breached",
    "reset_due", "total_loss_breached", "total_loss_limit",
]

LOSS_HALTS = frozenset({"max_loss", "max_venue_loss", "max_total_loss"})
"""The halt reasons a daily reset releases."""


def loss_breached(pnl: int, limit_money: int) -> bool:
    """True when P&L (micro-dollars) is at or below -limit; a limit of 0 is off."""
    return limit_money > 0 and pnl <= -limit_money


def market_loss_breached(realized: int, marked: int, market: MarketConfig) -> bool:
    """True when realized + marked P&L (micro-dollars) is at or below -max_loss_usd."""
    return realized + marked <= -round(market.max_loss_usd * MONEY_SCALE)


def total_loss_limit(risk: RiskConfig) -> int:
    """`[risk] max_total_loss_usd` in micro-dollars (always > 0)."""
    return round(risk.max_total_loss_usd * MONEY_SCALE)


def total_loss_breached(total_pnl: int, risk: RiskConfig) -> bool:
    """True when the total P&L over every market is at or below -max_total_loss_usd."""
    return loss_breached(total_pnl, total_loss_limit(risk))


def loss_halts(
    market: str,
    *,
    market_loss: int,
    market_limit: int | None,
    venue_loss: int,
    venue_limit: int,
    venue_markets: Iterable[str],
    total_loss: int,
    total_limit: int,
    markets: Iterable[str],
    halted: Container[str],
) -> list[tuple[str, str]]:
    """The (market, reason) halts to latch after `market`'s figures changed, in order:
    the market's own limit (`market_limit` None: not a configured market), then its
    venue's over `venue_markets`, then the total over `markets`. A market already in
    `halted`, or halted earlier in the list, is not halted again. All money in
    micro-dollars."""
    out: list[tuple[str, str]] = []
    named: set[str] = set()

    def add(m: str, reason: str) -> None:
        if m not in halted and m not in named:
            named.add(m)
            out.append((m, reason))

    if market_limit is not None and loss_breached(market_loss, market_limit):
        add(market, "max_loss")
    if venue_limit and loss_breached(venue_loss, venue_limit):
        for m in venue_markets:
            add(m, "max_venue_loss")
    if loss_breached(total_loss, total_limit):
        for m in markets:
            add(m, "max_total_loss")
    return out


def last_reset_ns(now_wall_ns: int, hhmm: str) -> int:
    """Unix ns of the most recent daily reset at `hhmm` UTC at or before `now_wall_ns`."""
    hour, minute = (int(x) for x in hhmm.split(":"))
    now = datetime.fromtimestamp(now_wall_ns / 1e9, tz=UTC)
    at = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if at > now:
        at -= timedelta(days=1)
    return int(at.timestamp()) * 1_000_000_000


def reset_due(now_wall_ns: int, hhmm: str, last_reset: int) -> int | None:
    """The boundary (unix ns) of a daily reset that is due now, or None: none configured
    (`hhmm` empty), or the last one already applied."""
    if not hhmm:
        return None
    boundary = last_reset_ns(now_wall_ns, hhmm)
    return boundary if boundary > last_reset else None
