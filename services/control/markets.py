"""Start, stop and reconfigure markets at runtime through the run dir's overlay.

Shared by the CLI (`pmm start/stop/config/list`) and the HTTP plane. Every change is
validated against the whole merged config before it is written, so a bad value never
reaches a process, and the error names the flag and its allowed range.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

from common import overlay as overlay_mod
from common.config import Config, MarketConfig, QuotingConfig, spread_in_range
from common.errors import ConfigError

__all__ = ["BY_FIELD", "FLAGS", "Flag", "configure", "flag_error", "lookup_polymarket",
    "settings", "start", "stop", "validate_changes"]


@dataclass(frozen=True)
class Flag:
    """One `pmm start`/`pmm config` flag and the setting it changes."""

    flag: str
    field: str
    scope: Literal["quoting", "market"]
    kind: type
    help: str
    choices: tuple[str, ...] = ()


_Q, _M = QuotingConfig(), MarketConfig(id="x", venue="polymarket", venue_market="x")
_FV = ("mid_price", "weighted_mid", "vwap", "ema", "microprice")

FLAGS: tuple[Flag, ...] = (
    Flag("spread", "spread", "quoting", float, f"half-spread in dollars (default {_Q.spread})"),
    Flag("min-spread", "min_spread", "quoting", float, f"narrowest half-spread (default {_Q.min_spread})"),
    Flag("max-spread", "max_spread", "quoting", float, f"widest half-spread (default {_Q.max_spread})"),
    Flag("size", "size", "quoting", float, f"contracts per level (default {_Q.size:g})"),
    Flag("max-inventory", "max_inventory", "quoting", float,
         f"net contracts at which quoting one side stops (default {_Q.max_inventory:g})"),
    Flag("skew", "skew", "quoting", float, f"inventory skew factor (default {_Q.skew})"),
    Flag("vol-mult", "vol_mult", "quoting", float, f"volatility multiplier (default {_Q.vol_mult:g})"),
    Flag("alpha", "alpha", "quoting", float, f"EMA smoothing of fair value (default {_Q.alpha})"),
    Flag("fv-method", "fv_method", "quoting", str, f"fair value method (default {_Q.fv_method})", _FV),
    Flag("interval", "interval_ms", "quoting", int, f"requote interval in ms (default {_Q.interval_ms})"),
    Flag("threshold", "threshold", "quoting", float,
         f"fair-value move in dollars that forces a requote (default {_Q.threshold})"),
    Flag("max-pos", "max_position_usd", "market", float,
         f"max position in dollars (default {_M.max_position_usd:g})"),
    Flag("max-loss", "max_loss_usd", "market", float, f"loss limit in dollars (default {_M.max_loss_usd:g})"),
    Flag("max-orders", "max_orders", "quoting", int, f"orders per side (default {_Q.max_orders})"),
    Flag("level-spacing", "level_spacing", "quoting", float,
         "dollars between ladder levels (default 0 = the spread)"),
    Flag("level-decay", "level_decay", "quoting", float, f"size decay per level (default {_Q.level_decay})"),
    Flag("neg-risk", "neg_risk", "market", bool, "the market is a neg-risk event (default off)"),
    Flag("name", "name", "market", str, "display name (default: the venue's question)"),
)
BY_FIELD = {f.field: f for f in FLAGS}
_AT = re.compile(r" - at `\$[^`]*?\.?([a-z_]+)`$")


def flag_error(exc: Exception, changes: dict[str, Any]) -> ConfigError:
    """Turn a validation error about a field into one about its flag, with the range."""
    text = str(exc)
    for field, flag in BY_FIELD.items():
        if f".{field}`" in text or f"`$.{field}`" in text:
            value = changes.get(field, "")
            return ConfigError(f"--{flag.flag} {value}: {_AT.sub('', text)}; pass a value in that range")
    return ConfigError(f"{text}; check the values passed")


def validate_changes(cfg: Config, market_id: str, changes: dict[str, Any]) -> None:
    """Raise ConfigError naming the flag when `changes` are invalid for `market_id`."""
    unknown = [k for k in changes if k not in BY_FIELD]
    if unknown:
        raise ConfigError(f"unknown setting(s) {', '.join(unknown)}; settable: "
                          + ", ".join(f.flag for f in FLAGS))
    market = cfg.market(market_id)
    quoting = {k: v for k, v in changes.items() if BY_FIELD[k].scope == "quoting"}
    merged = msgspec.structs.asdict(cfg.quoting_for(market)) | quoting
    try:
        q = msgspec.convert(merged, QuotingConfig)
        msgspec.convert(msgspec.to_builtins(market) | {k: v for k, v in changes.items()
                                                        if BY_FIELD[k].scope == "market"}, MarketConfig)
    except msgspec.ValidationError as exc:
        raise flag_error(exc, changes) from exc
    if not spread_in_range(q):
        raise ConfigError(f"--spread {q.spread} must lie in [--min-spread {q.min_spread}, "
                          f"--max-spread {q.max_spread}]; change one of them")


def settings(cfg: Config, market_id: str) -> dict[str, Any]:
    """Every flag's current value for a market, as `pmm config <id>` prints it."""
    market = cfg.market(market_id)
    quoting = msgspec.to_builtins(cfg.quoting_for(market))
    out: dict[str, Any] = {"id": market.id, "venue": market.venue, "venue_market": market.venue_market,
                           "yes_token": market.yes_token, "no_token": market.no_token,
                           "tick": market.tick, "min_size": market.min_size}
    for f in FLAGS:
        out[f.field] = quoting[f.field] if f.scope == "quoting" else getattr(market, f.field)
    return out


