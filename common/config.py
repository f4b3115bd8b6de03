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
from msgspec import Meta, Struct

from common.errors import ConfigError
from common.prices import PRICE_SCALE, SIZE_SCALE

PositiveMs = Annotated[int, Meta(gt=0, le=3_600_000)]
Dollars = Annotated[float, Meta(gt=0, le=1e9)]
Fraction = Annotated[float, Meta(ge=0, le=1)]


class _Cfg(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class QuotingConfig(_Cfg):
    """Strategy parameters; defaults follow the operator's habits (shared/DESIGN.md)."""

    spread: Annotated[float, Meta(gt=0, le=0.5)] = 0.02
    min_spread: Annotated[float, Meta(gt=0, le=0.5)] = 0.01
    max_spread: Annotated[float, Meta(gt=0, le=0.5)] = 0.10
    size: Annotated[float, Meta(gt=0, le=1e7)] = 50.0
    max_inventory: Annotated[float, Meta(gt=0, le=1e8)] = 500.0
    skew: Annotated[float, Meta(ge=0, le=10)] = 0.5
    vol_mult: Annotated[float, Meta(ge=0, le=1000)] = 10.0
    alpha: Annotated[float, Meta(gt=0, le=1)] = 0.3
    fv_method: Literal["mid_price", "weighted_mid", "vwap", "ema", "microprice"] = "weighted_mid"
    interval_ms: PositiveMs = 5000
    threshold: Annotated[float, Meta(ge=0, le=0.5)] = 0.01
    max_orders: Annotated[int, Meta(ge=1, le=20)] = 1
    level_spacing: Annotated[float, Meta(ge=0, le=0.5)] = 0.0
    level_decay: Annotated[float, Meta(gt=0, le=1)] = 0.5
    max_quote_age_ms: PositiveMs = 30_000


class MarketConfig(_Cfg):
    """One binary event on one venue."""

    id: Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
    venue: Literal["polymarket", "kalshi"]
    venue_market: Annotated[str, Meta(min_length=1)]
    yes_token: str = ""
    no_token: str = ""
    tick: Annotated[float, Meta(ge=0.0001, le=0.1)] = 0.01
    min_size: Annotated[float, Meta(ge=0, le=1e6)] = 5.0
    neg_risk: bool = False
    name: str = ""
    max_position_usd: Dollars = 1000.0
    max_loss_usd: Dollars = 100.0
    sim_start_probability: Annotated[float, Meta(gt=0, lt=1)] = 0.5
    quoting: dict[str, Any] = {}

    @property
    def tick_pips(self) -> int:
        return round(self.tick * PRICE_SCALE)

    @property
    def min_size_centi(self) -> int:
        return round(self.min_size * SIZE_SCALE)


class StackConfig(_Cfg):
    run_dir: str = ".pmm/run"
    quoters: Annotated[int, Meta(ge=1, le=64)] = 2
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class BusConfig(_Cfg):
    """Endpoints. Empty means an ipc:// socket in the run dir; set tcp:// ones to span hosts."""

    md: dict[str, str] = {}
    intents: str = ""
    state: str = ""
    events: dict[str, str] = {}
    commands: dict[str, str] = {}
    control: dict[str, str] = {}
    send_hwm: Annotated[int, Meta(ge=1, le=1_000_000)] = 10_000
    recv_hwm: Annotated[int, Meta(ge=1, le=1_000_000)] = 10_000
    send_timeout_ms: PositiveMs = 100


class PolymarketConfig(_Cfg):
    rest_url: str = "http://127.0.0.1:8711"
    ws_url: str = "ws://127.0.0.1:8711/ws"
    chain_id: int = 137
    private_key_env: str = "PMM_POLY_PRIVATE_KEY"
    signature_type: Annotated[int, Meta(ge=0, le=3)] = 0
    funder: str = ""
    heartbeat_interval_ms: PositiveMs = 5000
    max_batch: Annotated[int, Meta(ge=1, le=15)] = 15
    request_timeout_ms: PositiveMs = 5000


class VenuesConfig(_Cfg):
    polymarket: PolymarketConfig = PolymarketConfig()


class IngestConfig(_Cfg):
    depth: Annotated[int, Meta(ge=1, le=100)] = 10
    silence_timeout_ms: PositiveMs = 15_000
    ping_interval_ms: PositiveMs = 10_000
    heartbeat_interval_ms: PositiveMs = 500


class QuoterConfig(_Cfg):
    heartbeat_interval_ms: PositiveMs = 250


class RiskConfig(_Cfg):
    max_total_exposure_usd: Dollars = 10_000.0
    max_total_loss_usd: Dollars = 500.0
    max_order_size: Annotated[float, Meta(gt=0, le=1e7)] = 1000.0
    heartbeat_interval_ms: PositiveMs = 200
    quoter_timeout_ms: PositiveMs = 3000
    command_ttl_ms: PositiveMs = 2000
    journal: str = ""


class ExecutorConfig(_Cfg):
    risk_timeout_ms: PositiveMs = 1000
    reconcile_interval_ms: PositiveMs = 5000
    report_interval_ms: PositiveMs = 500
    workers: Annotated[int, Meta(ge=1, le=32)] = 4


class ControlConfig(_Cfg):
    http_host: str = "127.0.0.1"
    http_port: Annotated[int, Meta(ge=1, le=65535)] = 8780
    secret_env: str = "PMM_CONTROL_SECRET"
    ack_timeout_ms: PositiveMs = 300
    retries: Annotated[int, Meta(ge=1, le=100)] = 10


class ExporterConfig(_Cfg):
    host: str = "127.0.0.1"
    port: Annotated[int, Meta(ge=1, le=65535)] = 9464


class SimFlowConfig(_Cfg):
    """Synthetic flow of the built-in venue simulator."""

    step_ms: Annotated[int, Meta(ge=1, le=60_000)] = 100
    volatility: Annotated[float, Meta(ge=0, le=1)] = 0.02
    jump_probability: Fraction = 0.002
    jump_size: Fraction = 0.15
    noise_rate_hz: Annotated[float, Meta(ge=0, le=10_000)] = 2.0
    noise_size: Annotated[float, Meta(gt=0, le=1e6)] = 20.0
    informed_rate_hz: Annotated[float, Meta(ge=0, le=10_000)] = 0.5
    informed_size: Annotated[float, Meta(gt=0, le=1e6)] = 30.0
    informed_edge: Fraction = 0.02
    maker_levels: Annotated[int, Meta(ge=0, le=50)] = 5
    maker_size: Annotated[float, Meta(gt=0, le=1e6)] = 100.0
    maker_half_spread: Fraction = 0.04


class SimConfig(_Cfg):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: Annotated[int, Meta(ge=1, le=65535)] = 8711
    seed: int = 1
    start_balance_usd: Dollars = 1_000_000.0
    verify_signatures: bool = True
    heartbeat_timeout_ms: PositiveMs = 10_000
    trade_confirm_ms: Annotated[int, Meta(ge=0, le=60_000)] = 200
    flow: SimFlowConfig = SimFlowConfig()


class Config(_Cfg):
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

    def market(self, market_id: str) -> MarketConfig:
        for m in self.markets:
            if m.id == market_id:
                return m
        known = ", ".join(m.id for m in self.markets) or "none"
        raise ConfigError(f"unknown market {market_id!r}; configured markets: {known}")

    def quoting_for(self, market: MarketConfig) -> QuotingConfig:
        """The market's quoting parameters: its own overrides on top of [quoting]."""
        merged = msgspec.structs.asdict(self.quoting) | market.quoting
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
        q = cfg.quoting_for(m)
        if not q.min_spread <= q.spread <= q.max_spread:
            raise ConfigError(
                f"spread {q.spread} must lie in [min_spread {q.min_spread}, max_spread "
                f"{q.max_spread}] - at `$.markets[{i}].quoting`"
            )
    q = cfg.quoting
    if not q.min_spread <= q.spread <= q.max_spread:
        raise ConfigError(
            f"spread {q.spread} must lie in [min_spread {q.min_spread}, max_spread "
            f"{q.max_spread}] - at `$.quoting.spread`"
        )
    return cfg


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
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read config {p}: {exc.strerror}; pass --config FILE") from exc
    return parse(text, source=str(p))


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
