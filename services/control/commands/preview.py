"""pmm preview: the ladder the quoting engine would send for a book and an inventory.

Offline: no stack needed. The book file is `{"tick": 0.01, "bids": [[price, size], ...],
"asks": [[price, size], ...]}` in YES terms (prices in dollars, sizes in contracts);
`--config` is a preset (deploy/presets/*.toml) or a full stack config.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common import config as config_mod
from common.config import Config, MarketConfig, QuotingConfig, resolution_ns
from common.errors import ConfigError
from common.messages import Level
from common.prices import PRICE_SCALE, SIZE_SCALE, price_to_str, size_to_str
from services.control.commands import add, config_path

__all__ = ["BookFileError", "MAX_POSITION", "as_json", "as_table", "cmd_preview", "load_book",
    "preview", "register"]

if TYPE_CHECKING:  # the engine is imported when a preview runs, not on every `pmm` start
    from strategy.model import Book, Decision, MarketInfo

MAX_POSITION = 1_000_000
"""|--position| limit in contracts: far beyond any max_inventory, catches typos."""


class BookFileError(ConfigError):
    """The --book file is unreadable or malformed; the message names the field."""


def _decimal(value: Any, where: str, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BookFileError(f"{where}: {what} must be a number, got {value!r}")
    try:
        dec = Decimal(str(value))
    except InvalidOperation as exc:
        raise BookFileError(f"{where}: {what} must be a number, got {value!r}") from exc
    if not dec.is_finite():
        raise BookFileError(f"{where}: {what} must be finite, got {value!r}")
    return dec


def _levels(raw: Any, side: str, tick: int) -> tuple[Level, ...]:
    if not isinstance(raw, list):
        raise BookFileError(f"`{side}` must be a list of [price, size] pairs")
    out: list[Level] = []
    for i, pair in enumerate(raw):
        where = f"`{side}[{i}]`"
        if not isinstance(pair, list) or len(pair) != 2:
            raise BookFileError(f"{where} must be a [price, size] pair, got {pair!r}")
        price = _decimal(pair[0], where, "price") * PRICE_SCALE
        size = _decimal(pair[1], where, "size") * SIZE_SCALE
        if price != price.to_integral_value() or int(price) % tick:
            raise BookFileError(f"{where}: price {pair[0]} is not on the book's tick grid")
        if not 0 < price < PRICE_SCALE:
            raise BookFileError(f"{where}: price {pair[0]} must lie strictly inside (0, 1)")
        if size <= 0:
            raise BookFileError(f"{where}: size {pair[1]} must be positive (contracts)")
        out.append(Level(price=int(price), size=int(size)))
    return tuple(out)


def load_book(path: Path) -> Book:
    """Read and validate a preview book file, or raise BookFileError naming the field."""
    from strategy.model import Book
    try:
        doc = json.loads(path.read_text())
    except OSError as exc:
        raise BookFileError(f"cannot read book {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise BookFileError(f"book {path} is not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise BookFileError('the book must be an object {"tick", "bids", "asks"}')
    unknown = sorted(set(doc) - {"tick", "bids", "asks"})
    if unknown:
        raise BookFileError(f"unknown book field(s) {unknown}; expected tick, bids, asks")
    for key in ("tick", "bids", "asks"):
        if key not in doc:
            raise BookFileError(f"the book has no `{key}` field")
    tick_dec = _decimal(doc["tick"], "`tick`", "tick") * PRICE_SCALE
    if tick_dec != tick_dec.to_integral_value() or not 1 <= tick_dec <= 1000:
        raise BookFileError(
            f"`tick` must be a multiple of 0.0001 in [0.0001, 0.1], got {doc['tick']}"
        )
    tick = int(tick_dec)
    bids = tuple(sorted(_levels(doc["bids"], "bids", tick), key=lambda lv: -lv.price))
    asks = tuple(sorted(_levels(doc["asks"], "asks", tick), key=lambda lv: lv.price))
    if not bids or not asks:
        raise BookFileError("the book needs at least one bid and one ask to have a fair value")
    if bids[0].price >= asks[0].price:
        raise BookFileError(
            f"the book is crossed: best bid {price_to_str(bids[0].price)} >= best ask "
            f"{price_to_str(asks[0].price)}"
        )
    return Book(tick=tick, bids=bids, asks=asks)


def _parse_config(args: argparse.Namespace) -> tuple[QuotingConfig, MarketInfo]:
    from strategy.model import MarketInfo
    cfg: Config = config_mod.load(config_path(args.config))
    if args.market:
        market: MarketConfig = cfg.market(args.market)
        return cfg.quoting_for(market), MarketInfo(
            resolves_at_ns=market.resolves_at_ns, reference=market.reference,
            strike=market.strike)
    resolves = resolution_ns(args.resolves_at) if args.resolves_at else None
    if args.resolves_at and resolves is None:
        raise ConfigError(
            f"--resolves-at {args.resolves_at!r} is neither ISO-8601 nor unix seconds"
        )
    return cfg.quoting, MarketInfo(resolves_at_ns=resolves)


def preview(
    book: Book, params: QuotingConfig, market: MarketInfo, position: float, now_ns: int,
    reference: float | None = None,
) -> Decision:
    """The engine's decision on a fresh state for this book and netted YES position (and
    a reference price read at `now_ns`, for threshold markets)."""
    from strategy.engine import step
    from strategy.model import EngineInputs, EngineState

    inputs = EngineInputs(book=book, net_centi=round(position * SIZE_SCALE),
                          reference=reference, reference_ts_ns=now_ns if reference else 0)
    _, decision = step(EngineState(), inputs, params, market, now_ns)
    return decision


def as_json(decision: Decision) -> dict[str, Any]:
    """The `pmm preview --json` document (shared/DESIGN.md): decimal numbers, best first."""

    def side(levels: tuple[Level, ...]) -> list[dict[str, float]]:
        return [
            {"price": float(price_to_str(lv.price)), "size": float(size_to_str(lv.size))}
            for lv in levels
        ]

    doc: dict[str, Any] = {
        "fair_value": float(price_to_str(decision.fair_value)),
        "bids": side(decision.bids),
        "asks": side(decision.asks),
    }
    if decision.signals:  # signals on: the action and every reading (keys added, none changed)
        doc["action"] = decision.action
        doc["signals"] = [
            {"name": r.name, "value": r.value, "active": r.active, "note": r.note}
            for r in decision.signals
        ]
    return doc


def as_table(decision: Decision) -> str:
    """A human-readable ladder: asks worst to best, then bids best to worst."""
    lines = [
        f"fair value {price_to_str(decision.fair_value)}   model {decision.model}   "
        f"half-spread {decision.half_spread / PRICE_SCALE:.4f}   regime {decision.regime}",
        f"{'side':6s}{'level':>6s}{'price':>10s}{'size':>12s}",
    ]
    for i, lv in reversed(list(enumerate(decision.asks, 1))):
        lines.append(f"{'ask':6s}{i:>6d}{price_to_str(lv.price):>10s}{size_to_str(lv.size):>12s}")
    for i, lv in enumerate(decision.bids, 1):
        lines.append(f"{'bid':6s}{i:>6d}{price_to_str(lv.price):>10s}{size_to_str(lv.size):>12s}")
    if not decision.bids and not decision.asks:
        lines.append("(no quotes: the engine would pull every order)")
    if decision.signals:
        lines.append(f"action {decision.action}   widen bid x{decision.widen_bid:.2f} ask "
                     f"x{decision.widen_ask:.2f}   fair-value nudge {decision.fv_nudge:+.0f} pips")
        for r in decision.signals:
            mark = "*" if r.active else " "
            lines.append(f"  {mark} {r.name:15s}{r.value:>12.4f}  {r.note}")
    for name, levels in (("exit-bid", decision.ladder.exit_bids),
                         ("exit-ask", decision.ladder.exit_asks)):
        for lv in levels:
            price, size = price_to_str(lv.price), size_to_str(lv.size)
            lines.append(f"{name:9s}{'':>3s}{price:>10s}{size:>12s}")
    return "\n".join(lines)


def cmd_preview(args: argparse.Namespace) -> int:
    if not math.isfinite(args.position) or abs(args.position) > MAX_POSITION:
        raise ConfigError(
            f"--position must lie in [-{MAX_POSITION}, {MAX_POSITION}] contracts (netted YES; "
            f"negative is net NO), got {args.position}"
        )
    params, market = _parse_config(args)
    book = load_book(Path(args.book))
    now_ns = resolution_ns(args.at) if args.at else time.time_ns()
    if now_ns is None:
        raise ConfigError(f"--at {args.at!r} is neither ISO-8601 nor unix seconds")
    if args.reference is not None and not (math.isfinite(args.reference) and args.reference > 0):
        raise ConfigError(f"--reference must be a positive price, got {args.reference}")
    decision = preview(book, params, market, args.position, now_ns, args.reference)
    print(json.dumps(as_json(decision)) if args.json else as_table(decision))
    return 0


def register(sub: Any) -> None:
    p = add(
        sub, "preview", "Show the ladder the quoting engine would send for a book and inventory.",
        "pmm preview --config deploy/presets/conservative.toml --book book.json\n"
        "pmm preview --config deploy/demo.toml --market fed-cut-dec --book book.json "
        "--position 25 --json\n"
        'book.json: {"tick": 0.01, "bids": [[0.49, 100]], "asks": [[0.51, 100]]}',
        cmd_preview,
    )
    p.add_argument("--config", required=True, help="a preset or a full stack config (TOML)")
    p.add_argument("--book", required=True, help="book JSON: tick, bids and asks in YES terms")
    p.add_argument("--position", type=float, default=0.0,
                   help="netted YES position in contracts (negative: net NO); default 0")
    p.add_argument("--market", default="", help="quote as this configured market (its overrides)")
    p.add_argument("--resolves-at", default="", help="resolution time (ISO-8601) without --market")
    p.add_argument("--at", default="", help="pretend it is this time (ISO-8601); default now")
    p.add_argument("--json", action="store_true", help="print the ladder as JSON for scripts")
    p.add_argument("--reference", type=float, default=None,
                   help="reference price now (threshold fair value, lead-lag; issue 5)")
