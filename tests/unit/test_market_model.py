"""One market model (common/market_model.py) for the research market and the venue
simulator (issue 17): separate streams keep the truth path whatever our quotes do, and the
simulator's makers compete, pull and refill as the research makers do."""

from __future__ import annotations

import statistics
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.config import SimFlowConfig
from common.market_model import Makers, Takers, Truth, streams
from common.messages import MarketData
from common.prices import PRICE_SCALE, SIZE_SCALE
from research import runner, scenarios
from research.backtest import Backtester, BacktestParams, MarketSetup
from research.flow import Flow, ScenarioSpec
from services.venue_sim.engine import Engine, OrderRequest, SimMarket
from services.venue_sim.flow import INFORMED, MAKER
from services.venue_sim.flow import Flow as SimFlow

C = SIZE_SCALE


def test_our_quotes_never_move_the_truth_nor_the_takers_arrivals() -> None:
    """Closed loop with a quoter that trades (and so changes the makers' levels) against
    the open loop: the same truth at every step."""
    spec = scenarios.spec("news_jump", duration_s=300.0)
    bt = Backtester([MarketSetup(market=spec.market, quoting=runner.quoting_for(
        None, spec.market, {"model": "symmetric", "spread": 0.01}))], BacktestParams())
    closed: dict[int, float] = {}

    def events() -> Iterator[tuple[int, MarketData, float]]:
        for t in Flow(spec, 3, bt.own(spec.market)):
            closed[t.ts_ns // 1_000_000] = t.true_price
            yield t.ts_ns, t.msg, t.true_price

    result = bt.run(events())
    assert result.markets[spec.market].fills, "the quoter must trade for this to mean anything"
    opened = {t.ts_ns // 1_000_000: t.true_price for t in Flow(spec, 3)}
    assert closed == opened
    assert len(set(opened.values())) > 100


def test_the_streams_are_independent_and_seeded() -> None:
    a, b = streams("x:1"), streams("x:1")
    assert [r.random() for r in a] == [r.random() for r in b]
    assert len({r.random() for r in streams("x:2")}) == 4


@given(start=st.floats(0.05, 0.95), steps=st.integers(1, 200))
def test_the_truth_stays_in_its_band_and_the_view_between_start_and_truth(
        start: float, steps: int) -> None:
    t = Truth(streams("t").truth, start=start, volatility=0.5, lag=0.1, jump_rate_hz=1.0,
              jump_size=0.2, lo=0.03, hi=0.97)
    for _ in range(steps):
        p = t.step(0.1)
        assert 0.03 <= p <= 0.97
        assert 0.03 <= t.view <= 0.97


@pytest.mark.parametrize("start", [0.15, 0.5, 0.9])
@pytest.mark.parametrize(("volatility", "jump_rate_hz"), [(0.1, 0.0), (0.001, 0.1), (0.1, 0.1)],
                         ids=["walk", "jumps", "both"])
def test_the_truth_is_a_martingale(start: float, volatility: float, jump_rate_hz: float) -> None:
    """A probability has no expected drift: over many paths the mean truth after 200 s
    is where it started, near a bound too (where a plain logit walk drifts back
    towards 1/2, and clipped jumps push away from the bound). The walk alone checks the
    Ito correction, the jumps alone their sizes and odds near a bound."""
    ends = []
    for path in range(300):
        t = Truth(streams(f"m:{start}:{path}").truth, start=start, volatility=volatility,
                  lag=0.1, jump_rate_hz=jump_rate_hz, jump_size=0.1, lo=0.02, hi=0.98)
        for _ in range(2000):
            t.step(0.1)
        ends.append(t.p)
    mean = statistics.fmean(ends)
    se = statistics.pstdev(ends) / len(ends) ** 0.5
    assert statistics.pstdev(ends) > 0.05, "the paths must wander for the mean to say anything"
    assert abs(mean - start) < 4 * se, (mean, se)


def test_a_converging_truth_reaches_its_outcome() -> None:
    t = Truth(streams("c").truth, start=0.5, volatility=0.05, lag=0.1, lo=0.02, hi=0.98)
    for left in range(400, 0, -1):
        t.step(0.1, converge=left)
    assert abs(t.p - (0.98 if t.outcome else 0.02)) < 1e-9


@given(view=st.floats(0.05, 0.95), ours_bid=st.integers(1, 98), gap=st.integers(1, 20),
       alarm=st.floats(0, 5))
def test_the_makers_tops_never_cross_nor_cross_our_quotes(
        view: float, ours_bid: int, gap: int, alarm: float) -> None:
    m = Makers(streams("m").rivals, half_spread=0.01, tick=100, dt=0.1, compete_hz=1e9,
               compete_edge=0.0)
    m.alarm = alarm
    bid, ask = ours_bid * 100, min(99, ours_bid + gap) * 100
    top_bid, top_ask = m.tops(view, (bid, ask))
    assert 100 <= top_bid < top_ask <= PRICE_SCALE - 100
    assert top_bid < ask or top_bid <= round(view * PRICE_SCALE / 100) * 100
    assert top_ask > bid or top_ask >= round(view * PRICE_SCALE / 100) * 100


@given(seed=st.integers(0, 10_000), truth=st.floats(0.05, 0.95))
def test_taker_draws_are_on_the_grid_and_inside_their_bounds(seed: int, truth: float) -> None:
    t = Takers(streams(str(seed)).takers, tick=100, min_size=500, noise_rate_hz=30,
               noise_size=20 * C, noise_sigma=1.5, noise_cap=40, informed_rate_hz=10,
               informed_size=60 * C, informed_edge=0.01)
    for buy, size in t.noise(1.0):
        assert isinstance(buy, bool) and 500 <= size <= 40 * 20 * C
    got = t.informed(1.0, truth)
    if got is not None:
        buy_limit, sell_limit, size = got
        assert buy_limit % 100 == 0 and sell_limit % 100 == 0 and size == 60 * C
        assert buy_limit <= (truth - 0.01) * PRICE_SCALE + 0.5  # the truth in whole pips
        assert sell_limit >= (truth + 0.01) * PRICE_SCALE - 0.5


# --- the venue simulator trades the same model -------------------------------------------


def _sim(**flow: float) -> tuple[Engine, SimFlow]:
    market = SimMarket(condition_id="c", yes_token="y", no_token="n", tick=100, min_size=500,
                       start_probability=0.5)
    engine = Engine([market], clock_ms=lambda: 0, id_seed=1)
    cfg = SimFlowConfig(volatility=0.0, jump_probability=0.0, noise_rate_hz=0.0,
                        informed_rate_hz=0.0, maker_half_spread=0.04, maker_levels=3,
                        **flow)  # type: ignore[arg-type]
    sim = SimFlow(engine, cfg, 1)
    engine.open_account("0xus", 10**12)
    return engine, sim


def _bid(engine: Engine, price: int, size: int = 10 * C) -> None:
    engine.place(OrderRequest(order_id=engine.new_id(), account="0xus", asset_id="y",
                              side="BUY", price=price, size=size, post_only=True))


def test_the_simulators_makers_overbid_our_inside_bid_within_their_edge() -> None:
    engine, sim = _sim(compete_hz=1e9, compete_edge=0.01)
    sim.step()
    assert engine.best("c") == (4600, 5400)
    _bid(engine, 4800)
    sim.step()
    assert engine.best("c")[0] == 4900, "one tick over our 0.48"
    assert any(o.account == MAKER for o in engine.books["c"].bids.levels[4900])
    engine, sim = _sim(compete_hz=0.0)
    sim.step()
    _bid(engine, 4800)
    sim.step()
    assert engine.best("c")[0] == 4800, "makers that never look leave us on top"


def test_the_simulators_makers_widen_after_an_informed_hit_and_refill_later() -> None:
    engine, sim = _sim(compete_hz=0.0, maker_pull=1.0, maker_pull_decay_s=0.0, refill_s=1.0)
    sim.step()
    model = sim.models["c"]
    sim._take(model, INFORMED, "y", 5400, engine.level_size("c", False, 5400))
    assert model.makers.alarm == 1.0, "one maker level taken by an informed trader"
    assert (False, 5400) in model.eaten
    assert model.makers.tops(0.5) == (4200, 5800), "half-spread 0.04 doubled"
    sim.step()  # the alarm decays at once (decay 0 s); the emptied 0.54 waits to refill
    assert engine.level_size("c", False, 5400) == 0
    for _ in range(10):
        sim.step()
    assert engine.level_size("c", False, 5400) > 0, "reposted after refill_s"


def test_the_simulators_default_market_fights_back_like_the_research_one() -> None:
    """[sim.flow] left at its defaults: the makers overbid a bid of ours inside theirs
    within seconds, and pull and refill with the research scenarios' parameters."""
    research = ScenarioSpec(name="x")
    sim_default = SimFlowConfig()
    for name in ("compete_hz", "compete_edge", "maker_pull", "refill_s"):
        assert getattr(sim_default, name) == getattr(research, name) > 0, name
    engine, sim = _sim()
    sim.step()
    _bid(engine, 4800)
    overbid_at = None
    for step in range(1, 301):  # 30 s at 0.1 s a step; one look every 2 s on average
        sim.step()
        if engine.best("c")[0] > 4800:
            overbid_at = step
            break
    assert overbid_at is not None, "no overbid in 30 s"
    assert engine.best("c")[0] == 4900, "one tick over our 0.48, 0.5c from their view"
