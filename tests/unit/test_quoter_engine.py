"""Requoting, resolution handling, Avellaneda-Stoikov and the actor's reconfigure."""

from __future__ import annotations

import math
from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.config import Config, MarketConfig, QuotingConfig, StackConfig
from common.errors import ConfigError
from common.messages import BookSnapshot, Level
from services.quoter.actor import Quoter
from strategy import avellaneda, intensity
from strategy.engine import commit_unsent, step
from strategy.model import Book, EngineInputs, EngineState, IntensityState, Ladder, MarketInfo
from strategy.requote import ladder_changed, requote

TICK = 100
FLAT = Book(tick=TICK, bids=(Level(4900, 10_000),), asks=(Level(5100, 10_000),))
T0 = 1_800_000_000 * 10**9
S = 10**9


def cfg(**overrides: object) -> QuotingConfig:
    return msgspec.structs.replace(QuotingConfig(), **overrides)


# --- requoting -------------------------------------------------------------------------------


def test_ladder_changed_threshold() -> None:
    old = Ladder(fair_value=5000, bids=(Level(4800, 100),), asks=(Level(5200, 100),))
    assert ladder_changed(None, old, 100)
    assert not ladder_changed(old, old, 100)
    nudged = Ladder(fair_value=5000, bids=(Level(4750, 100),), asks=(Level(5200, 100),))
    assert not ladder_changed(old, nudged, 100)
    assert ladder_changed(old, nudged, 0)
    moved = Ladder(fair_value=5000, bids=(Level(4700, 100),), asks=(Level(5200, 100),))
    assert ladder_changed(old, moved, 100)
    resized = Ladder(fair_value=5000, bids=(Level(4800, 90),), asks=(Level(5200, 100),))
    assert ladder_changed(old, resized, 100)
    assert ladder_changed(old, Ladder(fair_value=5000), 100)
    exiting = msgspec.structs.replace(old, exit_asks=(Level(4900, 100),))
    assert ladder_changed(old, exiting, 100)


def test_requote_reasons() -> None:
    p = cfg(threshold=0.01, max_quote_age_ms=30_000)
    lad = Ladder(fair_value=5000, bids=(Level(4800, 100),), asks=(Level(5200, 100),))
    assert requote(None, 0, lad, T0, p) == (True, "first")
    assert requote(lad, T0, lad, T0 + S, p) == (False, "within_threshold")
    assert requote(lad, T0, lad, T0 + 30 * S, p) == (True, "max_age")
    moved = Ladder(fair_value=5000, bids=(Level(4700, 100),), asks=(Level(5200, 100),))
    assert requote(lad, T0, moved, T0 + S, p) == (True, "changed")
    assert requote(lad, T0, lad, T0 + S, p, timer=True) == (True, "timer")


def test_engine_skips_within_threshold_and_refreshes_past_max_age() -> None:
    p = cfg(threshold=0.02, max_quote_age_ms=10_000, vol_mult=0.0)
    state, d = step(EngineState(), EngineInputs(book=FLAT), p, MarketInfo(), T0)
    assert d.send and d.reason == "first" and state.last_sent == d.ladder
    # The book moves one tick: the ladder moves 1c, inside the 2c threshold.
    up = Book(tick=TICK, bids=(Level(5000, 10_000),), asks=(Level(5200, 10_000),))
    state2, d2 = step(state, EngineInputs(book=up), p, MarketInfo(), T0 + S)
    assert not d2.send and d2.reason == "within_threshold"
    assert state2.last_sent == state.last_sent and state2.last_sent_ns == T0
    # A timer step past max age sends the (unchanged) ladder again.
    state3, d3 = step(state2, EngineInputs(book=up, new_book=False), p, MarketInfo(), T0 + 11 * S)
    assert d3.send and d3.reason == "max_age" and state3.last_sent_ns == T0 + 11 * S
    # A stale feed pulls the quotes at once.
    _, d4 = step(state3, EngineInputs(book=up, stale=True), p, MarketInfo(), T0 + 12 * S)
    assert d4.send and d4.reason == "stale" and d4.ladder.bids == () == d4.ladder.asks


def test_commit_unsent_keeps_estimators_but_not_the_send() -> None:
    old, _ = step(EngineState(), EngineInputs(book=FLAT), cfg(), MarketInfo(), T0)
    up = Book(tick=TICK, bids=(Level(5900, 10_000),), asks=(Level(6100, 10_000),))
    new, d = step(old, EngineInputs(book=up), cfg(), MarketInfo(), T0 + S)
    assert d.send
    kept = commit_unsent(new, old)
    assert kept.last_sent == old.last_sent and kept.vol == new.vol and kept.fv_ema == new.fv_ema


