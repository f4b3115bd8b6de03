"""Liquidity rewards in a backtest: our share of a scenario's pool, interval by interval.

At every sample the backtester hands over the makers' book and our paper ladder; the
interval since the last sample pays the pool's rate times our share by the venue's formula
(strategy/rewards.py) on that book with our orders merged in (the state in force since the
last event). The first sample only starts the clock; a sample at or before the previous
one (the run's last can be) is no interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from common.messages import BookSnapshot
from common.reward_programmes import AnyProgramme, KalshiProgramme
from strategy.rewards import estimate, estimate_kalshi

__all__ = ["RewardTally"]

Levels = Sequence[tuple[int, int]]


def _merged(book: Levels, ours: Levels, *, reverse: bool) -> list[tuple[int, int]]:
    """The makers' levels with ours added, best first."""
    depth = dict(book)
    for price, size in ours:
        depth[price] = depth.get(price, 0) + size
    return sorted(depth.items(), reverse=reverse)


@dataclass(slots=True)
class RewardTally:
    """What one market's rewards came to in a run."""

    earned: float = 0.0
    """Micro-dollars."""
    counted_ns: int = 0
    scoring_ns: int = 0
    """Time counted, and the part of it in which our orders scored (our Q_min > 0)."""
    last_ns: int = 0

    def accrue(self, prog: AnyProgramme | None, book: BookSnapshot | None, our_bids: Levels,
               our_asks: Levels, ts: int) -> None:
        """Pay the interval that ends at `ts` (see the module docstring)."""
        last = self.last_ns
        if ts <= last:
            return
        self.last_ns = ts
        if prog is None or book is None or last == 0:
            return
        both_b = _merged([(lv.price, lv.size) for lv in book.bids], our_bids, reverse=True)
        both_a = _merged([(lv.price, lv.size) for lv in book.asks], our_asks, reverse=False)
        if isinstance(prog, KalshiProgramme):
            est = estimate_kalshi(prog, book_bids=both_b, book_asks=both_a, our_bids=our_bids,
                                  our_asks=our_asks)[0]
        else:
            est = estimate(prog, book_bids=both_b, book_asks=both_a, our_bids=our_bids,
                           our_asks=our_asks)
        self.earned += prog.daily_usd * 1e6 * est.share * (ts - last) / 86_400e9
        self.counted_ns += ts - last
        if est.ours > 0:
            self.scoring_ns += ts - last
