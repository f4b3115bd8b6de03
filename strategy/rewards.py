"""The venues' liquidity rewards, pure: which orders score, and our share of the pool.

Kalshi's Liquidity Incentive Program (help.kalshi.com/incentive-programs/liquidity-
incentive-program; the parameters from GET /incentive_programs, kalshi-python-sync
`IncentiveProgram`): every second a snapshot scores each resting order that helps reach
the market's target size from the best price, by size times a distance multiplier (1 at
the best price, the discount factor per cent further away, our reading of "reduced
based on the Discount Factor"); the period's pool is paid by share of the summed scores
(`KalshiProgramme`, `estimate_kalshi`; an order's share of a level is pro rata, as the
help page says nothing of queue order).

Polymarket:

The venue's published methodology (docs.polymarket.com/market-makers/liquidity-rewards,
a copy of dYdX's liquidity-provider rewards), per one-minute sample:

    S(v, s) = ((v - s) / v)^2 * b        v: max spread (cents), s: the order's distance from
                                         the size-cutoff-adjusted midpoint, b: multiplier (1)
    Q_one   = sum of S * size over the orders on the YES-bid side of the unified book
              (bids on YES, asks on NO); Q_two the same on the YES-ask side
    Q_min   = max(min(Q_one, Q_two), max(Q_one / c, Q_two / c))   mid in [0.10, 0.90]
              min(Q_one, Q_two)                                   otherwise; c = 3.0
    share   = Q_min / (sum of every maker's Q_min); the day's pool is paid by share.

Orders under the market's min size do not score, nor do orders at or past the max spread.
Our readings where the page is not explicit: the size-cutoff-adjusted midpoint is the
mean of the first bid and the first ask price at which the book's depth from the touch
reaches the min size; and the makers we compete with are counted as one (their depth in
the book less ours), which overstates their Q_min (a minimum of sums is at least the sum
of the minimums) and so understates our share. Prices are pips, sizes centi-contracts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from msgspec import Struct

from common.messages import Level
from common.prices import snap_down, snap_up
from common.reward_programmes import KalshiProgramme, Programme

__all__ = [
    "DOUBLE_SIDED_HIGH", "DOUBLE_SIDED_LOW", "Estimate", "KalshiProgramme", "Programme",
    "SINGLE_SIDED_DIVISOR", "adjusted_mid", "estimate", "estimate_kalshi", "order_score",
    "q_min", "reach", "side_score",
]

SINGLE_SIDED_DIVISOR = 3.0
"""`c`: a one-sided maker scores a third of its side while the mid is in [0.10, 0.90]."""
DOUBLE_SIDED_LOW, DOUBLE_SIDED_HIGH = 1_000, 9_000
"""Outside this mid range (pips) only two-sided quotes score."""

Levels = Sequence[tuple[int, int]]
"""(price pips, size centi-contracts), best first."""


class Estimate(Struct, frozen=True, kw_only=True):
    """Our standing in one market's pool at one moment."""

    mid: int | None
    """The adjusted midpoint (None: the book is too thin to have one; nothing scores)."""
    scoring_levels: int
    """Our levels within the max spread and at or above the min size."""
    ours: float
    """Our Q_min."""
    total: float
    """Everyone's Q_min, ours included."""
    usd_per_day: float
    """The pool times our share, were the book to stay as it is all day."""

    @property
    def share(self) -> float:
        return self.ours / self.total if self.total > 0 else 0.0


def order_score(distance: int, size: int, programme: Programme) -> float:
    """S(v, s) * size for one order `distance` pips from the adjusted mid (0 if it does not
    qualify)."""
    v = programme.max_spread
    if size < programme.min_size or size <= 0 or v <= 0 or not 0 <= distance < v:
        return 0.0
    return ((v - distance) / v) ** 2 * size


def side_score(levels: Iterable[tuple[int, int]], mid: int, programme: Programme) -> float:
    """Q of one side of the unified book: every level's score at its distance from `mid`."""
    return sum(order_score(abs(price - mid), size, programme) for price, size in levels)


def q_min(q_one: float, q_two: float, mid: int) -> float:
    """Q_min: the weaker side, or a third of the stronger one where one-sided quotes count."""
    if DOUBLE_SIDED_LOW <= mid <= DOUBLE_SIDED_HIGH:
        return max(min(q_one, q_two), max(q_one, q_two) / SINGLE_SIDED_DIVISOR)
    return min(q_one, q_two)


def _cutoff_price(levels: Levels, min_size: int) -> int | None:
    depth = 0
    for price, size in levels:
        depth += size
        if depth >= max(min_size, 1):
            return price
    return None


def adjusted_mid(bids: Levels, asks: Levels, min_size: int) -> int | None:
    """The size-cutoff-adjusted midpoint (pips), or None when a side has too little depth."""
    bid, ask = _cutoff_price(bids, min_size), _cutoff_price(asks, min_size)
    if bid is None or ask is None:
        return None
    return (bid + ask) // 2


def _less(levels: Levels, ours: Levels) -> list[tuple[int, int]]:
    mine: dict[int, int] = {}
    for price, size in ours:
        mine[price] = mine.get(price, 0) + size
    return [(p, s - mine.get(p, 0)) for p, s in levels if s - mine.get(p, 0) > 0]


