"""What one quoter knows about each of its markets, and the records built from it.

`MarketState` is the per-market memory the actor keeps between engine steps (newest book,
position, trades since the last step, estimator state, timer floor). `engine_inputs` turns
it into the engine's `EngineInputs`; `quote_intent` wraps a ladder as the `QuoteIntent`
sent to risk. Both are pure: the actor owns the state, the clock and the sequence numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from common.config import Config, MarketConfig, QuotingConfig
from common.errors import ConfigError
from common.messages import BookSnapshot, QuoteIntent
from common.reward_programmes import AnyProgramme
from strategy.model import EngineInputs, EngineState, Ladder, TradeTick

__all__ = ["MarketState", "engine_inputs", "live_quoting", "quote_intent", "shard_markets"]


def live_quoting(cfg: Config, market: MarketConfig) -> QuotingConfig:
    """A market's quoting parameters for live trading; ConfigError for the research
    baseline (`model = "symmetric"`), which has no resolution handling and no exits."""
    quoting = cfg.quoting_for(market)
    if quoting.model == "symmetric":
        raise ConfigError(
            f"market {market.id}: model = \"symmetric\" is the research baseline (no "
            "stop-adding window, no exit orders before resolution); quote with "
            "\"heuristic\" or \"avellaneda_stoikov\"")
    return quoting


def shard_markets(cfg: Config, shard: int, shards: int) -> list[MarketConfig]:
    """The markets quoter `shard` of `shards` owns: index k with k % shards == shard."""
    return [m for k, m in enumerate(cfg.markets) if k % shards == shard]


@dataclass
class MarketState:
    """What the quoter knows about one of its markets."""

    market: MarketConfig
    quoting: QuotingConfig
    book: BookSnapshot | None = None
    status_stale: bool = False
    net_centi: int = 0
    position_yes: int = 0
    position_no: int = 0
    dirty: bool = False
    unquoted_book: bool = False
    new_book: bool = False
    trades: list[TradeTick] = field(default_factory=list)
    engine: EngineState = field(default_factory=EngineState)
    stepped_ns: int = 0
    """Monotonic time of the last ladder sent or timer step: the timer floor counts from it.
    Not from every step: on a busy book the market steps constantly without sending, and a
    ladder that no longer rests (filled, cancelled by a kill, refused) must still be re-sent
    within one `interval_ms` (the executor diffs it, so an unchanged ladder costs no venue
    call)."""
    reference: float | None = None
    """Newest price of the market's `reference` feed (issue 5, lead-lag); None before one."""
    reference_ts_ns: int = 0
    reward: AnyProgramme | None = None
    """The market's liquidity reward programme, as ingest last published it."""

    @property
    def sent(self) -> Ladder | None:
        """The live ladder: the last one sent to risk."""
        return self.engine.last_sent


def engine_inputs(st: MarketState, book: BookSnapshot, *, timer: bool) -> EngineInputs:
    """The engine's inputs for one step of a market whose newest book is `book`."""
    return EngineInputs(
        book=book,
        new_book=st.new_book,
        trades=tuple(st.trades),
        net_centi=st.net_centi,
        position_yes=st.position_yes,
        position_no=st.position_no,
        stale=book.stale or st.status_stale,
        min_size_centi=max(book.min_size, st.market.min_size_centi),
        timer=timer,
        reference=st.reference,
        reference_ts_ns=st.reference_ts_ns,
        reward=st.reward,
    )


def quote_intent(
    market: str, book: BookSnapshot, ladder: Ladder, *, quoter: str, seq: int, now_ns: int
) -> QuoteIntent:
    """A ladder as a QuoteIntent, carrying the receive time and sequence of its book."""
    return QuoteIntent(
        market=market,
        quoter=quoter,
        seq=seq,
        ts_recv_ns=book.ts_recv_ns,
        ts_sent_ns=now_ns,
        fair_value=ladder.fair_value,
        bids=ladder.bids,
        asks=ladder.asks,
        book_seq=book.seq,
        exit_bids=ladder.exit_bids,
        exit_asks=ladder.exit_asks,
    )
