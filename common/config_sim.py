"""Simulator, reference feed and scanner configuration (re-exported by common.config)."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta

from common.config_base import ConfigSection, Dollars, Fraction, PositiveMs
from common.market_params import FlowParams

__all__ = ["FeedName", "KalshiTier", "PolymarketTier", "ReferenceFeedConfig", "ScannerConfig",
    "ScannerWeights", "SimConfig", "SimFlowConfig", "SimRateLimitsConfig", "SimRewardsConfig",
    "SimReferenceConfig"]


class SimFlowConfig(FlowParams, frozen=True, kw_only=True):
    """Synthetic flow of the built-in venue simulator: the research market's model and
    parameters (common/market_model.py, common/market_params.py: the fields and what they
    mean) with the simulator's own defaults, a busier market with wider makers than the
    research scenarios, whose makers fight back the same way (they overbid our quotes,
    pull after informed hits and refill emptied levels after `refill_s`)."""

    volatility: Annotated[float, Meta(ge=0, le=1)] = 0.02
    jump_probability: Fraction = 0.002
    """Chance of a jump per step (the research scenarios give a rate per second)."""
    maker_lag: Annotated[float, Meta(gt=0, le=1)] = 0.15
    maker_half_spread: Fraction = 0.04
    maker_levels: Annotated[int, Meta(ge=0, le=50)] = 5
    maker_size: Annotated[float, Meta(gt=0, le=1e6)] = 100.0
    noise_rate_hz: Annotated[float, Meta(ge=0, le=10_000)] = 2.0
    noise_size: Annotated[float, Meta(gt=0, le=1e6)] = 20.0
    noise_size_sigma: Annotated[float, Meta(ge=0, le=5)] = 0.3
    informed_rate_hz: Annotated[float, Meta(ge=0, le=10_000)] = 0.5
    informed_size: Annotated[float, Meta(gt=0, le=1e6)] = 30.0
    informed_edge: Fraction = 0.02


FeedName = Annotated[str, Meta(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.:-]+$")]
"""A reference feed's name: it is part of the bus topic `ref.<feed>|`."""


class SimReferenceConfig(ConfigSection, frozen=True):
    """A reference price the simulator serves at `/ref/ws` (issue 5, lead-lag): a seeded
    log-price random walk with jumps. Markets whose `reference` names it follow it: their
    true probability is the binary-option probability of the price `lag_ms` ago, so the
    feed leads the book and a maker watching it has an edge."""

    feed: FeedName
    start_price: Annotated[float, Meta(gt=0, le=1e12)] = 100_000.0
    volatility: Annotated[float, Meta(ge=0, le=1)] = 0.0005
    """Stdev of the log-price per square-root second."""
    jump_probability: Fraction = 0.01
    """Chance of a jump per step."""
    jump_size: Annotated[float, Meta(ge=0, le=1)] = 0.005
    """Log-price size of a jump (either sign)."""
    step_ms: Annotated[int, Meta(ge=10, le=60_000)] = 200
    lag_ms: Annotated[int, Meta(ge=0, le=600_000)] = 1500
    """How long a market following the feed takes to reflect its moves."""
    horizon_s: Annotated[float, Meta(gt=0, le=1e9)] = 3600.0
    """Time to resolution used for the probability when the market's is unknown or later."""


PolymarketTier = Literal["standard", "copper", "bronze", "silver", "gold", "platinum",
                         "diamond", "elite"]
"""Polymarket's per-signer trading tiers (docs: api-reference/trading-rate-limits)."""
KalshiTier = Literal["basic", "advanced", "premier", "paragon", "prime"]
"""Kalshi's API usage tiers with published budgets (docs: getting_started/rate_limits)."""


class SimRateLimitsConfig(ConfigSection, frozen=True):
    """The venues' published rate limits, enforced by the simulator (issue 14).

    The tables behind each tier are in services/venue_sim/ratelimit.py, with their sources.
    Raise a tier for a test that legitimately needs more; `enabled = false` is for
    experiments only.
    """

    enabled: bool = True
    polymarket_tier: PolymarketTier = "standard"
    """Tier of every Polymarket signer: order and cancel token buckets."""
    polymarket_endpoint_windows: bool = True
    """Also enforce Polymarket's per-endpoint sliding windows (the Cloudflare layer)."""
    kalshi_tier: KalshiTier = "basic"
    """Tier of every Kalshi API key: read and write token budgets."""


class SimRewardsConfig(ConfigSection, frozen=True):
    """The liquidity reward programme of every simulated Polymarket market (issue 18):
    served at `/rewards/markets/...`, checked at `/order-scoring` and `/orders-scoring`.
    `daily_usd = 0` runs no programme."""

    daily_usd: Annotated[float, Meta(ge=0, le=1_000_000)] = 100.0
    max_spread_cents: Annotated[float, Meta(gt=0, le=50)] = 4.5
    """The band around the size-cutoff-adjusted midpoint (the venue's `rewards_max_spread`)."""
    min_size: Annotated[float, Meta(ge=0, le=1_000_000)] = 20.0
    """Shares an order must rest to score (the venue's `rewards_min_size`)."""
    min_age_ms: Annotated[int, Meta(ge=0, le=3_600_000)] = 0
    """How long an order must have rested to score."""
    kalshi_daily_usd: Annotated[float, Meta(ge=0, le=1_000_000)] = 50.0
    """Each simulated Kalshi market's Liquidity Incentive Program, listed at
    `/incentive_programs` as a week-long period (0: none)."""
    kalshi_target_size: Annotated[float, Meta(gt=0, le=1_000_000)] = 300.0
    """Contracts of depth from the best price that score (`target_size_fp`)."""
    kalshi_discount_factor: Annotated[float, Meta(ge=0, le=1)] = 0.5
    """The score multiplier per cent from the best price (`discount_factor_bps`)."""


