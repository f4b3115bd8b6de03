"""Resolve risk limits per market: global `[risk]`, then `[risk.venues.V]`, then `[risk.markets.M]`.

The per-scope tables are checked once at start (`resolve_all`): an unknown key or a value
out of range is a `ConfigError` that names the table and field, for example
``$.risk.markets."fed-cut-dec": Expected `float` >= 0.0, got -1 - at `$.price_collar```.

`MarketConfig.max_position_usd` and `max_loss_usd` are market-level settings; a venue table
may cap them (the tighter value wins), a `[risk.markets.M]` table replaces them.
"""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Any, get_args

import msgspec
from msgspec import Meta

from common.config import Config, Dollars, MarketConfig, RiskConfig, ScopedLimits
from common.errors import ConfigError
from common.messages import Venue
from common.prices import MONEY_SCALE, PRICE_SCALE, SIZE_SCALE

__all__ = ["Limits", "event_of", "resolve", "resolve_all", "venue_loss_limit"]

class Limits(ScopedLimits, frozen=True, kw_only=True, dict=True):
    """Every limit that applies to one market, in config units (dollars, contracts): the
    `ScopedLimits` of `[risk]` (declared once, in common/config.py) as the market's venue
    and market tables override them, plus the market-level settings below.

    The integer views below are computed once per instance (`dict=True` gives the struct a
    `__dict__` for `cached_property`; equality and encoding still see only the fields): the
    gate reads several of them per level of every intent (issue 9)."""

    max_position_usd: Dollars = 1000.0
    """`MarketConfig.max_position_usd`; a venue table may only lower it."""
    max_loss_usd: Dollars = 100.0
    """`MarketConfig.max_loss_usd`; a venue table may only lower it."""
    min_size: Annotated[float, Meta(ge=0, le=1e6)] = 0.0
    """`MarketConfig.min_size`: a level clipped below it is dropped."""

    # integer views in bus units -------------------------------------------------------------
    @cached_property
    def position_money(self) -> int:
        """max_position_usd in micro-dollars."""
        return round(self.max_position_usd * MONEY_SCALE)

    @cached_property
    def position_centi(self) -> int:
        """max_position_contracts in centi-contracts (0: off)."""
        return round(self.max_position_contracts * SIZE_SCALE)

    @cached_property
    def loss_money(self) -> int:
        """max_loss_usd in micro-dollars."""
        return round(self.max_loss_usd * MONEY_SCALE)

    @cached_property
    def order_centi(self) -> int:
        """max_order_size in centi-contracts."""
        return round(self.max_order_size * SIZE_SCALE)

    @cached_property
    def collar_pips(self) -> int:
        """price_collar in pips."""
        return round(self.price_collar * PRICE_SCALE)

    @cached_property
    def min_spread_pips(self) -> int:
        """min_spread in pips (0: off)."""
        return round(self.min_spread * PRICE_SCALE)

    @cached_property
    def min_size_centi(self) -> int:
        """The market's min size in centi-contracts."""
        return round(self.min_size * SIZE_SCALE)


def _global_part(risk: RiskConfig) -> dict[str, Any]:
    return {f: getattr(risk, f) for f in ScopedLimits.__struct_fields__}


def resolve(risk: RiskConfig, market: MarketConfig) -> Limits:
    """The effective limits of one market (raises ConfigError naming a bad override)."""
    merged: dict[str, Any] = _global_part(risk)
    merged["max_position_usd"] = market.max_position_usd
    merged["max_loss_usd"] = market.max_loss_usd
    merged["min_size"] = market.min_size
    venue_table = dict(risk.venues.get(market.venue, {}))
    for capped in ("max_position_usd", "max_loss_usd"):
        if capped in venue_table and isinstance(venue_table[capped], int | float):
            venue_table[capped] = min(float(venue_table[capped]), merged[capped])
    _check_table(venue_table, f"$.risk.venues.{market.venue}")
    merged |= venue_table
    market_table = risk.markets.get(market.id, {})
    _check_table(market_table, f'$.risk.markets."{market.id}"')
    merged |= market_table
    try:
        return msgspec.convert(merged, Limits)
    except msgspec.ValidationError as exc:  # pragma: no cover - tables were checked above
        raise ConfigError(f"risk limits of market {market.id}: {exc}") from exc


def _check_table(table: dict[str, Any], where: str) -> None:
    try:
        msgspec.convert(table, Limits)
    except msgspec.ValidationError as exc:
        raise ConfigError(
            f"{where}: {exc}; allowed keys: {', '.join(Limits.__struct_fields__)}"
        ) from exc


def resolve_all(cfg: Config) -> dict[str, Limits]:
    """Limits of every configured market; unknown market or venue tables are errors."""
    ids = {m.id for m in cfg.markets}
    for mid in cfg.risk.markets:
        if mid not in ids:
            raise ConfigError(
                f'$.risk.markets."{mid}": no such market; configured: {", ".join(sorted(ids))}'
            )
    for venue in cfg.risk.venues:
        if venue not in get_args(Venue):
            raise ConfigError(
                f"$.risk.venues.{venue}: unknown venue ({', '.join(get_args(Venue))})")
    return {m.id: resolve(cfg.risk, m) for m in cfg.markets}


def venue_loss_limit(risk: RiskConfig, venue: str) -> int:
    """The venue's loss limit in micro-dollars (0: off)."""
    value = risk.venues.get(venue, {}).get("max_venue_loss_usd", risk.max_venue_loss_usd)
    return round(float(value) * MONEY_SCALE)


def event_of(market: MarketConfig) -> str:
    """The event a market belongs to (its own id when `event` is empty)."""
    return market.event or f"market:{market.id}"
