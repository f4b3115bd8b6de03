"""Runtime market changes: `<run_dir>/overlay.toml` on top of the stack's config file.

`pmm start`, `pmm stop` and `pmm config` never edit the operator's config file; they write
the overlay, which every process applies on top of its config at start (so a change
survives a restart) and, where it can, on the fly through `watch()`:

    removed = ["btc-150k"]                # markets of the config file not to run

    [[markets]]                           # markets added at runtime (same keys as the config)
    id = "new-market"
    venue = "polymarket"
    ...

    [overrides."fed-cut-dec"]             # per-market changes: any [quoting] key, and
    spread = 0.03                         # max_position_usd, max_loss_usd, neg_risk, name
    max_loss_usd = 50.0

    [stopped]                             # venue market -> the id it was stopped as: risk
    "polymarket:0x13a4..." = "btc-150k"   # journals positions by id, so a restart reuses it

The merged result is validated like the config file itself, so an error names the field
and its range.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from common import config as config_mod
from common.config import Config, QuotingConfig
from common.errors import ConfigError

__all__ = ["FILE_NAME", "MARKET_KEYS", "Overlay", "QUOTING_KEYS", "apply", "dumps",
    "effective", "load", "load_effective", "path_of", "save", "venue_key", "watch"]

log = logging.getLogger(__name__)

FILE_NAME = "overlay.toml"
MARKET_KEYS = ("max_position_usd", "max_loss_usd", "neg_risk", "name")
QUOTING_KEYS = tuple(QuotingConfig.__struct_fields__)


class Overlay(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Added markets, removed market ids and per-market overrides."""

    removed: list[str] = []
    markets: list[dict[str, Any]] = []
    overrides: dict[str, dict[str, Any]] = {}
    stopped: dict[str, str] = {}
    """`venue:venue_market` -> the id the market had when `pmm stop` removed it."""


def venue_key(venue: str, venue_market: str) -> str:
    """The key of `Overlay.stopped`: one venue market, whatever pmm called it."""
    return f"{venue}:{venue_market}"


def path_of(run_dir: Path) -> Path:
    return run_dir / FILE_NAME


def load(run_dir: Path) -> Overlay:
    """The overlay in `run_dir`, or an empty one when there is none."""
    path = path_of(run_dir)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return Overlay()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        return msgspec.convert(tomllib.loads(text), Overlay)
    except (tomllib.TOMLDecodeError, msgspec.ValidationError) as exc:
        raise ConfigError(f"{path}: {exc}; fix or delete the file") from exc


def apply(cfg: Config, overlay: Overlay) -> Config:
    """The config with the overlay applied, validated; ConfigError names the bad field."""
    raw = msgspec.to_builtins(cfg)
    removed = set(overlay.removed)
    markets: list[dict[str, Any]] = [m for m in raw["markets"] if m["id"] not in removed]
    known = {m["id"] for m in markets}
    for added in overlay.markets:
        if added.get("id") in known:
            same = next(m for m in markets if m["id"] == added.get("id"))
            if (same["venue"], same["venue_market"]) == (added.get("venue"), added.get("venue_market")):
                continue  # `cfg` already has the overlay applied: applying it again changes nothing
            raise ConfigError(f"overlay adds market {added.get('id')!r} which already exists")
        markets.append(dict(added))
        known.add(added.get("id"))
    for market_id, changes in overlay.overrides.items():
        target = next((m for m in markets if m["id"] == market_id), None)
        if target is None:
            continue  # an override of a removed market stays until the market returns
        for key, value in changes.items():
            if key in MARKET_KEYS:
                target[key] = value
            elif key in QUOTING_KEYS:
                target["quoting"] = {**target.get("quoting", {}), key: value}
            else:
                raise ConfigError(f"overlay override {key!r} for {market_id!r} is not a setting; "
                                  f"use one of {', '.join(MARKET_KEYS + QUOTING_KEYS)}")
    raw["markets"] = markets
    try:
        merged = msgspec.convert(raw, Config)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"overlay: {exc}") from exc
    return config_mod._validate(merged)


def save(run_dir: Path, overlay: Overlay) -> Path:
    """Write the overlay atomically (a reader never sees half a file)."""
    path = path_of(run_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(dumps(overlay))
    os.replace(tmp, path)
    return path


def effective(cfg: Config) -> Config:
    """`cfg` with the overlay of its run dir applied."""
    return apply(cfg, load(cfg.run_dir))


def load_effective(path: str | os.PathLike[str]) -> Config:
    """Load a config file and apply its run dir's overlay: what every process runs with."""
    return effective(config_mod.load(path))


# --- TOML output (the subset the overlay uses) ---------------------------------------------


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return msgspec.json.encode(v).decode()  # a JSON string is a valid TOML basic string
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + "}"
    raise ConfigError(f"cannot write {v!r} to the overlay")


def _key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() else _value(k)


def dumps(overlay: Overlay) -> str:
    lines = ["# Written by pmm start/stop/config; applied on top of the stack's config file.",
             f"removed = {_value(overlay.removed)}", ""]
    for m in overlay.markets:
        lines.append("[[markets]]")
        lines += [f"{_key(k)} = {_value(v)}" for k, v in m.items()]
        lines.append("")
    for market_id, changes in overlay.overrides.items():
        lines.append(f"[overrides.{_value(market_id)}]")
        lines += [f"{_key(k)} = {_value(v)}" for k, v in changes.items()]
        lines.append("")
    if overlay.stopped:
        lines.append("[stopped]")
        lines += [f"{_value(k)} = {_value(v)}" for k, v in overlay.stopped.items()]
        lines.append("")
    return "\n".join(lines)


# --- watching ------------------------------------------------------------------------------


async def watch(
    base: Config,
    on_change: Callable[[Config], object],
    stop: asyncio.Event,
    *,
    interval_s: float = 1.0,
) -> None:
    """Call `on_change(new_cfg)` whenever the overlay file changes to a valid one.

    Polls the file's mtime (no inotify dependency). An invalid overlay is logged and
    ignored, so the process keeps running on its last good config.
    """
    path = path_of(base.run_dir)

    def stamp() -> tuple[int, int] | None:
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        return st.st_mtime_ns, st.st_size

    last = stamp()
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval_s)
        except TimeoutError:
            pass
        now = stamp()
        if now == last:
            continue
        last = now
        try:
            cfg = effective(base)
        except ConfigError as exc:
            log.error("overlay ignored: %s", exc)
            continue
        log.info("overlay changed; reconfiguring")
        result = on_change(cfg)
        if asyncio.iscoroutine(result):
            await result
