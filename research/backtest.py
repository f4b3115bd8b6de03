"""Event-driven backtester: market data through the live quoting engine and a paper venue.

One process, one deterministic loop, no clock and no randomness of its own: the same events,
config and parameters give the same fills and metrics, bit for bit. Per market it does what
the quoter actor does (services/quoter/actor.py) around the same pure entry point
`strategy.engine.step`: step on every new book, on trades for vwap markets, on a
position change, and on a timer every `interval_ms`; a sent ladder reaches the paper venue
`latency_ms` later (research/venue.py). A fill updates the position the engine sees
`response_ms` later, when its report would reach the executor (risk's PositionUpdate,
without its hop); P&L and the metrics count it at once.

`signals` (issue 5): "on" runs the engine with `[quoting.signals] enabled = true`, "off"
with no signal at all (the switch false, and lead-lag off), "config" as each market's
parameters say. Trades reach the engine with
their aggressor side (`TradeTick.side`), as the venue prints them.
"""

from __future__ import annotations

import heapq
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Literal

import msgspec

from common.config import QuotingConfig
from common.messages import (
    BookSnapshot,
    Level,
    MarketData,
    MarketStatus,
    ReferencePrice,
    RewardProgramme,
    TradePrint,
)
from common.prices import PRICE_SCALE
from common.reward_programmes import AnyProgramme, from_message
from research.rewards import RewardTally
from research.sniper import Sniper, SniperSpec
from research.venue import PaperFill, PaperVenue
from strategy import engine
from strategy.model import EngineInputs, EngineState, MarketInfo, TradeTick

__all__ = ["BacktestParams", "Backtester", "Event", "MarketRun", "MarketSetup", "RunResult",
    "Sample", "with_signals"]


class BacktestParams(msgspec.Struct, frozen=True, kw_only=True):
    """Knobs of the simulation itself (the strategy's are `QuotingConfig`)."""

    latency_ms: int = 50
    """Decision to order arrival at the venue (and cancel arrival)."""
    response_ms: int = 50
    """A fill to its report reaching the executor (research/venue.py)."""
    maker_fee_bps: float = 0.0
    """Fee on our (maker) fills in basis points of notional; negative for a rebate."""
    sample_ms: int = 1000
    markout_horizons_s: tuple[int, ...] = (1, 5, 10, 30, 60)
    signals: Literal["on", "off", "config"] = "config"


def with_signals(quoting: QuotingConfig, signals: str) -> QuotingConfig:
    """`quoting` with the signals' master switch set by "on"/"off" ("config": unchanged);
    "off" turns lead-lag off too (it runs without the switch where a market has a reference)."""
    if signals == "config":
        return quoting
    switched = msgspec.structs.replace(quoting.signals, enabled=signals == "on")
    if signals == "off":
        switched = msgspec.structs.replace(
            switched, lead_lag=msgspec.structs.replace(switched.lead_lag, enabled=False))
    return msgspec.structs.replace(quoting, signals=switched)


@dataclass(frozen=True, slots=True)
class MarketSetup:
    market: str
    quoting: QuotingConfig
    info: MarketInfo = MarketInfo()
    min_size: int = 0
    sniper: SniperSpec | None = None
    """Informed takers who look at our quotes (research/sniper.py); they need the truth."""
    sniper_seed: str = ""
    reward: AnyProgramme | None = None
    """The market's liquidity reward programme: our share is counted every sample."""


@dataclass(slots=True)
class Sample:
    ts_ns: int
    mid: float
    truth: float | None
    bid: int | None
    ask: int | None
    net: int
    pnl: int
    book_bid: int | None = None
    book_ask: int | None = None


@dataclass(slots=True)
class MarketRun:
    """Per-market state of a run and everything recorded about it."""

    setup: MarketSetup
    engine: EngineState = field(default_factory=EngineState)
    book: BookSnapshot | None = None
    stale: bool = False
    new_book: bool = False
    trades: list[TradeTick] = field(default_factory=list)
    yes: int = 0
    no: int = 0
    cash: int = 0
    fees: int = 0
    stepped_ns: int = 0
    dirty: bool = False
    quotes_sent: int = 0
    fills: list[PaperFill] = field(default_factory=list)
    ref_ts: list[int] = field(default_factory=list)
    ref_px: list[float] = field(default_factory=list)
    mid_px: list[float] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    has_truth: bool = False
    reference: float | None = None
    reference_ts_ns: int = 0
    sniper: Sniper | None = None
    sniped: int = 0
    """Contracts (centi) the snipers took from us."""
    routed: bool = False
    """The market routes its trades through our orders itself (a closed-loop scenario,
    research/flow.py): its prints have filled us already."""
    unreported: deque[tuple[int, int, int]] = field(default_factory=deque)
    """(time, YES, NO) of fills whose report has not reached us yet (`response_ms`)."""
    rewards: RewardTally = field(default_factory=RewardTally)
    """Liquidity rewards earned, sample by sample (research/rewards.py)."""

    @property
    def net(self) -> int:
        return self.yes - self.no

    def known(self, now: int, response_ns: int) -> tuple[int, int]:
        """YES and NO held as the quoter knows them at `now`: a fill is reported
        `response_ns` after it happens (the engine skews on what it knows)."""
        while self.unreported and self.unreported[0][0] <= now - response_ns:
            self.unreported.popleft()
        return (self.yes - sum(y for _, y, _ in self.unreported),
                self.no - sum(n for _, _, n in self.unreported))

    def mid(self) -> float | None:
        b = self.book
        if b is None or not b.bids or not b.asks:
            return self.mid_px[-1] if self.mid_px else None
        return (b.bids[0].price + b.asks[0].price) / 2

    def pnl(self, mark: float) -> int:
        """Micro-dollars: cash plus holdings at `mark` (YES pips), net of fees."""
        return round(self.cash + self.yes * mark + self.no * (PRICE_SCALE - mark)) - self.fees


