"""Hedge analysis (common/hedge.py): exact micro-dollar figures on constructed books."""

from __future__ import annotations

from common.hedge import analyse, mirror

# 100 YES bought at 0.60; the book has fallen to 0.40 / 0.42.
BIDS = [(4000, 6000), (3900, 10000)]
ASKS = [(4200, 5000), (4300, 10000)]


def test_a_losing_long_yes_closes_and_hedges_for_the_same_worst_case() -> None:
    a = analyse(10_000, 6000, BIDS, ASKS)
    assert a.holding == "yes" and a.size_centi == 10_000 and a.cost_pips == 6000
    assert a.marked_pnl_micro == (4100 - 6000) * 10_000 == -19_000_000  # -$19 at the mid
    assert a.hold_worst_micro == -60_000_000 and a.hold_best_micro == 40_000_000
    # 60 at 0.40 and 40 at 0.39: $39.60 in, cost $60: -$20.40, certain.
    assert a.close_cash_micro == 4000 * 6000 + 3900 * 4000 == 39_600_000
    assert a.close_pnl_micro == -20_400_000 and a.close_unfilled_centi == 0
    # Buying 100 NO at 0.60 then 0.61 (the mirror of those bids) locks 100 pairs = $100.
    assert a.hedge_cash_micro == 6000 * 6000 + 6100 * 4000 == 60_400_000
    assert a.hedge_worst_micro == 100_000_000 - 60_400_000 - 60_000_000 == -20_400_000
    assert a.locked_centi == 10_000
    assert a.recommendation == "close"
    assert "frees the collateral" in a.reason


def test_a_cheaper_separate_complement_book_makes_the_hedge_the_recommendation() -> None:
    a = analyse(10_000, 6000, BIDS, ASKS, complement_asks=[(5900, 20_000)])
    assert a.hedge_worst_micro == 100_000_000 - 59_000_000 - 60_000_000 == -19_000_000
    assert a.recommendation == "hedge"
    assert a.reason == "hedging loses $1.40 less in the worst case"


def test_a_losing_short_holds_no_and_hedges_with_yes() -> None:
    # Sold 50 YES at 0.30 (holds 50 NO costing 0.70 each); YES now 0.40 / 0.42.
    a = analyse(-5000, 3000, BIDS, ASKS)
    assert a.holding == "no" and a.cost_pips == 7000
    assert a.marked_pnl_micro == (5900 - 7000) * 5000 == -5_500_000
    # Selling 50 NO hits YES asks mirrored: NO bid 0.58 for 50: $29 in.
    assert a.close_cash_micro == 5800 * 5000 == 29_000_000
    assert a.close_pnl_micro == 29_000_000 - 35_000_000 == -6_000_000
    # Buying 50 YES at 0.42 locks 50 pairs.
    assert a.hedge_cash_micro == 4200 * 5000 == 21_000_000
    assert a.hedge_worst_micro == 50_000_000 - 21_000_000 - 35_000_000 == -6_000_000
    assert a.hold_worst_micro == -35_000_000


def test_a_thin_book_leaves_the_rest_at_its_worst_case() -> None:
    a = analyse(10_000, 6000, [(4000, 2500)], [(4200, 100)])
    assert a.close_unfilled_centi == 7500 and a.hedge_unfilled_centi == 7500
    assert a.close_pnl_micro == 4000 * 2500 - 6000 * 10_000 == -50_000_000
    assert a.hedge_worst_micro == 2500 * 10_000 - 6000 * 2500 - 60_000_000 == -50_000_000


def test_winning_flat_and_bookless_positions_are_not_hedged() -> None:
    assert analyse(0, 0, BIDS, ASKS).recommendation == "none"
    winning = analyse(10_000, 3000, BIDS, ASKS)
    assert winning.recommendation == "hold" and winning.reason == "not losing at the mark"
    bookless = analyse(10_000, 6000, [], [], mark=0)
    assert bookless.recommendation == "hold" and "no book" in bookless.reason
    assert bookless.hold_worst_micro == -60_000_000


def test_mirror_maps_prices_to_the_other_token() -> None:
    assert mirror([(4000, 1), (3900, 2)]) == [(6000, 1), (6100, 2)]