def estimate(programme: Programme, *, book_bids: Levels, book_asks: Levels, our_bids: Levels,
             our_asks: Levels) -> Estimate:
    """Our Q_min against the book's (which shows our orders too) and what it earns a day.

    All in YES terms: our BUY NO orders are asks at the complement.
    """
    mid = adjusted_mid(book_bids, book_asks, programme.min_size)
    if mid is None:
        return Estimate(mid=None, scoring_levels=0, ours=0.0, total=0.0, usd_per_day=0.0)
    scoring = sum(1 for p, s in (*our_bids, *our_asks) if order_score(abs(p - mid), s, programme))
    ours = q_min(side_score(our_bids, mid, programme), side_score(our_asks, mid, programme), mid)
    theirs = q_min(side_score(_less(book_bids, our_bids), mid, programme),
                   side_score(_less(book_asks, our_asks), mid, programme), mid)
    total = ours + theirs
    usd = programme.daily_usd * ours / total if total > 0 else 0.0
    return Estimate(mid=mid, scoring_levels=scoring, ours=ours, total=total, usd_per_day=usd)


def _kalshi_side(book: Levels, ours: dict[int, int],
                 prog: KalshiProgramme) -> tuple[float, float, set[int]]:
    """(our score, everyone's, our qualifying prices) on one side of the book, best first."""
    if not book:
        return 0.0, 0.0, set()
    best, depth = book[0][0], 0
    mine = total = 0.0
    prices: set[int] = set()
    for price, size in book:
        if depth >= prog.target_size:
            break
        if size <= 0:
            continue
        counted = min(size, prog.target_size - depth)
        depth += size
        cents = abs(best - price) // 100
        weight = prog.discount ** cents if cents else 1.0
        total += weight * counted
        if ours.get(price):
            mine += weight * counted * min(1.0, ours[price] / size)
            if weight > 0:
                prices.add(price)
    return mine, total, prices


def estimate_kalshi(prog: KalshiProgramme, *, book_bids: Levels, book_asks: Levels,
                    our_bids: Levels, our_asks: Levels) -> tuple[Estimate, set[int], set[int]]:
    """Our share of the pool on the current book (which shows our orders), and the prices
    of our bids and asks that score."""
    ours_b: dict[int, int] = {}
    ours_a: dict[int, int] = {}
    for levels, into in ((our_bids, ours_b), (our_asks, ours_a)):
        for price, size in levels:
            into[price] = into.get(price, 0) + size
    mb, tb, pb = _kalshi_side(book_bids, ours_b, prog)
    ma, ta, pa = _kalshi_side(book_asks, ours_a, prog)
    ours, total = mb + ma, tb + ta
    usd = prog.daily_usd * ours / total if total > 0 else 0.0
    mid = (book_bids[0][0] + book_asks[0][0]) // 2 if book_bids and book_asks else None
    scoring = sum(1 for p, _ in our_bids if p in pb) + sum(1 for p, _ in our_asks if p in pa)
    return (Estimate(mid=mid, scoring_levels=scoring, ours=ours, total=total, usd_per_day=usd),
            pb, pa)


def _reach_side(levels: tuple[Level, ...], prog: Programme, mid: int, *, target: int,
                limit: int, reach: int, room: int, bid: bool) -> tuple[Level, ...]:
    """One side of `reach`: the best level moved to `target` (the nearest grid price inside
    the band) and raised to the min size, if that is what stands between it and scoring."""
    if not levels or any(order_score(abs(lv.price - mid), lv.size, prog) for lv in levels):
        return levels
    best = levels[0]
    price = max(best.price, target) if bid else min(best.price, target)
    if abs(price - best.price) > reach or (price >= limit if bid else price <= limit):
        return levels  # too far to reach, or it would cross the book
    size = max(best.size, prog.min_size)
    if sum(lv.size for lv in levels) - best.size + size > room:
        return levels  # inventory or risk leave no room for a scoring size
    if not order_score(abs(price - mid), size, prog):
        return levels
    return (Level(price=price, size=size), *levels[1:])


def reach(bids: tuple[Level, ...], asks: tuple[Level, ...], prog: Programme | KalshiProgramme,
          *, book_bids: Levels, book_asks: Levels, tick: int, reach_pips: int, bid_room: int,
          ask_room: int, bid_max: int | None = None,
          ask_min: int | None = None) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
    """A ladder (YES terms, best first) whose side does not score moved into the reward
    band, by at most `reach_pips`; its best level raised to the min size where the side's
    room (inventory, stop-adding) allows. A moved bid stays below the book's best ask and
    our own ask, and at or below `bid_max` (the engine's reservation less its minimum
    half-spread, so a reward never undoes the inventory skew); an ask mirrors it. A side
    that already scores, or that the engine emptied (pulled by a signal, no room), is left
    alone. Kalshi's programme pays depth near the best price, which is where a side already
    quotes when it can: it is left alone too."""
    if not isinstance(prog, Programme) or reach_pips <= 0:
        return bids, asks
    mid = adjusted_mid(book_bids, book_asks, prog.min_size)
    if mid is None or not book_bids or not book_asks:
        return bids, asks
    v = prog.max_spread
    ask_floor = max(book_bids[0][0], bids[0].price if bids else 0,
                    ask_min - 1 if ask_min is not None else 0)
    new_asks = _reach_side(asks, prog, mid, target=snap_down(mid + v - 1, tick),
                           limit=ask_floor, reach=reach_pips, room=ask_room, bid=False)
    bid_ceiling = min(book_asks[0][0], new_asks[0].price if new_asks else 10**6,
                      bid_max + 1 if bid_max is not None else 10**6)
    new_bids = _reach_side(bids, prog, mid, target=snap_up(mid - v + 1, tick),
                           limit=bid_ceiling, reach=reach_pips, room=bid_room, bid=True)
    return new_bids, new_asks