def test_step_is_deterministic() -> None:
    inputs = EngineInputs(book=FLAT, net_centi=3000)
    assert step(EngineState(), inputs, cfg(), MarketInfo(), T0) == step(
        EngineState(), inputs, cfg(), MarketInfo(), T0
    )


# --- approaching resolution ------------------------------------------------------------------


def test_stop_adding_inside_the_window() -> None:
    p = cfg(stop_adding_window_s=3600, exit_window_s=0)
    soon = MarketInfo(resolves_at_ns=T0 + 1800 * S)
    later = MarketInfo(resolves_at_ns=T0 + 7200 * S)
    _, d = step(EngineState(), EngineInputs(book=FLAT), p, later, T0)
    assert d.bids and d.asks
    _, flat = step(EngineState(), EngineInputs(book=FLAT), p, soon, T0)
    assert flat.bids == () and flat.asks == ()
    _, long = step(EngineState(), EngineInputs(book=FLAT, net_centi=2000), p, soon, T0)
    assert long.bids == () and [lv.size for lv in long.asks] == [2000]  # only reduce, <= net


def test_exit_orders_only_inside_the_window_and_above_threshold() -> None:
    p = cfg(exit_window_s=600, exit_threshold=0.2)  # threshold: 100 contracts of 500
    deep = Book(tick=TICK, bids=(Level(4900, 5_000), Level(4800, 50_000)),
                asks=(Level(5100, 10_000),))
    closing = MarketInfo(resolves_at_ns=T0 + 300 * S)
    _, d = step(EngineState(), EngineInputs(book=deep, net_centi=20_000), p, closing, T0)
    assert d.ladder.exit_asks == (Level(4900, 5_000), Level(4800, 5_000)) and not d.ladder.exit_bids
    _, under = step(EngineState(), EngineInputs(book=deep, net_centi=9_000), p, closing, T0)
    assert under.ladder.exit_asks == ()
    far = MarketInfo(resolves_at_ns=T0 + 3600 * S)
    _, early = step(EngineState(), EngineInputs(book=deep, net_centi=20_000), p, far, T0)
    assert early.ladder.exit_asks == ()
    _, short = step(EngineState(), EngineInputs(book=deep, net_centi=-20_000), p, closing, T0)
    assert short.ladder.exit_bids == (Level(5100, 10_000),)


def test_market_config_resolves_at_forms() -> None:
    iso = MarketConfig(id="a", venue="kalshi", venue_market="A", resolves_at="2027-01-15T08:00:00Z")
    unix = MarketConfig(id="a", venue="kalshi", venue_market="A", resolves_at=1_800_000_000)
    assert iso.resolves_at_ns == 1_800_000_000 * S
    assert unix.resolves_at_ns == 1_800_000_000 * S
    assert MarketConfig(id="a", venue="kalshi", venue_market="A").resolves_at_ns is None


# --- Avellaneda-Stoikov ----------------------------------------------------------------------

# (s, q, gamma, sigma, tau, k) -> (r, delta), expected values written out by hand:
# r = s - q*g*sig^2*tau ; delta = g*sig^2*tau + (2/g)*ln(1 + g/k)
AS_TABLE = [
    ((0.50, 0.0, 0.1, 0.01, 3600.0, 100.0), (0.50, 0.1 * 1e-4 * 3600 + 20 * math.log(1.001))),
    ((0.50, 2.0, 0.1, 0.01, 3600.0, 100.0), (0.50 - 2 * 0.036, 0.036 + 20 * math.log(1.001))),
    ((0.30, -1.0, 0.5, 0.002, 1000.0, 50.0), (0.30 + 0.5 * 4e-6 * 1000, 0.002 + 4 * math.log(1.01))),
    ((0.90, 5.0, 1.0, 0.0, 500.0, 10.0), (0.90, 2 * math.log(1.1))),
    ((0.10, 1.0, 0.2, 0.05, 0.0, 20.0), (0.10, 10 * math.log(1.01))),
]


@pytest.mark.parametrize(("args", "expected"), AS_TABLE)
def test_avellaneda_stoikov_closed_form(
    args: tuple[float, ...], expected: tuple[float, float]
) -> None:
    s, q, g, sig, tau, k = args
    assert avellaneda.reservation_price(s, q, g, sig, tau) == pytest.approx(expected[0], abs=1e-12)
    assert avellaneda.optimal_spread(g, sig, tau, k) == pytest.approx(expected[1], rel=1e-12)
    bid, ask = avellaneda.quotes(s, q, g, sig, tau, k)
    assert bid == pytest.approx(expected[0] - expected[1] / 2)
    assert ask == pytest.approx(expected[0] + expected[1] / 2)


