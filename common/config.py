"""Typed, strict configuration: TOML decoded straight into frozen msgspec Structs.

Unknown keys are errors, every numeric field has its allowed range, and every
error names the path of the bad field, for example
``Expected `float` <= 0.5, got 0.7 - at `$.quoting.spread```.
Config is parsed once at process start and passed in; nothing deeper reads the
environment except the credential lookups named here (`*_env` fields).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from common.config_base import ConfigSection, Dollars, Fraction, PositiveMs
from common.config_exposure import (
    BusConfig, ControlConfig, CurveConfig, ExporterConfig, validate_exposure,
)
from common.config_quoting import (
    MarketConfig, QuoteTier, QuotingConfig, merge_quoting, resolution_ns,
)
from common.config_sim import (
    FeedName, ReferenceFeedConfig, ScannerConfig, ScannerWeights, SimConfig, SimFlowConfig,
    SimReferenceConfig,
)
from common.errors import ConfigError
from common.prices import PRICE_SCALE

__all__ = [
    "BusConfig", "Config", "ControlConfig", "CurveConfig", "Dollars", "ExecutorConfig",
    "ExporterConfig", "FeedName", "Fraction", "IngestConfig", "KalshiConfig", "MarketConfig",
    "PolymarketConfig", "PositiveMs", "QuoteTier", "QuoterConfig", "QuotingConfig",
    "ReferenceFeedConfig", "RiskConfig", "ScannerConfig", "ScannerWeights", "ScopedLimits",
    "SimConfig", "SimFlowConfig", "SimReferenceConfig", "StackConfig", "VenuesConfig",
    "control_targets", "endpoint", "load", "merge_quoting", "parse", "resolution_ns",
    "spread_in_range",
]


class StackConfig(ConfigSection, frozen=True):
    run_dir: str = ".pmm/run"
    quoters: Annotated[int, Meta(ge=1, le=64)] = 2
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class PolymarketConfig(ConfigSection, frozen=True):
    rest_url: str = "http://127.0.0.1:8711"
    ws_url: str = "ws://127.0.0.1:8711/ws"
    gamma_url: str = "http://127.0.0.1:8711/gamma"
    """Gamma market listing (`GET /markets`) for `pmm scan`; real: https://gamma-api.polymarket.com."""
    chain_id: int = 137
    private_key_env: str = "PMM_POLY_PRIVATE_KEY"
    signature_type: Annotated[int, Meta(ge=0, le=3)] = 0
    funder: str = ""
    heartbeat_interval_ms: PositiveMs = 5000
    max_batch: Annotated[int, Meta(ge=1, le=15)] = 15
    request_timeout_ms: PositiveMs = 5000
    # Per-signer trading token buckets (venues.md A7; 1 token per order or per cancelled id).
    # Defaults: 90% of the Standard tier (40/s burst 60, cancels 80/s burst 120), so the
    # executor stays inside the venue's bucket. Cancels never wait behind placements.
    order_tokens_per_s: Annotated[float, Meta(gt=0, le=1e6)] = 36.0
    order_burst: Annotated[float, Meta(ge=1, le=1e6)] = 54.0
    cancel_tokens_per_s: Annotated[float, Meta(gt=0, le=1e6)] = 72.0
    cancel_burst: Annotated[float, Meta(ge=1, le=1e6)] = 108.0


class KalshiConfig(ConfigSection, frozen=True):
    """Kalshi trade API v2. Rate limits are token buckets (2026 model); all of it is config."""

    rest_url: str = "http://127.0.0.1:8711/trade-api/v2"
    ws_url: str = "ws://127.0.0.1:8711/trade-api/ws/v2"
    key_id_env: str = "PMM_KALSHI_KEY_ID"
    private_key_file_env: str = "PMM_KALSHI_PRIVATE_KEY_FILE"
    request_timeout_ms: PositiveMs = 5000
    max_batch: Annotated[int, Meta(ge=1, le=20)] = 20
    write_tokens_per_s: Annotated[float, Meta(gt=0, le=1e6)] = 100.0
    write_burst_s: Annotated[float, Meta(gt=0, le=60)] = 1.0
    """Seconds of budget the write bucket holds: 1 on Basic, 2 on the higher tiers
    (kalshi-python-sync `BucketLimit`; GET /account/limits `write.bucket_capacity`)."""
    read_tokens_per_s: Annotated[float, Meta(gt=0, le=1e6)] = 200.0
    order_cost: Annotated[int, Meta(ge=0, le=1000)] = 10
    cancel_cost: Annotated[int, Meta(ge=0, le=1000)] = 2
    amend_cost: Annotated[int, Meta(ge=0, le=1000)] = 10
    """Write tokens per amend (Kalshi's default request cost; GET /account/endpoint_costs)."""
    read_cost: Annotated[int, Meta(ge=0, le=1000)] = 10
    order_group_contracts: Annotated[float, Meta(ge=0, le=1e6)] | None = None
    """Order-group fill-volume breaker, Kalshi's cancel-on-disconnect analogue (contracts per
    rolling 15 s), one group per market. Unset: on, each sized to its market's
    `max_inventory` (whole contracts, 1 to 1,000,000); a number: that limit for every
    market; 0: no order groups."""


