"""The closed-loop synthetic market (research/flow.py): takers sweep our orders with the
makers', our fills consume liquidity, the makers overbid us, pull on toxicity and refill."""

from __future__ import annotations

from msgspec.structs import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.config import QuotingConfig
from common.messages import Level
from research import runner, scenarios
from research.backtest import Backtester, BacktestParams, MarketSetup
from research.flow import Flow, ScenarioSpec

SPEC = ScenarioSpec(name="unit", maker_half_spread=0.03, maker_size=150.0, maker_levels=5,
                    compete_hz=0.0, maker_pull=1.0, refill_s=2.0)
M = SPEC.market
C = 100  # centi-contracts per contract


def venue(spec: ScenarioSpec = SPEC) -> tuple[Backtester, Flow]:
    """A paper venue holding only the orders a test puts there (the engine never runs: no
    book reaches the backtester) and a market trading against it."""
    bt = Backtester([MarketSetup(market=M, quoting=QuotingConfig())], BacktestParams())
    return bt, Flow(spec, 1, bt.own(M))


def our_fills(bt: Backtester) -> int:
    return sum(f.size for f in bt.runs[M].fills)


def test_a_taker_fills_our_better_price_first_and_takes_only_the_rest_from_the_makers() -> None:
    bt, flow = venue()
    flow.asks, flow.bids = {5300: 150 * C}, {4700: 150 * C}
    bt.venue.apply_ladder(M, (), (Level(5200, 10 * C),))
    prints = flow._take(0, True, 25 * C, None)
    assert [(t.price, t.size) for t in prints] == [(5200, 10 * C), (5300, 15 * C)]
    assert our_fills(bt) == 10 * C
    assert flow.asks[5300] == 135 * C, "what filled us did not also come out of the makers"


def test_at_our_price_the_makers_ahead_of_us_fill_first() -> None:
    bt, flow = venue()
    flow.asks, flow.bids = {5300: 150 * C}, {4700: 150 * C}
    bt.venue.on_book(0, M, (Level(4700, 150 * C),), (Level(5300, 150 * C),))
    bt.venue.apply_ladder(M, (), (Level(5300, 10 * C),))  # joins behind 150 contracts
    flow._take(0, True, 140 * C, None)
    assert our_fills(bt) == 0 and flow.asks[5300] == 10 * C
    prints = flow._take(0, True, 30 * C, None)
    assert our_fills(bt) == 10 * C
    assert [(t.price, t.size) for t in prints] == [(5300, 20 * C)]
    assert 5300 not in {p for p, sz in flow.asks.items() if sz > 0}


def test_makers_that_left_since_our_queue_was_measured_are_not_traded_as_phantoms() -> None:
    bt, flow = venue()
    bt.venue.on_book(0, M, (Level(4700, 150 * C),), (Level(5300, 150 * C),))
    bt.venue.apply_ladder(M, (), (Level(5300, 10 * C),))  # 150 contracts ahead of us
    flow.asks, flow.bids = {5300: 20 * C}, {4700: 150 * C}  # the makers pulled to 20
    prints = flow._take(0, True, 100 * C, None)
    assert prints[0].price == 5300 and prints[0].size == 30 * C, "20 theirs, then our 10"
    assert our_fills(bt) == 10 * C
    assert sum(t.size for t in prints if t.price == 5300) == 30 * C


def test_makers_that_look_overbid_our_inside_quote_within_their_edge() -> None:
    bt, flow = venue(replace(SPEC, compete_hz=1e9, compete_edge=0.01))
    bt.venue.apply_ladder(M, (Level(4800, 10 * C),), (Level(5600, 10 * C),))
    flow._make(0, 0.5)
    assert max(flow.bids) == 4900, "one tick over our 0.48 bid"
    assert min(flow.asks) == 5300, "our 0.56 ask is outside theirs: left alone"
    bt.venue.apply_ladder(M, (Level(4900, 10 * C),), (Level(5600, 10 * C),))
    flow._make(0, 0.5)
    assert max(flow.bids) == 4900, "0.50 would leave less than their 0.01 edge: they join"


def test_makers_never_overbid_into_our_other_side_nor_when_they_do_not_look() -> None:
    bt, flow = venue(replace(SPEC, compete_hz=1e9, compete_edge=0.0))
    bt.venue.apply_ladder(M, (Level(4800, 10 * C),), (Level(4900, 10 * C),))
    flow._make(0, 0.5)
    assert max(flow.bids) == 4800, "a tick over our bid is our ask: they join instead"
    bt, flow = venue(replace(SPEC, compete_hz=0.0))
    bt.venue.apply_ladder(M, (Level(4800, 10 * C),), ())
    flow._make(0, 0.5)
    assert max(flow.bids) == 4700


