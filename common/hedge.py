"""Hedge analysis of a position (issue 5): close it, or lock it with the complementary token.

A binary position of `n` tokens bought at `c` each can be left alone, closed (sell the
tokens into the book now), or hedged (buy `n` of the complementary token: a YES and a NO
pay exactly $1 together, so the pair locks the outcome). This module reports, for each,
the worst-case P&L at resolution, exactly, in micro-dollars (pips x centi-contracts):

- hold:  worst = -c*n (the token goes to 0); best = (1 - c)*n.
- close: walk the bids of our token; P&L = sum((p - c)*q) over the levels taken, certain.
  Size the book cannot take stays held: its worst case is added (-c per token).
- hedge: walk the asks of the complement; worst = sum((1 - c - p)*q) over the levels
  taken, certain once filled; the unfilled rest is held as above.

On one YES-terms book (what pmm's bus carries) the complement's asks are the mirror of
our token's bids (a NO ask at 1 - p is the same order as a YES bid at p), so close and
hedge cost the same to the micro-dollar and differ in cash: closing brings the proceeds
in now, hedging pays for the complement now and gets $1 a pair back at resolution (or on
merge). The recommendation is therefore the smaller worst-case loss, and on a tie
`close` (it frees the collateral); a separate complement book (Polymarket's NO token seen
on its own) can make the hedge strictly cheaper, which is why it may be passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from msgspec import Struct

from common.prices import PRICE_SCALE

__all__ = ["HedgeAnalysis", "Levels", "ONE", "Recommendation", "analyse", "mirror"]

ONE = PRICE_SCALE
Levels = Sequence[tuple[int, int]]
"""(price pips, size centi-contracts), best first."""
Recommendation = Literal["none", "hold", "close", "hedge"]


class HedgeAnalysis(Struct, frozen=True, kw_only=True):
    """Close against hedge for one position; money in micro-dollars, sizes in centi."""

    holding: Literal["yes", "no", "flat"]
    size_centi: int
    cost_pips: int
    """Average price paid per token held (YES: the net average; NO: 1 - it)."""
    marked_pnl_micro: int
    """P&L at the mark (mid), as risk reports it: what makes the position losing."""
    hold_worst_micro: int
    hold_best_micro: int
    close_pnl_micro: int
    """P&L of closing into the book now, including the worst case of what it cannot take."""
    close_unfilled_centi: int
    close_cash_micro: int
    """Cash closing brings in now."""
    hedge_worst_micro: int
    hedge_unfilled_centi: int
    hedge_cash_micro: int
    """Cash the complementary tokens cost now (paid back $1 a pair at resolution)."""
    locked_centi: int
    """Pairs the hedge locks (each pays $1 whatever happens)."""
    recommendation: Recommendation
    reason: str


def _walk(levels: Levels, size: int) -> tuple[int, int]:
    """Take up to `size` from `levels` (best first): (money micro, size filled)."""
    money = filled = 0
    for price, avail in levels:
        if filled >= size:
            break
        take = min(avail, size - filled)
        if take <= 0:
            continue
        money += price * take
        filled += take
    return money, filled


def mirror(levels: Levels) -> list[tuple[int, int]]:
    """The other token's levels on the opposite side: a price p becomes 1 - p."""
    return [(ONE - p, s) for p, s in levels]


def analyse(
    net_centi: int,
    avg_price: int,
    bids: Levels,
    asks: Levels,
    *,
    mark: int = 0,
    complement_asks: Levels | None = None,
) -> HedgeAnalysis:
    """Compare hold, close and hedge for a netted position in YES terms.

    `net_centi` > 0 holds YES at `avg_price` (pips); < 0 holds NO (sold YES at
    `avg_price`, so each NO cost 1 - avg_price). `bids`/`asks` are the YES book, best
    first. `mark` is the YES price the position is marked at (0: the mid of the book).
    `complement_asks`: asks of the complementary token in its own terms when it has a
    book of its own; by default the mirror of our token's bids.
    """
    if net_centi == 0:
        return HedgeAnalysis(
            holding="flat", size_centi=0, cost_pips=0, marked_pnl_micro=0,
            hold_worst_micro=0, hold_best_micro=0, close_pnl_micro=0, close_unfilled_centi=0,
            close_cash_micro=0, hedge_worst_micro=0, hedge_unfilled_centi=0,
            hedge_cash_micro=0, locked_centi=0, recommendation="none", reason="flat",
        )
    long_yes = net_centi > 0
    n = abs(net_centi)
    cost = avg_price if long_yes else ONE - avg_price
    # Our token's bids (where we can sell it) and the complement's asks (where we buy it).
    own_bids = list(bids) if long_yes else mirror(asks)
    comp_asks = list(complement_asks) if complement_asks is not None else mirror(own_bids)
    if not mark and bids and asks:
        mark = (bids[0][0] + asks[0][0]) // 2
    own_mark = mark if long_yes else ONE - mark
    marked = (own_mark - cost) * n if mark else 0

    hold_worst, hold_best = -cost * n, (ONE - cost) * n
    proceeds, sold = _walk(own_bids, n)
    close_pnl = proceeds - cost * sold - cost * (n - sold)
    paid, bought = _walk(comp_asks, n)
    hedge_worst = ONE * bought - paid - cost * n

    if marked >= 0 and mark:
        rec: Recommendation = "hold"
        reason = "not losing at the mark"
    elif sold == 0 and bought == 0:
        rec, reason = "hold", "no book to close or hedge into"
    elif hedge_worst > close_pnl:
        rec = "hedge"
        reason = f"hedging loses {_usd(hedge_worst - close_pnl)} less in the worst case"
    else:
        rec = "close"
        reason = ("same worst case; closing frees the collateral now" if hedge_worst == close_pnl
                  else f"closing loses {_usd(close_pnl - hedge_worst)} less in the worst case")
    return HedgeAnalysis(
        holding="yes" if long_yes else "no", size_centi=n, cost_pips=cost,
        marked_pnl_micro=marked, hold_worst_micro=hold_worst, hold_best_micro=hold_best,
        close_pnl_micro=close_pnl, close_unfilled_centi=n - sold, close_cash_micro=proceeds,
        hedge_worst_micro=hedge_worst, hedge_unfilled_centi=n - bought,
        hedge_cash_micro=paid, locked_centi=bought, recommendation=rec, reason=reason,
    )


def _usd(micro: int) -> str:
    return f"${micro / 1_000_000:,.2f}"