class VenuesConfig(ConfigSection, frozen=True):
    polymarket: PolymarketConfig = PolymarketConfig()
    kalshi: KalshiConfig = KalshiConfig()


class IngestConfig(ConfigSection, frozen=True):
    depth: Annotated[int, Meta(ge=1, le=100)] = 10
    silence_timeout_ms: PositiveMs = 15_000
    ping_interval_ms: PositiveMs = 10_000
    heartbeat_interval_ms: PositiveMs = 500
    grid_refresh_ms: PositiveMs = 30_000
    """Kalshi: re-read every market's price grid over REST this often (also read on every
    (re)subscribe and on a rejected order; Kalshi pushes no message when a grid changes)."""
    reward_refresh_ms: Annotated[int, Meta(ge=0, le=86_400_000)] = 300_000
    """Read our markets' liquidity reward programmes (public REST) this often and publish
    them on the md bus (services/ingest/rewards.py); 0 = never."""
    reward_republish_ms: PositiveMs = 30_000
    """Publish the programmes known this often in between (a late subscriber learns them)."""


class QuoterConfig(ConfigSection, frozen=True):
    heartbeat_interval_ms: PositiveMs = 250


class ScopedLimits(ConfigSection, frozen=True):
    """The pre-trade limits (issue 6) that `[risk]` sets for every market and a
    `[risk.venues.V]` or `[risk.markets.M]` table overrides; declared once here, read as
    `RiskConfig` fields and resolved per market by services/risk/market_limits.py (`Limits`).
    0 disables a control."""

    max_position_contracts: Annotated[float, Meta(ge=0, le=1e9)] = 0.0
    """Net position cap per market in contracts (YES minus NO); 0 = dollars only."""
    max_order_size: Annotated[float, Meta(gt=0, le=1e7)] = 1000.0
    price_collar: Annotated[float, Meta(ge=0, le=1)] = 0.05
    """No bid above (ask below) fair value or the far side of the book by more than this."""
    min_spread: Annotated[float, Meta(ge=0, le=1)] = 0.0
    """Our own best ask minus best bid must be at least this ($); 0 = off."""
    max_orders: Annotated[int, Meta(ge=0, le=1000)] = 0
    """Levels per market, both sides together; deeper ones are dropped; 0 = off."""
    max_intents_per_s: Annotated[float, Meta(ge=0, le=1e6)] = 0.0
    """Intent rate per market (token bucket, `intent_burst` deep); 0 = off."""
    intent_burst: Annotated[int, Meta(ge=1, le=1_000_000)] = 10
    duplicate_window_ms: Annotated[int, Meta(ge=0, le=3_600_000)] = 0
    """An intent equal to the last one forwarded for its market within this window is dropped."""
    max_book_age_ms: Annotated[int, Meta(ge=0, le=3_600_000)] = 0
    """Refuse to quote on a book older than this (monotonic receipt time); 0 = off."""
    max_venue_loss_usd: Annotated[float, Meta(ge=0, le=1e9)] = 0.0
    """Realized plus marked loss of one venue's markets that halts them all; 0 = off."""


class RiskConfig(ScopedLimits, frozen=True):
    """[risk]: the global limits and timings, and the `ScopedLimits` every market starts from."""

    max_total_exposure_usd: Dollars = 10_000.0
    max_total_loss_usd: Dollars = 500.0
    heartbeat_interval_ms: PositiveMs = 200
    quoter_timeout_ms: PositiveMs = 3000
    command_ttl_ms: PositiveMs = 2000
    journal: str = ""
    max_event_position_usd: Annotated[float, Meta(ge=0, le=1e9)] = 0.0
    """Money at risk in the net position of one event across venues (MarketConfig.event)."""
    daily_reset_utc: Annotated[str, Meta(pattern=r"^$|^([01][0-9]|2[0-3]):[0-5][0-9]$")] = ""
    """"HH:MM" UTC: loss limits count from here each day and loss halts are released."""
    position_tolerance_contracts: Annotated[float, Meta(ge=0, le=1e9)] = 0.0
    """A venue position within this of the journal's is not a mismatch (services/risk/venue_check.py)."""
    venues: dict[str, dict[str, Any]] = {}
    """Per-venue overrides of the `ScopedLimits` fields and of the markets' max_position_usd,
    max_loss_usd and min_size ([risk.venues.kalshi] max_order_size = 50)."""
    markets: dict[str, dict[str, Any]] = {}
    """Per-market overrides ([risk.markets."fed-cut-dec"] price_collar = 0.02)."""


