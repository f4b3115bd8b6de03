"""Glue for one backtest: where the events come from (a synthetic scenario or a recording),
which quoting parameters apply, and the summary. Used by `pmm backtest`, sweeps and reports.

A scenario written with `write_scenario` is an ordinary recording (common/recording.py)
plus `scenario.json` (name, seed, resolution time and the true price at every tick), so
`pmm replay` can play it through the live stack and `pmm backtest --data DIR` marks its
markouts to the truth like the scenario run does.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import msgspec

from common import recording, topics
from common.config import Config, QuotingConfig, merge_quoting
from common.errors import ConfigError
from common.messages import BookSnapshot, MarketData, ReferencePrice
from research import scenarios
from research.backtest import (
    Backtester,
    BacktestParams,
    Event,
    MarketSetup,
    RunResult,
)
from research.metrics import per_market, summarize
from research.sniper import SniperSpec
from strategy.model import MarketInfo

__all__ = ["BASELINE", "SCENARIO_FILE", "data_events", "first_book_tick", "quoting_for", "quoting_with",
    "run_data", "run_scenario", "summary", "write_scenario"]

SCENARIO_FILE = "scenario.json"
BASELINE: Mapping[str, Any] = {"model": "symmetric", "spread": 0.02}
"""Quoting overrides of the symmetric baseline every comparison uses (README "Does it make
money?", research/scorecard.py, research/facts.py): one level each side 0.02 from the mid."""


def quoting_with(base: QuotingConfig, overrides: Mapping[str, Any]) -> QuotingConfig:
    """`base` with fields replaced, validated like the config file (errors name the field)."""
    merged = merge_quoting(base, dict(overrides))
    try:
        return msgspec.convert(merged, QuotingConfig)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"quoting: {exc}") from exc


def quoting_for(cfg: Config | None, market: str, overrides: Mapping[str, Any]) -> QuotingConfig:
    """The market's parameters from a stack config (its own overrides on [quoting]), or the
    defaults, then `overrides` on top."""
    base = QuotingConfig()
    if cfg is not None:
        known = {m.id: m for m in cfg.markets}
        base = cfg.quoting_for(known[market]) if market in known else cfg.quoting
    return quoting_with(base, overrides)


def run_scenario(
    name: str, seed: int, *, cfg: Config | None = None, overrides: Mapping[str, Any] = {},
    params: BacktestParams = BacktestParams(), scenario_overrides: Mapping[str, float] = {},
    closed_loop: bool = True,
) -> RunResult:
    """Backtest a named synthetic scenario: closed loop (our quotes are in the book the
    market trades against, research/flow.py), or open like a recording of it."""
    spec = scenarios.spec(name, **scenario_overrides)
    setup = MarketSetup(
        market=spec.market, quoting=quoting_for(cfg, spec.market, overrides),
        info=MarketInfo(resolves_at_ns=scenarios.resolves_at_ns(spec),
                        reference=scenarios.reference_of(spec)), min_size=spec.min_size,
        sniper=scenarios.sniper_of(spec), sniper_seed=f"{spec.name}:{seed}:sniper",
        reward=scenarios.reward_of(spec))
    bt = Backtester([setup], params)
    own = bt.own(spec.market) if closed_loop else None
    return bt.run((t.ts_ns, t.msg, t.true_price)
                  for t in scenarios.generate(spec, seed, own))


def write_scenario(name: str, seed: int, directory: str | Path,
                   scenario_overrides: Mapping[str, float] = {}) -> Path:
    """Write a scenario as a recording (plus its truth) that replay and --data can use."""
    spec = scenarios.spec(name, **scenario_overrides)
    d = Path(directory)
    writer = recording.RecordWriter(d, chunk_s=60)
    enc = msgspec.msgpack.Encoder()
    truth: list[tuple[int, float]] = []
    topic = topics.md(spec.venue, spec.market)
    for t in scenarios.generate(spec, seed):
        on = topics.reference(t.msg.feed) if isinstance(t.msg, ReferencePrice) else topic
        writer.append(t.ts_ns, on, enc.encode(t.msg))
        truth.append((t.ts_ns, t.true_price))
    writer.close()
    sniper = scenarios.sniper_of(spec)
    (d / SCENARIO_FILE).write_text(json.dumps({
        "name": name, "seed": seed, "market": spec.market,
        "resolves_at_ns": scenarios.resolves_at_ns(spec),
        "reference": scenarios.reference_of(spec),
        "sniper": None if sniper is None else dataclasses.asdict(sniper),
        "sniper_seed": f"{spec.name}:{seed}:sniper", "truth": truth}))
    return d


def data_events(directory: str | Path, markets: set[str] | None = None) -> Iterator[Event]:
    """A recording's market data as backtest events; malformed payloads are skipped."""
    d = Path(directory)
    truth: dict[int, float] = {}
    meta = d / SCENARIO_FILE
    if meta.exists():
        truth = {int(ts): float(px) for ts, px in json.loads(meta.read_text())["truth"]}
    dec = msgspec.msgpack.Decoder(MarketData)
    for rec in recording.read(d):
        try:
            msg = dec.decode(rec.payload)
        except (msgspec.DecodeError, msgspec.ValidationError):
            continue
        if (markets is not None and getattr(msg, "market", None) not in markets
                and not isinstance(msg, ReferencePrice)):
            continue
        yield rec.ts_ns, msg, truth.get(rec.ts_ns)


def run_data(
    directory: str | Path, *, cfg: Config | None = None, overrides: Mapping[str, Any] = {},
    params: BacktestParams = BacktestParams(),
) -> RunResult:
    """Backtest a recording: every market in it (or only the config's, when it has some)."""
    d = Path(directory)
    keys = recording.markets_of(d)
    if not keys:
        raise ConfigError(f"{d} holds no market data; record some with `pmm record`")
    ids = sorted({k.split(".", 1)[1] for k in keys})
    configured = {m.id: m for m in cfg.markets} if cfg is not None else {}
    if configured:
        ids = [m for m in ids if m in configured] or ids
    resolves: int | None = None
    reference = ""
    sniper: SniperSpec | None = None
    sniper_seed = ""
    meta = d / SCENARIO_FILE
    if meta.exists():  # a written scenario: its snipers play against our quotes again
        scenario = json.loads(meta.read_text())
        resolves = scenario.get("resolves_at_ns")
        reference = scenario.get("reference", "")
        if scenario.get("sniper"):
            sniper, sniper_seed = SniperSpec(**scenario["sniper"]), scenario["sniper_seed"]
    setups = []
    for m in ids:
        known = configured.get(m)
        info = MarketInfo(resolves_at_ns=known.resolves_at_ns if known else resolves,
                          reference=known.reference if known else reference,
                          strike=known.strike if known else 0.0)
        min_size = configured[m].min_size_centi if m in configured else 0
        setups.append(MarketSetup(market=m, quoting=quoting_for(cfg, m, overrides), info=info,
                                  min_size=min_size, sniper=sniper, sniper_seed=sniper_seed))
    return Backtester(setups, params).run(data_events(d, set(ids)))


def summary(result: RunResult, *, markets: bool = False) -> dict[str, Any]:
    """`summarize` plus, optionally, the per-market fills and P&L."""
    out = summarize(result)
    if markets:
        out["markets"] = per_market(result)
    return out


def first_book_tick(result: RunResult) -> int:
    for r in result.markets.values():
        if isinstance(r.book, BookSnapshot):
            return r.book.tick
    return 100