@dataclass(slots=True)
class RunResult:
    markets: dict[str, MarketRun]
    params: BacktestParams
    events: int
    wall_s: float
    placed_size: int = 0
    rejected: int = 0


Event = tuple[int, MarketData, float | None]
"""(engine time unix ns, message, true YES price in pips if the data knows it)."""


class Backtester:
    """Runs events through engine.step and the paper venue; see the module docstring."""

    def __init__(self, setups: Iterable[MarketSetup], params: BacktestParams) -> None:
        self.params = params
        self.runs = {
            s.market: MarketRun(setup=replace(s, quoting=with_signals(s.quoting, params.signals)),
                                sniper=Sniper(s.sniper, s.sniper_seed) if s.sniper else None)
            for s in setups
        }
        self.venue = PaperVenue(maker_fee_bps=params.maker_fee_bps,
                                latency_ms=params.latency_ms, response_ms=params.response_ms)
        self._arrivals: list[tuple[int, int, str, tuple[Level, ...], tuple[Level, ...]]] = []
        self._n = 0
        self._lat_ns = params.latency_ms * 1_000_000
        self._resp_ns = params.response_ms * 1_000_000
        self._sample_ns = params.sample_ms * 1_000_000
        self._next_sample = 0

    def run(self, events: Iterable[Event]) -> RunResult:
        """Feed every event; return the per-market record of the run."""
        started = time.perf_counter()
        count = 0
        last = 0
        for ts, msg, truth in events:
            count += 1
            self._advance(ts)
            self._on_event(ts, msg, truth)
            last = ts
        self._advance(last + max(self._lat_ns, 1))
        for r in self.runs.values():
            self._sample(r, last)
        st = self.venue.stats
        return RunResult(self.runs, self.params, count, time.perf_counter() - started,
                         placed_size=st.placed_size, rejected=st.rejected)

    def own(self, market: str) -> _Own:
        """Our orders on `market` as a closed-loop market trades against them; from now on
        that market's trade prints have filled us when they arrive."""
        r = self.runs[market]
        r.routed = True
        return _Own(self, r)

    # --- time ------------------------------------------------------------------------------

    def _advance(self, ts: int) -> None:
        """Process ladder arrivals and timer steps due up to `ts`, in time order."""
        while True:
            arrival = self._arrivals[0][0] if self._arrivals else None
            timer_ts, timer_run = self._next_timer()
            due = [t for t in (arrival, timer_ts) if t is not None and t <= ts]
            if not due:
                break
            if arrival is not None and arrival == min(due):
                at, _, market, bids, asks = heapq.heappop(self._arrivals)
                self.venue.apply_ladder(market, bids, asks, at)
            else:
                assert timer_run is not None and timer_ts is not None
                self._step(timer_run, timer_ts, timer=True)
        if self._sample_ns and ts >= self._next_sample:
            if self._next_sample:
                for r in self.runs.values():
                    self._sample(r, ts)
            self._next_sample = ts - ts % self._sample_ns + self._sample_ns

    def _next_timer(self) -> tuple[int | None, MarketRun | None]:
        best: tuple[int | None, MarketRun | None] = (None, None)
        for r in self.runs.values():
            if r.book is None:
                continue
            due = r.stepped_ns + r.setup.quoting.interval_ms * 1_000_000
            if best[0] is None or due < best[0]:
                best = (due, r)
        return best

    # --- events ----------------------------------------------------------------------------

    def _on_event(self, ts: int, msg: MarketData, truth: float | None) -> None:
        if isinstance(msg, ReferencePrice):  # a market's `reference` feed (lead-lag, threshold)
            for run in self.runs.values():
                if run.setup.info.reference == msg.feed and msg.price > 0:
                    run.reference, run.reference_ts_ns = msg.price, ts
            return
        r = self.runs.get(getattr(msg, "market", ""))
        if r is None:
            return
        match msg:
            case BookSnapshot():
                r.book, r.new_book = msg, True
                mid = r.mid()
                if mid is not None:
                    r.mid_px.append(mid)
                    r.ref_ts.append(ts)
                    r.ref_px.append(truth if truth is not None else mid)
                    r.has_truth = r.has_truth or truth is not None
                self._fills(r, self.venue.on_book(ts, msg.market, msg.bids, msg.asks))
                if r.sniper is not None and truth is not None:
                    self._snipe(r, ts, truth, msg)
                self._step(r, ts)
            case TradePrint():
                r.trades.append(TradeTick(ts, msg.price, msg.size, 1 if msg.side == "BUY" else -1))
                if not r.routed:
                    buy = msg.side == "BUY"
                    self._fills(r, self.venue.on_trade(ts, msg.market, msg.price, msg.size, buy))
                if r.dirty or (r.setup.quoting.fv_method == "vwap" and r.book is not None):
                    self._step(r, ts)
            case MarketStatus():
                if msg.stale != r.stale:
                    r.stale = msg.stale
                    self._step(r, ts)
            case RewardProgramme():  # a recording's programme, as the live quoter takes it
                r.setup = replace(r.setup, reward=from_message(msg))

    def _snipe(self, r: MarketRun, ts: int, truth: float, book: BookSnapshot) -> None:
        """Informed takers trade against our mispriced quotes (research/sniper.py); the
        quoter sees their trades as prints."""
        assert r.sniper is not None
        q = self.venue.model(r.setup.market)
        takes = r.sniper.takes(ts, truth, q.orders.values(), self.venue.placed_ns,
                               book.bids[0].price if book.bids else None,
                               book.asks[0].price if book.asks else None)
        for t in takes:
            fills = self.venue.on_trade(ts, r.setup.market, t.price, t.size, t.aggressor_buy)
            r.sniped += sum(f.size for f in fills)
            self._fills(r, fills)
            r.trades.append(TradeTick(ts, t.price, t.size, 1 if t.aggressor_buy else -1))

    def _fills(self, r: MarketRun, fills: list[PaperFill]) -> None:
        for f in fills:
            r.fills.append(f)
            r.fees += f.fee
            if f.buy:
                r.yes += f.size
                r.cash -= f.price * f.size
            else:
                r.no += f.size
                r.cash -= (PRICE_SCALE - f.price) * f.size
            if self._resp_ns:
                r.unreported.append((f.ts_ns, f.size if f.buy else 0, 0 if f.buy else f.size))
            r.dirty = True

    def _step(self, r: MarketRun, ts: int, *, timer: bool = False) -> None:
        if r.book is None:
            return
        r.dirty = False
        r.stepped_ns = ts
        yes, no = r.known(ts, self._resp_ns)
        inputs = EngineInputs(
            book=r.book, new_book=r.new_book, trades=tuple(r.trades), net_centi=yes - no,
            position_yes=yes, position_no=no, stale=r.book.stale or r.stale,
            min_size_centi=max(r.book.min_size, r.setup.min_size), timer=timer,
            reference=r.reference, reference_ts_ns=r.reference_ts_ns, reward=r.setup.reward,
        )
        r.trades.clear()
        r.new_book = False
        r.engine, decision = engine.step(r.engine, inputs, r.setup.quoting, r.setup.info, ts)
        if decision.send:
            r.quotes_sent += 1
            self._n += 1
            ladder = decision.ladder
            heapq.heappush(self._arrivals, (ts + self._lat_ns, self._n, r.setup.market,
                                            ladder.bids, ladder.asks))

    def _sample(self, r: MarketRun, ts: int) -> None:
        mid = r.mid()
        if mid is None:
            return
        self._reward(r, ts)
        bid, ask = self.venue.resting(r.setup.market)
        truth = r.ref_px[-1] if r.has_truth and r.ref_px else None
        b = r.book
        r.samples.append(Sample(ts, mid, truth, bid, ask, r.net, r.pnl(mid),
                                b.bids[0].price if b is not None and b.bids else None,
                                b.asks[0].price if b is not None and b.asks else None))


    def _reward(self, r: MarketRun, ts: int) -> None:
        """Our share of the reward pool since the last sample (research/rewards.py)."""
        r.rewards.accrue(r.setup.reward, r.book, *self.venue.ladder(r.setup.market), ts)