class ExecutorConfig(ConfigSection, frozen=True):
    risk_timeout_ms: PositiveMs = 1000
    reconcile_interval_ms: PositiveMs = 5000
    report_interval_ms: PositiveMs = 500
    workers: Annotated[int, Meta(ge=1, le=32)] = 4
    fill_replay_margin_ms: Annotated[int, Meta(ge=0, le=86_400_000)] = 30_000
    """Replays to risk start this long before risk was last heard (services/executor/replay.py)."""
    max_order_contracts: Annotated[float, Meta(gt=0, le=1_000_000)] = 10_000.0
    """Hard cap on one order's size, a second line independent of risk (SEC 15c3-5 style):
    an approved ladder with a bigger level is refused whole (services/executor/caps.py)."""
    max_order_notional_usd: Annotated[float, Meta(gt=0, le=10_000_000)] = 5_000.0
    """Hard cap on one order's cost (price x size of the token bought)."""
    position_check_interval_ms: Annotated[int, Meta(ge=0, le=86_400_000)] = 60_000
    """How often the venue's positions go to risk to be checked against its journal (and
    at startup and after every replay); 0 = only then. Each check is read this long after
    the previous one was sent, so the read and `position_quiet_ms` add to the period."""
    position_quiet_ms: Annotated[int, Meta(ge=0, le=60_000)] = 500
    """Each snapshot of the venue's positions goes to risk this long after the read, with
    the fills that arrived meanwhile added in; a market none of whose fills arrived from
    this long before the read until then (and with no Polymarket trade short of CONFIRMED)
    is *quiet*: its difference from the journal is exact (services/executor/
    fill_activity.py). Keep it above the time a fill takes from the venue's match to the
    executor. 0 = snapshots go at once and none is quiet."""
    price_collar: Annotated[float, Meta(gt=0, le=1)] = 0.25
    """A bid above the last book mid plus this (or an ask below mid minus this) is refused;
    passive levels further away pass. With no book, only the size and notional caps apply."""
    collateral_check_interval_ms: Annotated[int, Meta(ge=0, le=86_400_000)] = 30_000
    """How often the account's collateral is read from the venue (also once at start; 0 =
    only then). Between reads our own fills are counted in (services/executor/collateral.py)."""
    reward_check_interval_ms: Annotated[int, Meta(ge=0, le=3_600_000)] = 15_000
    """How often the executor asks the venue which of our orders score for its liquidity
    rewards and recomputes our share (services/executor/rewards.py); 0 = never."""
    collateral_reserve_usd: Annotated[float, Meta(ge=0, le=1_000_000_000)] = 0.0
    """Collateral the executor never spends on orders (fees, other uses of the account):
    new orders are trimmed to what is held minus what our orders lock minus this."""


class Config(ConfigSection, frozen=True):
    stack: StackConfig = StackConfig()
    bus: BusConfig = BusConfig()
    venues: VenuesConfig = VenuesConfig()
    quoting: QuotingConfig = QuotingConfig()
    markets: list[MarketConfig] = []
    ingest: IngestConfig = IngestConfig()
    quoter: QuoterConfig = QuoterConfig()
    risk: RiskConfig = RiskConfig()
    executor: ExecutorConfig = ExecutorConfig()
    control: ControlConfig = ControlConfig()
    exporter: ExporterConfig = ExporterConfig()
    sim: SimConfig = SimConfig()
    references: list[ReferenceFeedConfig] = []
    scanner: ScannerConfig = ScannerConfig()

    def market(self, market_id: str) -> MarketConfig:
        for m in self.markets:
            if m.id == market_id:
                return m
        known = ", ".join(m.id for m in self.markets) or "none"
        raise ConfigError(f"unknown market {market_id!r}; configured markets: {known}")

    def quoting_for(self, market: MarketConfig) -> QuotingConfig:
        """The market's quoting parameters: its own overrides on top of [quoting]."""
        merged = merge_quoting(self.quoting, market.quoting)
        try:
            return msgspec.convert(merged, QuotingConfig)
        except msgspec.ValidationError as exc:
            raise ConfigError(f"markets[{market.id}].quoting: {exc}") from exc

    @property
    def run_dir(self) -> Path:
        return Path(self.stack.run_dir).resolve()

    def venues_in_use(self) -> list[str]:
        return sorted({m.venue for m in self.markets})