def test_avellaneda_tau_from_resolution_time() -> None:
    assert avellaneda.tau_seconds(None, T0, 3600) == 3600
    assert avellaneda.tau_seconds(T0 + 100 * S, T0, 3600) == 100
    assert avellaneda.tau_seconds(T0 + 10**6 * S, T0, 3600) == 3600
    assert avellaneda.tau_seconds(T0 - S, T0, 3600) == 0


@given(tau=st.floats(0, 1e7), sigma=st.floats(0, 1), p=st.floats(0.001, 0.999))
def test_avellaneda_variance_to_the_horizon_never_exceeds_a_binarys(
        tau: float, sigma: float, p: float) -> None:
    bounded = avellaneda.bounded_tau(tau, sigma, p)
    assert 0 <= bounded <= tau
    assert sigma * sigma * bounded <= p * (1 - p) * (1 + 1e-9)
    if sigma * sigma * tau <= p * (1 - p):
        assert bounded == tau


def test_intensity_fit_recovers_the_decay_of_trade_depths() -> None:
    """Trades whose distance from the mid is exponential with rate k (per dollar) reach
    depth d with probability exp(-k d): the fit reads k back."""
    import random

    rng = random.Random(3)
    state = intensity.update(IntensityState(), (), 5000.0, 100, T0, 900.0)
    assert intensity.k_per_dollar(state, 100) is None, "no trades yet: the config's k"
    k = 150.0
    for i in range(1, 601):
        depths = [rng.expovariate(k) for _ in range(rng.randint(0, 4))]
        prices = [5000 + round(d * 10_000) * (1 if rng.random() < 0.5 else -1) for d in depths]
        state = intensity.update(state, prices, 5000.0, 100, T0 + i * S, 900.0)
    fitted = intensity.k_per_dollar(state, 100)
    assert fitted is not None and 120 < fitted < 180, fitted
    flat = IntensityState(last_ns=T0, seconds=100.0, counts=(50.0, 50.0, 50.0) + (0.0,) * 7)
    assert intensity.k_per_dollar(flat, 100) is None, "no decay with depth: no estimate"
    later = intensity.update(state, (), 5000.0, 100, T0 + 100_000 * S, 900.0)
    assert intensity.k_per_dollar(later, 100) is None, "old trades are forgotten"


def test_avellaneda_engine_skews_with_inventory_and_volatility() -> None:
    p = cfg(model="avellaneda_stoikov", gamma=1.0, order_intensity=50.0, horizon_s=60)
    state = EngineState()
    for i in range(10):  # a 1c oscillation every second
        b = FLAT if i % 2 else Book(tick=TICK, bids=(Level(5000, 10_000),), asks=(Level(5200, 10_000),))
        state, _ = step(state, EngineInputs(book=b), p, MarketInfo(), T0 + i * S)
    _, flat = step(state, EngineInputs(book=FLAT, new_book=False), p, MarketInfo(), T0 + 10 * S)
    _, long = step(state, EngineInputs(book=FLAT, new_book=False, net_centi=10_000), p,
                   MarketInfo(), T0 + 10 * S)
    assert flat.model == "avellaneda_stoikov"
    assert long.reservation < flat.reservation  # long: reservation below fair
    assert long.bids[0].price < flat.bids[0].price


# --- the actor's reconfigure ------------------------------------------------------------------


def test_reconfigure_swaps_parameters_and_keeps_estimators(tmp_path: Path) -> None:
    markets = [MarketConfig(id="m0", venue="kalshi", venue_market="M0")]
    cfg0 = Config(
        stack=StackConfig(run_dir=str(tmp_path)), markets=markets, quoting=cfg(vol_mult=0.0)
    )
    clock = [T0]
    quoter = Quoter(cfg0, 0, 1, wall_ns=lambda: clock[0])
    st = quoter.markets["m0"]
    for i, bid in enumerate((4900, 5000, 4900)):
        clock[0] = T0 + i * S
        quoter.on_book(BookSnapshot(
            venue="kalshi", market="m0", seq=i + 1, ts_recv_ns=1, ts_venue_ms=1, tick=TICK,
            bids=(Level(bid, 10_000),), asks=(Level(bid + 200, 10_000),),
        ))
        stepped = quoter.decide(st, clock[0])
        assert stepped is not None
        st.engine = stepped[0]
    before = st.engine
    assert before.vol.n == 3 and before.fv_ema is not None
    wider = msgspec.structs.replace(cfg0, quoting=cfg(vol_mult=0.0, spread=0.05))
    assert quoter.reconfigure(wider) == ["m0"]
    assert st.engine is before and st.quoting.spread == 0.05 and st.dirty
    stepped = quoter.decide(st, T0 + 3 * S)
    assert stepped is not None
    new_state, decision = stepped
    assert decision.half_spread == 500 and decision.send and decision.reason == "changed"
    assert new_state.vol.n == 3  # a timer step: the estimators were kept, not reset
    assert quoter.reconfigure(wider) == []
    # the research baseline is refused live: the market keeps what it had
    baseline = msgspec.structs.replace(cfg0, quoting=cfg(vol_mult=0.0, spread=0.05,
                                                         model="symmetric"))
    assert quoter.reconfigure(baseline) == [] and st.quoting.model == "heuristic"
    with pytest.raises(ConfigError, match="research baseline"):
        Quoter(baseline, 0, 1)