def test_an_informed_hit_widens_the_makers_and_an_eaten_level_refills_over_time() -> None:
    _, flow = venue()
    flow._make(0, 0.5)
    assert (max(flow.bids), min(flow.asks)) == (4700, 5300)
    flow._take(0, True, 100 * C, 5300, informed=True)
    assert flow.makers.alarm == SPEC.maker_pull
    assert flow.asks[5300] == 50 * C
    flow._make(0, 0.5)  # half-spread 0.03 * 2: 0.44 / 0.56
    assert (max(flow.bids), min(flow.asks)) == (4400, 5600)

    _, flow = venue()
    flow._make(0, 0.5)
    flow._take(0, True, 100 * C, 5300)  # noise: no alarm
    assert flow.makers.alarm == 0.0
    flow._make(0, 0.5)
    per_step = 150 * C * 100 // 2000  # 150 contracts over refill_s = 2 s, 100 ms steps
    assert flow.asks[5300] == 50 * C + per_step


def test_makers_whose_view_moved_past_our_stale_ask_take_it_and_it_prints() -> None:
    bt, flow = venue()
    bt.venue.apply_ladder(M, (Level(4500, 10 * C),), (Level(5200, 10 * C),))
    assert flow._make(0, 0.5) == [], "their 0.47 bid is below our 0.52 ask"
    prints = flow._make(0, 0.56)  # their view moved: top bid 0.53 over our ask
    assert [(t.price, t.size, t.side) for t in prints] == [(5200, 10 * C, "BUY")]
    assert our_fills(bt) == 10 * C
    assert max(flow.bids) == 5300, "they rest their bid after taking us"


class NoOrders:
    """An OwnBook with nothing resting (a stand-in for one interface, in one unit test)."""

    def at(self, ts_ns: int) -> None:
        pass

    def best(self, yes_bid: bool) -> int | None:
        return None

    def size_at(self, yes_bid: bool, price: int) -> int:
        return 0

    def trade(self, ts_ns: int, price: int, size: int, aggressor_buy: bool, makers: int) -> int:
        raise AssertionError("nothing of ours to trade with")


@settings(max_examples=10, deadline=None)
@given(name=st.sampled_from(sorted(scenarios.SCENARIOS)), seed=st.integers(0, 10_000))
def test_with_nothing_of_ours_resting_the_closed_loop_is_the_open_loop(name: str,
                                                                       seed: int) -> None:
    spec = scenarios.spec(name, duration_s=20.0)
    open_ = [(t.ts_ns, t.msg, t.true_price) for t in Flow(spec, seed)]
    closed = [(t.ts_ns, t.msg, t.true_price) for t in Flow(spec, seed, NoOrders())]
    assert open_ == closed


def test_in_the_closed_loop_a_quote_inside_the_makers_does_not_own_the_flow() -> None:
    def fills(closed: bool) -> int:
        result = runner.run_scenario("calm", 1, overrides={"model": "symmetric", "spread": 0.01},
                                     scenario_overrides={"duration_s": 120.0,
                                                         "maker_half_spread": 0.02},
                                     closed_loop=closed)
        return len(result.markets[M].fills)

    open_, closed = fills(False), fills(True)
    assert closed < open_ / 2, (closed, open_)


def test_the_underlying_scenario_publishes_its_reference_first_and_in_step_with_the_truth(
        ) -> None:
    """Ten readings a second, each before that step's trades and book, at the price
    `underlying` gives the truth of the same moment; no other scenario has a reference."""
    from common.messages import ReferencePrice
    from research.flow import REFERENCE_FEED, TRUE_MAX, TRUE_MIN, underlying

    spec = scenarios.spec("underlying", duration_s=10.0)
    ticks = list(scenarios.generate(spec, 5))
    refs = [(i, t) for i, t in enumerate(ticks) if isinstance(t.msg, ReferencePrice)]
    assert len(refs) == 100
    for i, t in refs:
        assert isinstance(t.msg, ReferencePrice) and t.msg.feed == REFERENCE_FEED
        assert t.msg.price == pytest.approx(underlying(t.true_price / 10_000, spec.reference_scale))
        assert all(u.ts_ns >= t.ts_ns for u in ticks[i:]) and (i == 0 or ticks[i - 1].ts_ns < t.ts_ns)
    assert underlying((TRUE_MIN + TRUE_MAX) / 2, 0.05) == 100_000.0
    assert underlying(0.9, 0.05) > underlying(0.6, 0.05) > underlying(0.3, 0.05)
    assert scenarios.reference_of(spec) == REFERENCE_FEED
    calm = scenarios.spec("calm", duration_s=10.0)
    assert scenarios.reference_of(calm) == ""
    assert not any(isinstance(t.msg, ReferencePrice) for t in scenarios.generate(calm, 5))


def test_a_written_underlying_scenario_keeps_its_reference(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Backtested from its recording, the market still has its feed: lead-lag reads it."""
    runner.write_scenario("underlying", 2, tmp_path, {"duration_s": 120.0})
    from_data = runner.run_data(tmp_path, params=BacktestParams(signals="config"))
    direct = runner.run_scenario("underlying", 2, params=BacktestParams(signals="config"),
                                 scenario_overrides={"duration_s": 120.0}, closed_loop=False)
    for result in (from_data, direct):
        (run,) = result.markets.values()
        assert run.setup.info.reference == "underlying" and run.reference is not None
