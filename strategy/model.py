"""Plain data of the quoting engine: books, trades, ladders, estimator state, decisions.

Everything is a frozen msgspec Struct so state can be copied, compared, logged and stored
by the backtester. Prices are integer pips in YES terms and sizes integer centi-contracts
(ARCHITECTURE.md "Units"); floats appear only in intermediate maths and diagnostics.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

from msgspec import Struct

from common.messages import Level
from common.reward_programmes import KalshiProgramme, Programme
from strategy.signals.types import QuoteAction, SignalReading, SignalState

__all__ = ["Book", "BookLike", "Decision", "EMPTY", "EngineInputs", "EngineState", "Ladder",
    "MarketInfo", "MarketLike", "Regime", "RequoteReason", "TradeTick", "VolState"]

Regime = Literal["neutral", "moderate", "aggressive"]


class BookLike(Protocol):
    """What the engine reads from a book: `BookSnapshot` satisfies it, as does `Book`."""

    @property
    def tick(self) -> int: ...

    @property
    def bids(self) -> Sequence[Level]: ...

    @property
    def asks(self) -> Sequence[Level]: ...


class MarketLike(Protocol):
    """What the engine reads from a market: `common.config.MarketConfig` satisfies it."""

    @property
    def resolves_at_ns(self) -> int | None: ...

    @property
    def reference(self) -> str:
        """The reference feed's name ("" none): lead-lag and threshold fair value."""
        ...

    @property
    def strike(self) -> float:
        """Threshold K in the reference's units (0: not a threshold market)."""
        ...


class Book(Struct, frozen=True, kw_only=True):
    """A plain book for callers without a BookSnapshot (preview, backtests, tests)."""

    tick: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]


class MarketInfo(Struct, frozen=True, kw_only=True):
    """A minimal `MarketLike` for callers without a MarketConfig (preview, backtests)."""

    resolves_at_ns: int | None = None
    reference: str = ""
    strike: float = 0.0


class TradeTick(Struct, frozen=True, array_like=True):
    """One trade seen on the venue: engine time (unix ns), price (pips), size (centi), and
    the aggressor when known (+1 buyer, -1 seller, 0 unknown: the toxicity signal infers it)."""

    ts_ns: int
    price: int
    size: int
    side: int = 0


class Ladder(Struct, frozen=True, kw_only=True):
    """A full desired ladder: fair value (pips) and levels, best first on each side.

    `exit_bids`/`exit_asks` are marketable (non-post-only) exit orders, empty unless the
    engine is cutting inventory before resolution.
    """

    fair_value: int
    bids: tuple[Level, ...] = ()
    asks: tuple[Level, ...] = ()
    exit_bids: tuple[Level, ...] = ()
    exit_asks: tuple[Level, ...] = ()

    @property
    def empty(self) -> bool:
        """True when the ladder quotes nothing (pull every quote)."""
        return not (self.bids or self.asks or self.exit_bids or self.exit_asks)


EMPTY = Ladder(fair_value=0)


class VolState(Struct, frozen=True, kw_only=True):
    """Online volatility of the fair value: EWMAs of squared moves and of elapsed time.

    `sq` is the EWMA of squared moves per update (pips^2); `dt_s` the EWMA of seconds per
    update, so `sq / dt_s` is the variance per second, robust to bursts of updates.
    """

    last: float | None = None
    last_ns: int = 0
    sq: float = 0.0
    dt_s: float = 0.0
    n: int = 0


class IntensityState(Struct, frozen=True, kw_only=True):
    """Trades reaching each depth from the mid, and the time watched, both decaying
    (strategy/intensity.py)."""

    last_ns: int = 0
    seconds: float = 0.0
    counts: tuple[float, ...] = ()


class EngineState(Struct, frozen=True, kw_only=True):
    """Everything the engine remembers about one market between steps."""

    fv_ema: float | None = None
    vol: VolState = VolState()
    vol_sampled: VolState = VolState()
    """The same estimator sampled every `vol_sample_ms` (strategy/volatility.py)."""
    intensity: IntensityState = IntensityState()
    trades: tuple[TradeTick, ...] = ()
    last_sent: Ladder | None = None
    last_sent_ns: int = 0
    last_step_ns: int = 0
    signals: SignalState = SignalState()


class EngineInputs(Struct, frozen=True, kw_only=True):
    """What changed since the last step.

    `book` is the newest book (None: never had one); `new_book` says whether it is new since
    the previous step (estimators only learn from new books, not timer steps); `trades` are
    the trades seen since the previous step; `net_centi` the netted YES position
    (YES - NO, centi-contracts) and `position_yes`/`position_no` the gross holdings (for
    locked value); `stale` pulls every quote.
    """

    book: BookLike | None
    new_book: bool = True
    trades: tuple[TradeTick, ...] = ()
    net_centi: int = 0
    position_yes: int = 0
    position_no: int = 0
    stale: bool = False
    min_size_centi: int = 0
    timer: bool = False
    """True on the periodic `interval_ms` step: the ladder is re-sent even if unchanged."""
    reference: float | None = None
    """The newest external reference price of the market's `reference` feed (issue 5:
    lead-lag and threshold fair value), in the feed's own units; None without one."""
    reference_ts_ns: int = 0
    """When `reference` was published (unix ns); 0 without one."""
    reward: Programme | KalshiProgramme | None = None
    """The market's liquidity reward programme (the ladder reaches into its band,
    strategy/rewards.py `reach`); None without one."""


RequoteReason = Literal[
    "first", "changed", "max_age", "timer", "within_threshold", "stale", "no_fair_value"
]


class Decision(Struct, frozen=True, kw_only=True):
    """The engine's answer for one step: the ladder, whether to send it, and why.

    Diagnostics (floats, pips) explain the ladder: `half_spread` after every widening,
    `reservation` the skewed centre, `sigma` the volatility estimate ($ per sqrt(second)).
    `locked_value` is min(YES, NO) held, in micro-dollars: pairs that pay $1 whatever
    happens, neither long nor short.
    """

    ladder: Ladder
    send: bool
    reason: RequoteReason
    model: str = "heuristic"
    regime: str = "neutral"
    half_spread: float = 0.0
    reservation: float = 0.0
    sigma: float = 0.0
    time_to_resolution_s: float | None = None
    locked_value: int = 0
    action: QuoteAction = "both"
    """The signals' one quote action (issue 5): both, bid_only, ask_only, widen or pull."""
    widen_bid: float = 1.0
    widen_ask: float = 1.0
    fv_nudge: float = 0.0
    """Pips the signals moved fair value by (already in `ladder.fair_value`)."""
    signals: tuple[SignalReading, ...] = ()
    """Every enabled signal's reading, active or not; empty with signals off."""
    market_regime: str = ""
    """The regime signal's verdict: trending, mean_reverting, volatile, neutral ("" off)."""

    @property
    def fair_value(self) -> int:
        return self.ladder.fair_value

    @property
    def bids(self) -> tuple[Level, ...]:
        return self.ladder.bids

    @property
    def asks(self) -> tuple[Level, ...]:
        return self.ladder.asks
