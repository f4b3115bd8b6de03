"""The executor's pure planner (services/executor/plan.py): what a ladder sends and in which
wave, without sockets, a venue or a clock."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.config import ExecutorConfig
from common.messages import ApprovedIntent, Level
from services.executor.caps import Caps
from services.executor.orders import DesiredOrder, LiveOrder, MarketTokens
from services.executor.plan import (
    EXIT_REPEAT_NS, Abilities, Plan, exits_due, plan_ladder, refusal, second_wave,
)
from services.executor.state import ExecutorState

M1 = MarketTokens(market="m1", venue_market="0xc1", yes_token="Y1", no_token="N1", tick=100,
                  min_size=100)
KALSHI = Abilities.of("kalshi", can_amend=True)
POLYMARKET = Abilities.of("polymarket", can_amend=False)


def ladder(bids: list[tuple[int, int]] = (), asks: list[tuple[int, int]] = (),  # type: ignore[assignment]
           *, exit_bids: list[tuple[int, int]] = (), exit_asks: list[tuple[int, int]] = (),  # type: ignore[assignment]
           risk_instance: str = "") -> ApprovedIntent:
    def lv(xs: list[tuple[int, int]]) -> tuple[Level, ...]:
        return tuple(Level(p, s) for p, s in xs)
    return ApprovedIntent(venue="polymarket", market="m1", risk_seq=1, intent_seq=1,
                          ts_recv_ns=0, ts_approved_ns=0, expires_at_ns=time.time_ns() + 10**9,
                          bids=lv(bids), asks=lv(asks), exit_bids=lv(exit_bids),
                          exit_asks=lv(exit_asks), risk_instance=risk_instance)


def live(oid: str, token: str, price: int, size: int = 1000, state: str = "live") -> LiveOrder:
    return LiveOrder(order_id=oid, market="m1", token=token, outcome="YES" if token == "Y1" else "NO",
                     side="BUY", price=price, size=size, state=state)  # type: ignore[arg-type]


def levels(plan: Plan) -> list[tuple[str, int, int]]:
    return [(d.token, d.price, d.size) for d in plan.placements]


def test_a_first_ladder_is_all_placements_in_wave_two() -> None:
    plan = plan_ladder(ladder([(4800, 1000), (4700, 1000)], [(5200, 1000)]), M1, [], POLYMARKET)
    assert levels(plan) == [("Y1", 4800, 1000), ("Y1", 4700, 1000), ("N1", 4800, 1000)]
    assert plan.cancels == () and plan.lowering == () and plan.raising == ()
    assert plan.sends == 3 and plan.invalid == ()


def test_levels_that_cannot_be_placed_are_reported_and_off_grid_ones_snapped() -> None:
    plan = plan_ladder(ladder([(4750, 1000), (4600, 50)], [(5250, 1000)]), M1, [], POLYMARKET)
    # bid 0.475 snaps down to 0.47, ask 0.525 up to 0.53 (NO at 0.47); 50 is under min_size
    assert levels(plan) == [("Y1", 4700, 1000), ("N1", 4700, 1000)]
    assert plan.invalid == (Level(4600, 50),)


def test_an_order_already_at_its_level_is_kept_and_nothing_is_sent() -> None:
    plan = plan_ladder(ladder([(4800, 1000)], [(5200, 1000)]), M1,
                       [live("a", "Y1", 4800), live("b", "N1", 4800)], KALSHI)
    assert plan == Plan()
    assert plan.sends == 0


def test_without_amends_a_moved_level_is_a_cancel_and_a_placement() -> None:
    plan = plan_ladder(ladder([(4900, 1000)]), M1, [live("a", "Y1", 4800)], POLYMARKET)
    assert plan.cancels == ("a",) and levels(plan) == [("Y1", 4900, 1000)]
    assert plan.lowering == plan.raising == ()


def test_with_amends_the_side_moving_away_goes_in_wave_one() -> None:
    """The ladder jumps up past its own spread: the NO order (the ask) moves away from the
    YES bid and goes first; the YES bid rises and waits for wave two."""
    plan = plan_ladder(ladder([(5400, 1000)], [(5800, 1000)]), M1,
                       [live("bid", "Y1", 4800), live("ask", "N1", 4800)], KALSHI)
    assert plan.cancels == () and plan.placements == ()
    assert [(a.order.order_id, a.to.price) for a in plan.lowering] == [("ask", 4200)]
    assert [(a.order.order_id, a.to.price) for a in plan.raising] == [("bid", 5400)]
    assert plan.sends == 2


def test_a_lowering_amend_onto_a_level_another_order_holds_waits_for_wave_two() -> None:
    orders = [live("hi", "Y1", 4800), live("lo", "Y1", 4700)]
    plan = plan_ladder(ladder([(4700, 1000), (4600, 1000)]), M1, orders, KALSHI)
    # diff cancels 4800 and places 4600 (4700 is kept): one amend 4800 -> 4600, free level
    assert [(a.order.order_id, a.to.price) for a in plan.lowering] == [("hi", 4600)]
    # "lo" is resized (4700 -> 4600) and "hi" moves down onto 4700, which "lo" still holds
    # until its own amend lands: "hi" waits for wave two
    plan = plan_ladder(ladder([(4700, 500), (4600, 1000)]), M1,
                       [live("hi", "Y1", 4800), live("lo", "Y1", 4700, size=2000)], KALSHI)
    assert [(a.order.order_id, a.to.price) for a in plan.lowering] == [("lo", 4600)]
    assert [(a.order.order_id, a.to.price) for a in plan.raising] == [("hi", 4700)]


def test_wave_two_leaves_a_level_still_held_by_an_order_whose_cancel_failed() -> None:
    plan = plan_ladder(ladder([(4800, 500)], [(5300, 1000)]), M1,
                       [live("a", "Y1", 4800), live("b", "N1", 4800)], POLYMARKET)
    assert set(plan.cancels) == {"a", "b"}
    # both cancels failed: "a" still rests at Y1 4800, so its resize is not placed beside it
    amends, placements = second_wave(plan, [live("a", "Y1", 4800), live("b", "N1", 4800)])
    assert amends == [] and [(d.token, d.price) for d in placements] == [("N1", 4700)]
    # both cancels went through: everything goes
    amends, placements = second_wave(plan, [])
    assert len(placements) == 2


def test_wave_two_keeps_an_amend_onto_its_own_level() -> None:
    plan = plan_ladder(ladder([(5000, 1000)]), M1, [live("a", "Y1", 4800)], KALSHI)
    (raising,) = plan.raising
    amends, _ = second_wave(plan, [live("a", "Y1", 4800)])
    assert amends == [raising]
    amends, _ = second_wave(plan, [live("a", "Y1", 4800), live("x", "Y1", 5000)])
    assert amends == []


def test_an_order_with_a_cancel_in_flight_blocks_its_level() -> None:
    plan = plan_ladder(ladder([(4800, 1000)]), M1, [live("a", "Y1", 4800, state="cancelling")],
                       POLYMARKET)
    assert plan == Plan()


def test_exits_go_once_within_the_repeat_window_as_fill_and_kill() -> None:
    intent = ladder(exit_bids=[(5300, 2000)])
    exits, invalid, memo = exits_due(intent, M1, None, 10, KALSHI)
    assert [(o.tif, o.token, o.price, o.size) for o in exits] == [("FAK", "Y1", 5300, 2000)]
    assert invalid == [] and memo == (intent.exit_bids, (), 10)
    assert exits_due(intent, M1, memo, 10 + EXIT_REPEAT_NS - 1, KALSHI) == ([], [], memo)
    again, _, later = exits_due(intent, M1, memo, 10 + EXIT_REPEAT_NS, KALSHI)
    assert len(again) == 1 and later == (intent.exit_bids, (), 10 + EXIT_REPEAT_NS)
    assert exits_due(ladder(), M1, memo, 20, KALSHI) == ([], [], None)


def test_a_marketable_exit_under_the_venue_minimum_is_not_sent() -> None:
    small = ladder(exit_bids=[(5000, 100)])  # 0.50 x 1 contract = $0.50
    exits, invalid, _ = exits_due(small, M1, None, 0, POLYMARKET)
    assert exits == [] and invalid == [Level(5000, 100)]
    exits, invalid, _ = exits_due(small, M1, None, 0, Abilities.of("kalshi", can_amend=True))
    assert len(exits) == 1 and invalid == []


CAPS = Caps.from_config(ExecutorConfig(max_order_contracts=1000, max_order_notional_usd=600,
                                       price_collar=0.2))


@pytest.mark.parametrize(("setup", "intent", "want"), [
    ("ready", ladder([(4800, 1000)]), ("", "")),
    ("killed", ladder([(4800, 1000)]), ("refused", "")),
    ("risk_unheard", ladder([(4800, 1000)]), ("refused", "")),
    ("ready", ladder([(4800, 1000)], risk_instance="old"), ("stale_risk_instance", "")),
    ("ready", ladder([(4800, 1000)], risk_instance="gate"), ("", "")),
    ("ready", ladder([(4800, 100_001)]),
     ("over_hard_cap", "bid size 1000.01 over max_order_contracts")),
])
def test_refusal_names_why_an_approved_ladder_is_not_queued(
        setup: str, intent: ApprovedIntent, want: tuple[str, str]) -> None:
    state = ExecutorState("polymarket", [M1], time.time_ns)
    state.risk_ok = state.reconciled = setup != "risk_unheard"
    state.risk_instance = "gate"
    if setup == "killed":
        state.latch_kill("m1")
    assert refusal(intent, state, CAPS) == want


prices = st.integers(1, 99).map(lambda c: c * 100)
ladders = st.lists(st.tuples(prices, st.integers(1, 30).map(lambda n: n * 100)), max_size=4)
books = st.lists(st.tuples(st.sampled_from(["Y1", "N1"]), prices,
                           st.integers(1, 30).map(lambda n: n * 100)), max_size=5)


@given(bids=ladders, asks=ladders, book=books, can_amend=st.booleans())
def test_a_plan_carried_out_in_full_rests_exactly_the_desired_levels(
        bids: list[tuple[int, int]], asks: list[tuple[int, int]],
        book: list[tuple[str, int, int]], can_amend: bool) -> None:
    """Cancels, amends and placements all applied: one order rests per desired (token, price)
    and nowhere else; an order is cancelled or amended at most once; wave one never raises."""
    orders = [live(f"o{i}", token, price, size) for i, (token, price, size) in enumerate(book)]
    intent = ladder(bids, asks)
    plan = plan_ladder(intent, M1, orders, Abilities(can_amend=can_amend))
    touched = [*plan.cancels, *(a.order.order_id for a in plan.lowering + plan.raising)]
    assert len(touched) == len(set(touched))
    assert all(a.to.price <= a.order.price for a in plan.lowering)
    resting = {o.order_id: (o.token, o.price) for o in orders}
    for oid in plan.cancels:
        del resting[oid]
    for a in plan.lowering + plan.raising:
        resting[a.order.order_id] = (a.to.token, a.to.price)
    placed: list[DesiredOrder] = list(plan.placements)
    got = sorted([*resting.values(), *((d.token, d.price) for d in placed)])
    want = plan_ladder(intent, M1, [], Abilities()).placements
    assert got == sorted((d.token, d.price) for d in want)