def _validate(cfg: Config) -> Config:
    seen: set[str] = set()
    for i, m in enumerate(cfg.markets):
        if m.id in seen:
            raise ConfigError(f"duplicate market id {m.id!r} - at `$.markets[{i}].id`")
        seen.add(m.id)
        tick = m.tick * PRICE_SCALE
        if abs(tick - round(tick)) > 1e-9:
            raise ConfigError(f"tick {m.tick} is finer than 0.0001 - at `$.markets[{i}].tick`")
        if m.venue == "polymarket" and not (m.yes_token and m.no_token):
            raise ConfigError(
                f"a polymarket market needs yes_token and no_token - at `$.markets[{i}]`"
            )
        _check_spread(cfg.quoting_for(m), f"$.markets[{i}].quoting")
    _validate_references(cfg)
    validate_exposure(cfg.bus, cfg.control, cfg.exporter)
    if not any(msgspec.structs.astuple(cfg.scanner.weights)):
        raise ConfigError("every scanner weight is 0; set at least one > 0 (each in [0, 100]) "
                          "- at `$.scanner.weights`")
    _check_spread(cfg.quoting, "$.quoting.spread")
    return cfg


def spread_in_range(q: QuotingConfig) -> bool:
    """The one rule tying the half-spread fields: min_spread <= spread <= max_spread."""
    return q.min_spread <= q.spread <= q.max_spread


def _check_spread(q: QuotingConfig, at: str) -> None:
    if not spread_in_range(q):
        raise ConfigError(
            f"spread {q.spread} must lie in [min_spread {q.min_spread}, max_spread "
            f"{q.max_spread}] - at `{at}`"
        )


def _validate_references(cfg: Config) -> None:
    """Feed names are unique, and a market's `reference` names a configured feed."""
    feeds: set[str] = set()
    for i, ref in enumerate(cfg.references):
        if ref.feed in feeds:
            raise ConfigError(f"duplicate reference feed {ref.feed!r} - at `$.references[{i}].feed`")
        feeds.add(ref.feed)
    for i, m in enumerate(cfg.markets):
        if m.reference and m.reference not in feeds:
            known = ", ".join(sorted(feeds)) or "none"
            raise ConfigError(
                f"reference {m.reference!r} is not a [[references]] feed (configured: {known}) "
                f"- at `$.markets[{i}].reference`"
            )
    sim_feeds = [r.feed for r in cfg.sim.references]
    if len(sim_feeds) != len(set(sim_feeds)):
        raise ConfigError("duplicate feed in [[sim.references]] - at `$.sim.references`")


def parse(text: str, *, source: str = "<config>") -> Config:
    """Parse TOML text into a validated Config, or raise ConfigError naming the field."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    try:
        cfg = msgspec.convert(raw, Config)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{source}: {exc}") from exc
    try:
        return _validate(cfg)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from exc


def load(path: str | os.PathLike[str]) -> Config:
    """Read and validate a config file. Relative paths in it (`[stack] run_dir`,
    `[risk] journal`, `[bus.curve] keys_dir`) are resolved against the file's own
    directory, so the CLI, wherever it runs, and the services, which run in the checkout,
    agree on them."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read config {p}: {exc.strerror}; pass --config FILE") from exc
    return _rebase(parse(text, source=str(p)), p.resolve().parent)


def _rebase(cfg: Config, base: Path) -> Config:
    """`cfg` with its relative paths made absolute against `base`."""
    def absolute(value: str) -> str:
        return value if not value or Path(value).is_absolute() else str((base / value).resolve())

    stack = msgspec.structs.replace(cfg.stack, run_dir=absolute(cfg.stack.run_dir))
    curve = msgspec.structs.replace(cfg.bus.curve, keys_dir=absolute(cfg.bus.curve.keys_dir))
    risk = msgspec.structs.replace(cfg.risk, journal=absolute(cfg.risk.journal))
    return msgspec.structs.replace(cfg, stack=stack, risk=risk,
                                   bus=msgspec.structs.replace(cfg.bus, curve=curve))


def endpoint(cfg: Config, kind: str, name: str = "") -> str:
    """Resolve a bus endpoint: the configured one, or ipc://<run_dir>/<kind>[-<name>].sock."""
    b = cfg.bus
    explicit = {
        "md": b.md.get(name, ""),
        "intents": b.intents,
        "state": b.state,
        "events": b.events.get(name, ""),
        "commands": b.commands.get(name, ""),
        "control": b.control.get(name, ""),
    }.get(kind)
    if explicit is None:
        raise ConfigError(f"unknown bus endpoint kind {kind!r}")
    if explicit:
        return explicit
    suffix = f"-{name}" if name else ""
    return f"ipc://{cfg.run_dir}/{kind}{suffix}.sock"


def control_targets(cfg: Config) -> dict[str, str]:
    """Every receiver of control messages (risk and each executor), by name."""
    targets = {"risk": endpoint(cfg, "control", "risk")}
    for venue in cfg.venues_in_use():
        targets[f"executor-{venue}"] = endpoint(cfg, "control", f"executor-{venue}")
    return targets