class SimConfig(ConfigSection, frozen=True):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: Annotated[int, Meta(ge=1, le=65535)] = 8711
    seed: int = 1
    start_balance_usd: Dollars = 1_000_000.0
    approved: bool = True
    """Whether a new Polymarket wallet's collateral starts approved for both exchange
    contracts; false: it has no allowance until `POST /_sim/approve` (an on-chain
    approval), and the venue refuses its BUYs meanwhile."""
    verify_signatures: bool = True
    heartbeat_timeout_ms: PositiveMs = 10_000
    trade_confirm_ms: Annotated[int, Meta(ge=0, le=60_000)] = 200
    flow: SimFlowConfig = SimFlowConfig()
    kalshi_public_key_file_env: str = "PMM_SIM_KALSHI_PUBLIC_KEY_FILE"
    """Env var naming a PEM public key the simulator accepts for Kalshi key id
    `$<venues.kalshi.key_id_env>` (`pmm up` makes a throwaway pair per run dir)."""
    kalshi_auth_window_ms: PositiveMs = 30_000
    references: list[SimReferenceConfig] = []
    """Reference feeds the simulator serves at `/ref/ws` (issue 5)."""
    candidate_markets: Annotated[int, Meta(ge=0, le=200)] = 0
    """Extra seeded markets listed (Gamma `/gamma/markets`, CLOB, Kalshi `/markets`) and
    traded by the simulator but not configured: candidates for `pmm scan` (issue 5)."""
    rate_limits: SimRateLimitsConfig = SimRateLimitsConfig()
    """The venues' published rate limits, on by default (issue 14)."""
    rewards: SimRewardsConfig = SimRewardsConfig()


class ReferenceFeedConfig(ConfigSection, frozen=True):
    """An external reference price feed `services.reference` reads and publishes on the md
    bus as ReferencePrice on `ref.<feed>|` (issue 5). The websocket sends JSON text
    `{"feed": "BTC-USD", "price": 97000.5, "ts": <unix ms>}`; the simulator serves them at
    `ws://<sim>/ref/ws`."""

    feed: FeedName
    url: Annotated[str, Meta(pattern=r"^wss?://[^\s]+$")]
    silence_timeout_ms: PositiveMs = 5000
    """Reconnect when the feed sends nothing for this long."""


class ScannerWeights(ConfigSection, frozen=True):
    """Weights of the scanner's components (each scored 0..1); at least one must be > 0."""

    volume: Annotated[float, Meta(ge=0, le=100)] = 1.0
    spread: Annotated[float, Meta(ge=0, le=100)] = 1.0
    volatility: Annotated[float, Meta(ge=0, le=100)] = 1.0
    liquidity: Annotated[float, Meta(ge=0, le=100)] = 1.0
    resolution: Annotated[float, Meta(ge=0, le=100)] = 1.0
    reward: Annotated[float, Meta(ge=0, le=100)] = 1.0


class ScannerConfig(ConfigSection, frozen=True):
    """`pmm scan` (issue 5, common/scanner.py): score candidate markets from the venues'
    listings, filter, propose (or start) the top N within `max_markets`."""

    venues: tuple[Literal["polymarket", "kalshi"], ...] = ("polymarket",)
    """Venues whose listings are scanned."""
    weights: ScannerWeights = ScannerWeights()
    min_liquidity_usd: Annotated[float, Meta(ge=0, le=1e12)] = 1000.0
    max_days_to_resolution: Annotated[float, Meta(ge=0, le=36_500)] = 0.0
    """Drop markets resolving later than this (or with no date); 0 = no limit."""
    top_n: Annotated[int, Meta(ge=1, le=100)] = 3
    max_markets: Annotated[int, Meta(ge=1, le=1000)] = 20
    """Markets the stack may run in all; `--start` adds at most max_markets - running."""
    auto_start: bool = False
    """`pmm scan` starts the top N without `--start`."""
    volume_ref_usd: Annotated[float, Meta(gt=0, le=1e12)] = 100_000.0
    liquidity_ref_usd: Annotated[float, Meta(gt=0, le=1e12)] = 50_000.0
    spread_ref: Annotated[float, Meta(gt=0, le=1)] = 0.05
    volatility_ref: Annotated[float, Meta(gt=0, le=1)] = 0.10
    resolution_ref_days: Annotated[float, Meta(gt=0, le=36_500)] = 30.0
    reward_ref_usd: Annotated[float, Meta(gt=0, le=1e9)] = 100.0
    """A liquidity reward pool of this many USD a day scores 1 (Polymarket's programme,
    Kalshi's liquidity incentive)."""
