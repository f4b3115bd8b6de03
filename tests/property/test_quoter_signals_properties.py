"""Property tests of the signals' maths: the binary-option probability, the combination into
one action, and the engine with signals on (a pulled side is never quoted, widening never
narrows)."""

from __future__ import annotations

import math

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from common.config import QuotingConfig
from common.messages import Level
from common.prices import ONE_DOLLAR
from common.signal_config import SignalsConfig
from strategy.engine import step
from strategy.model import Book, EngineInputs, EngineState, MarketInfo, TradeTick
from strategy.signals import threshold
from strategy.signals.combine import combine, widened
from strategy.signals.types import Effect

T0 = 1_800_000_000 * 10**9
MS = 10**6

prices = st.floats(min_value=1e-3, max_value=1e7, allow_nan=False, allow_infinity=False)
taus = st.floats(min_value=-10.0, max_value=1e7, allow_nan=False)
sigmas = st.floats(min_value=0.0, max_value=0.1, allow_nan=False)


@settings(deadline=None)
@given(prices, prices, prices, taus, sigmas)
def test_probability_in_unit_interval_and_monotone_in_reference(
    a: float, b: float, k: float, tau: float, sig: float
) -> None:
    lo, hi = sorted((a, b))
    p_lo = threshold.probability(lo, k, tau, sig)
    p_hi = threshold.probability(hi, k, tau, sig)
    assert 0.0 <= p_lo <= 1.0 and 0.0 <= p_hi <= 1.0
    assert p_lo <= p_hi + 1e-12


@settings(deadline=None)
@given(prices, prices, st.floats(min_value=1e-3, max_value=1e7), sigmas,
       st.floats(min_value=0.1, max_value=600))
def test_gamma_move_bounded_and_widening_at_least_one(
    s: float, k: float, tau: float, sig: float, h: float
) -> None:
    move = threshold.move_over(s, k, tau, sig, h)
    assert 0.0 <= move <= 0.5
    from common.signal_config import ThresholdConfig

    cfg = ThresholdConfig()
    assert 1.0 <= threshold.widen_factor(move, 0.02, cfg) <= cfg.max_widen


effects = st.builds(
    Effect,
    widen=st.floats(min_value=1.0, max_value=20.0),
    widen_bid=st.floats(min_value=1.0, max_value=20.0),
    widen_ask=st.floats(min_value=1.0, max_value=20.0),
    pull_bid=st.booleans(),
    pull_ask=st.booleans(),
    fv_shift=st.floats(min_value=-5000, max_value=5000),
)


@settings(deadline=None)
@given(st.lists(effects, max_size=8), st.floats(min_value=1.0, max_value=20.0),
       st.floats(min_value=0.0, max_value=10_000))
def test_combined_action_is_consistent(es: list[Effect], cap: float, nudge: float) -> None:
    c = combine(es, cap, nudge)
    assert c.pull_bid == any(e.pull_bid for e in es)
    assert c.pull_ask == any(e.pull_ask for e in es)
    assert 1.0 <= c.widen_bid <= cap and 1.0 <= c.widen_ask <= cap
    assert abs(c.fv_nudge) <= nudge
    expected = ("pull" if c.pull_bid and c.pull_ask else "bid_only" if c.pull_ask
                else "ask_only" if c.pull_bid
                else "widen" if max(c.widen_bid, c.widen_ask) > 1 else "both")
    assert c.action == expected


@settings(deadline=None)
@given(st.floats(min_value=0, max_value=5000), st.floats(min_value=0, max_value=30),
       st.floats(min_value=0, max_value=5000))
def test_widened_never_narrows(h: float, factor: float, cap: float) -> None:
    assert widened(h, factor, cap) >= h


@st.composite
def sequences(draw: st.DrawFn) -> list[tuple[Book, tuple[TradeTick, ...]]]:
    """A random walk of two-sided books (1-cent ticks) with random one-way or mixed trades."""
    mid = draw(st.integers(10, 90))
    out = []
    for i in range(draw(st.integers(20, 80))):
        mid = min(95, max(5, mid + draw(st.integers(-3, 3))))
        bid_size = draw(st.integers(100, 100_000))
        ask_size = draw(st.integers(100, 100_000))
        b = Book(tick=100, bids=(Level((mid - 1) * 100, bid_size),),
                 asks=(Level((mid + 1) * 100, ask_size),))
        n = draw(st.integers(0, 3))
        trades = tuple(
            TradeTick(T0 + i * 100 * MS, (mid + draw(st.sampled_from([-1, 1]))) * 100,
                      draw(st.integers(100, 50_000)), draw(st.sampled_from([-1, 0, 1])))
            for _ in range(n))
        out.append((b, trades))
    return out


AGGRESSIVE = msgspec.convert({
    "enabled": True,
    "vol_spike": {"ratio": 1.5, "warmup_books": 3, "min_sigma": 0.0},
    "momentum": {"widen_threshold": 0.001, "pull_threshold": 0.005, "skew": 0.0},
    "toxicity": {"bucket_contracts": 5, "buckets": 2, "threshold": 0.3, "one_sided": 0.3,
                 "nudge": 0.0},
    "volume_spike": {"warmup_s": 1.0, "multiple": 1.5, "min_contracts": 1.0, "fast_s": 0.5,
                     "slow_s": 5.0},
    "regime": {"min_returns": 3, "volatile_sigma": 0.001},
    "book_imbalance": {"enabled": False},
}, SignalsConfig)


@settings(max_examples=60, deadline=None)
@given(sequences(), st.sampled_from(["heuristic", "avellaneda_stoikov"]),
       st.integers(-40_000, 40_000))
def test_engine_never_quotes_a_pulled_side_and_never_narrows(
    seq: list[tuple[Book, tuple[TradeTick, ...]]], model: str, net: int
) -> None:
    on = msgspec.structs.replace(QuotingConfig(), model=model, signals=AGGRESSIVE)
    off = msgspec.structs.replace(on, signals=SignalsConfig())
    s_on, s_off = EngineState(), EngineState()
    for i, (b, trades) in enumerate(seq):
        now = T0 + i * 100 * MS
        inputs = EngineInputs(book=b, trades=trades, net_centi=net)
        s_on, d = step(s_on, inputs, on, MarketInfo(), now)
        s_off, base = step(s_off, inputs, off, MarketInfo(), now)
        assert d.fv_nudge == 0.0  # no nudging signal enabled: the prices are comparable
        if d.action in ("pull", "ask_only"):
            assert d.bids == ()
        if d.action in ("pull", "bid_only"):
            assert d.asks == ()
        assert d.widen_bid >= 1.0 and d.widen_ask >= 1.0
        if d.bids and base.bids:
            assert d.bids[0].price <= base.bids[0].price
        if d.asks and base.asks:
            assert d.asks[0].price >= base.asks[0].price
        for lv in (*d.bids, *d.asks):
            assert 0 < lv.price < ONE_DOLLAR
        if d.bids and d.asks:
            assert d.bids[0].price < d.asks[0].price
        assert all(math.isfinite(r.value) for r in d.signals)