def configure(base: Config, market_id: str, changes: dict[str, Any]) -> Config:
    """Record per-market changes in the overlay; return the new effective config."""
    ov = overlay_mod.load(base.run_dir)
    current = overlay_mod.apply(base, ov)
    validate_changes(current, market_id, changes)
    ov.overrides[market_id] = {**ov.overrides.get(market_id, {}), **changes}
    new = overlay_mod.apply(base, ov)
    overlay_mod.save(base.run_dir, ov)
    return new


def stop(base: Config, market_id: str) -> Config:
    """Remove a market (from the config file or added earlier) from the running set."""
    ov = overlay_mod.load(base.run_dir)
    market = overlay_mod.apply(base, ov).market(market_id)  # unknown market: a clear error
    ov.stopped = {**ov.stopped, overlay_mod.venue_key(market.venue, market.venue_market): market_id}
    if any(m.get("id") == market_id for m in ov.markets):
        ov.markets = [m for m in ov.markets if m.get("id") != market_id]
    else:
        ov.removed = sorted({*ov.removed, market_id})
    new = overlay_mod.apply(base, ov)
    overlay_mod.save(base.run_dir, ov)
    return new


def lookup_polymarket(rest_url: str, condition_id: str, token: str) -> dict[str, Any]:
    """The market's YES/NO tokens, tick, min size and neg-risk flag from the CLOB."""
    import httpx  # imported where used: every `pmm` command starts faster without it

    url = f"{rest_url.rstrip('/')}/markets/{condition_id}"
    try:
        resp = httpx.get(url, timeout=5.0)
    except httpx.HTTPError as exc:
        raise ConfigError(f"cannot reach the venue at {url} ({exc.__class__.__name__}); "
                          "is it (or the simulator) up?") from exc
    if resp.status_code == 404:
        raise ConfigError(f"unknown market {condition_id!r} at the venue ({url}); "
                          "pass the condition id from the market's page")
    resp.raise_for_status()
    data = resp.json()
    tokens = {str(t.get("outcome", "")).lower(): str(t["token_id"]) for t in data.get("tokens", [])}
    if token not in tokens.values():
        raise ConfigError(f"token {token!r} is not a token of market {condition_id!r}; "
                          f"its tokens are {', '.join(tokens.values())}")
    yes, no = tokens.get("yes", ""), tokens.get("no", "")
    # Quoting is in YES terms whichever of the two tokens the operator named.
    return {"yes_token": yes, "no_token": no, "tick": float(data.get("minimum_tick_size", 0.01)),
            "min_size": float(data.get("minimum_order_size", 5)),
            "neg_risk": bool(data.get("neg_risk", False)), "name": str(data.get("question", ""))}


def start(base: Config, venue: str, venue_market: str, token: str, changes: dict[str, Any],
          market_id: str = "") -> tuple[Config, str]:
    """Add a market to the running set; return the new config and the market's id."""
    ov = overlay_mod.load(base.run_dir)
    current = overlay_mod.apply(base, ov)
    entry: dict[str, Any] = {"venue": venue, "venue_market": venue_market}
    if venue == "polymarket":  # first: an unknown market or token is the error to report
        entry |= lookup_polymarket(current.venues.polymarket.rest_url, venue_market, token)
    else:
        entry |= {"yes_token": token}
    if any(m.venue == venue and m.venue_market == venue_market for m in current.markets):
        raise ConfigError(f"{venue} market {venue_market} is already running; "
                          "`pmm list` shows it, `pmm config` changes it")
    market_fields = {k: v for k, v in changes.items() if k in BY_FIELD and BY_FIELD[k].scope == "market"}
    quoting = {k: v for k, v in changes.items() if k in BY_FIELD and BY_FIELD[k].scope == "quoting"}
    entry |= market_fields
    # Risk journals positions and P&L by market id: a market started again under another id
    # would start flat in the journal while the venue holds its position, and the position
    # check would halt it. So a stopped market comes back under the id it had.
    key = overlay_mod.venue_key(venue, venue_market)
    prior = ov.stopped.get(key, "")
    if prior and market_id and market_id != prior:
        raise ConfigError(f"{venue} market {venue_market} was stopped as {prior!r} and its "
                          f"position and P&L are journaled under that id; start it again as "
                          f"{prior!r} (leave out --id or pass --id {prior})")
    market_id = market_id or prior
    slug = re.sub(r"[^a-z0-9]+", "-", str(entry.get("name") or venue_market).lower()).strip("-")
    entry = {"id": market_id or slug[:40] or venue_market[:40], **entry, "quoting": quoting}
    owner = {v: k for k, v in ov.stopped.items()}.get(entry["id"], key)
    if owner != key:  # that id's journal holds another market's position and P&L
        raise ConfigError(f"market id {entry['id']!r} belongs to the stopped market {owner}, "
                          "whose position and P&L are journaled under it; pass another --id")
    if any(m.id == entry["id"] for m in current.markets):
        raise ConfigError(f"market id {entry['id']!r} is taken; pass --id NEW_ID")
    stopped = {k: v for k, v in ov.stopped.items() if k != overlay_mod.venue_key(venue, venue_market)}
    trial = overlay_mod.Overlay(removed=list(ov.removed), markets=[*ov.markets, entry],
                                overrides=dict(ov.overrides), stopped=stopped)
    try:
        new = overlay_mod.apply(base, trial)
    except ConfigError as exc:
        raise flag_error(exc, changes) from exc
    overlay_mod.save(base.run_dir, trial)
    return new, str(entry["id"])
