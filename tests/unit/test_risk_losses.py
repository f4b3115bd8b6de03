"""Risk's loss and totals maths as pure functions (services/risk/losses.py, totals.py),
without a gate or a journal."""

from __future__ import annotations

import pytest

from services.risk.losses import LOSS_HALTS, loss_breached, loss_halts, reset_due
from services.risk.position import Position
from services.risk.totals import Totals, market_exposure, market_loss, market_pnl

LONG = Position(position_yes=10_000, net=10_000, basis=40_000_000, realized=5_000, fees=1_000)
"""100 YES bought at 0.40 ($40), $0.005 realized, $0.001 fees."""


def test_market_figures_of_a_long_position() -> None:
    assert market_pnl(LONG, None) == (4_000, 0)
    assert market_pnl(LONG, 3_500) == (4_000, -5_000_000)  # marked 0.35: -$5
    assert market_exposure(LONG, 3_500) == 35_000_000
    assert market_exposure(LONG, None) == 40_000_000  # no mark: at the entry price
    assert market_loss(LONG, 3_500, base=-1_000_000) == 4_000 - 5_000_000 + 1_000_000


def test_short_exposure_counts_the_no_side() -> None:
    short = Position(position_no=10_000, net=-10_000, basis=-60_000_000)
    assert market_exposure(short, 6_000) == 10_000 * 4_000


def test_totals_move_by_the_difference() -> None:
    t = Totals()
    t.move("a", exposure=10, loss=-5, venue="kalshi")
    t.move("b", exposure=7, loss=-3, venue=None)  # not configured: no venue's loss
    t.move("a", exposure=4, loss=-8, venue="kalshi")
    assert (t.exposure_total, t.loss_total) == (11, -11)
    assert t.venue_losses == {"kalshi": -8}
    assert t.exposures == {"a": 4, "b": 7} and t.losses == {"a": -8, "b": -3}


@pytest.mark.parametrize(("pnl", "limit", "breached"), [
    (-100, 100, True), (-99, 100, False), (-10_000, 0, False), (0, 1, False),
])
def test_loss_breached(pnl: int, limit: int, breached: bool) -> None:
    assert loss_breached(pnl, limit) is breached


def _halts(**over: object) -> list[tuple[str, str]]:
    args: dict[str, object] = dict(
        market_loss=0, market_limit=100, venue_loss=0, venue_limit=0,
        venue_markets=["a", "b"], total_loss=0, total_limit=1_000,
        markets=["a", "b", "c"], halted={},
    )
    return loss_halts("a", **(args | over))  # type: ignore[arg-type]


@pytest.mark.parametrize(("over", "expected"), [
    ({}, []),
    ({"market_loss": -100}, [("a", "max_loss")]),
    ({"market_loss": -100, "market_limit": None}, []),  # not a configured market
    ({"market_loss": -100, "halted": {"a": "kill"}}, []),
    ({"venue_loss": -50, "venue_limit": 50}, [("a", "max_venue_loss"), ("b", "max_venue_loss")]),
    ({"venue_loss": -50, "venue_limit": 0}, []),  # off
    ({"market_loss": -100, "venue_loss": -50, "venue_limit": 50},
     [("a", "max_loss"), ("b", "max_venue_loss")]),
    ({"total_loss": -1_000, "halted": {"b": "max_loss"}},
     [("a", "max_total_loss"), ("c", "max_total_loss")]),
])
def test_loss_halts_name_each_market_once_in_order(
        over: dict[str, object], expected: list[tuple[str, str]]) -> None:
    assert _halts(**over) == expected


def test_reset_due_once_per_boundary() -> None:
    day = 1_780_000_000 * 1_000_000_000
    assert reset_due(day, "", 0) is None  # no daily reset configured
    boundary = reset_due(day, "00:00", 0)
    assert boundary is not None and boundary <= day
    assert reset_due(day, "00:00", boundary) is None
    assert reset_due(day + 86_400 * 1_000_000_000, "00:00", boundary) == \
        boundary + 86_400 * 1_000_000_000
    assert {"max_loss", "max_venue_loss", "max_total_loss"} == LOSS_HALTS