def test_a_timer_step_reaffirms_the_live_ladder_and_keeps_its_age() -> None:
    """The floor re-sends the live ladder (levels still resting must not move within the
    threshold), and does not reset its age, so max_quote_age_ms still refreshes it."""
    from strategy.engine import _decide
    from strategy.model import EngineState, Ladder

    p = QuotingConfig(threshold=0.02, max_quote_age_ms=60_000)
    live = Ladder(fair_value=5000, bids=(Level(4900, 1000),), asks=(Level(5100, 1000),))
    drifted = Ladder(fair_value=5010, bids=(Level(4910, 1000),), asks=(Level(5110, 1000),))
    state = EngineState(last_sent=live, last_sent_ns=1_000)
    new_state, d = _decide(state, drifted, p, 2_000_000_000, None, ttr=None, locked=0,
                           timer=True, top=(4950, 5050))
    assert (d.send, d.reason) == (True, "timer")
    assert (d.ladder.bids, d.ladder.asks) == (live.bids, live.asks)
    assert d.ladder.fair_value == 5010
    assert new_state.last_sent_ns == 1_000
    _, quiet = _decide(state, drifted, p, 2_000_000_000, None, ttr=None, locked=0)
    assert (quiet.send, quiet.reason) == (False, "within_threshold")
    # the book moved under the live bid: re-send the fresh ladder instead of crossing
    _, moved = _decide(state, drifted, p, 2_000_000_000, None, ttr=None, locked=0,
                       timer=True, top=(4850, 4900))
    assert moved.ladder.bids == drifted.bids


# --- liquidity rewards -----------------------------------------------------------------------


def test_the_engine_reaches_into_a_reward_band_only_when_asked_and_a_signal_allows() -> None:
    """Book 0.49/0.51; quotes 3 cents from the mid (spread 0.03); a 2-cent band: with
    `reward_reach` 0.02 both best levels move to the nearest grid price inside the band,
    1 cent from the mid (joining the book's best: post-only allows it), at the min size."""
    from strategy.rewards import Programme, order_score

    prog = Programme(max_spread=200, min_size=2_000, daily_usd=100.0)
    p = cfg(spread=0.03, min_spread=0.01, vol_mult=0.0, size=10.0)
    inputs = EngineInputs(book=FLAT, reward=prog)
    _, plain = step(EngineState(), inputs, p, MarketInfo(), T0)
    assert [lv.price for lv in plain.ladder.bids] == [4700]  # 3 cents: outside a 2-cent band
    _, reached = step(EngineState(), inputs, msgspec.structs.replace(p, reward_reach=0.02),
                      MarketInfo(), T0)
    (bid,), (ask,) = reached.ladder.bids, reached.ladder.asks
    assert (bid.price, ask.price) == (4900, 5100)  # 1 cent from the mid, joining the book
    assert bid.size == ask.size == 2_000  # 10 contracts raised to the 20 the band needs
    assert order_score(5000 - bid.price, bid.size, prog) > 0
    _, far = step(EngineState(), inputs, msgspec.structs.replace(p, reward_reach=0.01),
                  MarketInfo(), T0)
    assert far.ladder.bids == plain.ladder.bids  # 0.47 -> 0.49 is 2 cents: past a 1-cent reach
    _, none = step(EngineState(), EngineInputs(book=FLAT), msgspec.structs.replace(
        p, reward_reach=0.02), MarketInfo(), T0)
    assert none.ladder == plain.ladder  # no programme: nothing moves
    # never closer to the reservation than min_spread: with 0.02 the band is out of reach
    _, capped = step(EngineState(), inputs, msgspec.structs.replace(
        p, reward_reach=0.02, min_spread=0.02), MarketInfo(), T0)
    assert capped.ladder.bids == plain.ladder.bids