class _Own:
    """research/flow.py's OwnBook over the paper venue: what a closed-loop market sees of
    our orders on one market, and how its takers fill them."""

    def __init__(self, bt: Backtester, run: MarketRun) -> None:
        self.bt = bt
        self.run = run
        self.q = bt.venue.model(run.setup.market)

    def at(self, ts_ns: int) -> None:
        self.bt._advance(ts_ns)

    def best(self, yes_bid: bool) -> int | None:
        prices = [o.price for o in self.q.orders.values() if o.yes_bid == yes_bid]
        if not prices:
            return None
        return max(prices) if yes_bid else min(prices)

    def size_at(self, yes_bid: bool, price: int) -> int:
        return sum(o.remaining for o in self.q.orders.values()
                   if o.yes_bid == yes_bid and o.price == price)

    def trade(self, ts_ns: int, price: int, size: int, aggressor_buy: bool, makers: int) -> int:
        for o in self.q.orders.values():  # the book moved since our queue was last measured
            if o.price == price and o.yes_bid != aggressor_buy and o.queue_ahead > makers:
                o.queue_ahead = makers
        fills = self.bt.venue.on_trade(ts_ns, self.run.setup.market, price, size, aggressor_buy)
        self.bt._fills(self.run, fills)
        return sum(f.size for f in fills)
