"""Order-arrival intensity from the market's own trades, pure (issue 17).

Avellaneda-Stoikov prices a quote at distance delta from the mid by the rate market orders
reach it, lambda(delta) = A * exp(-k * delta). `k` is estimated here the way hftbacktest's
GLFT example calibrates it: count the trades that reach each depth from the mid, divide
by the time watched, and fit a line to log lambda against depth.

Depths are buckets of half-odd ticks (0.5, 1.5, ... ticks from the mid): a trade at the
touch of a one-tick market reaches the first, one three ticks out the first three. The
counts and the time decay with `window_s`, so the estimate follows the market. `k` is
None (the caller falls back to `order_intensity`) until at least `MIN_TRADES` trades have
reached two depths, or when the fit does not decay with depth.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from strategy.model import IntensityState

__all__ = ["BUCKETS", "MIN_TRADES", "k_per_dollar", "update"]

BUCKETS = 10
MIN_TRADES = 3.0
"""Decayed trade count a depth needs to enter the fit."""


def update(state: IntensityState, trade_prices: Iterable[int], mid: float, tick: int,
           now_ns: int, window_s: float) -> IntensityState:
    """Fold the trades since the last update (pips) at `now_ns` into the estimator."""
    if state.last_ns == 0:
        return IntensityState(last_ns=now_ns, counts=(0.0,) * BUCKETS)
    dt = max(0.0, (now_ns - state.last_ns) / 1e9)
    keep = math.exp(-dt / window_s) if window_s > 0 else 1.0
    counts = [c * keep for c in state.counts]
    for price in trade_prices:
        reached = int(abs(price - mid) / tick + 0.5 + 1e-9)  # depth in ticks, rounded
        for i in range(min(reached, BUCKETS)):
            counts[i] += 1.0
    return IntensityState(last_ns=now_ns, seconds=state.seconds * keep + dt,
                          counts=tuple(counts))


def k_per_dollar(state: IntensityState, tick: int) -> float | None:
    """The fitted decay k (per dollar of distance), or None without enough trades."""
    if state.seconds <= 0:
        return None
    points = [((i + 0.5) * tick / 10_000, math.log(c / state.seconds))
              for i, c in enumerate(state.counts) if c >= MIN_TRADES]
    if len(points) < 2:
        return None
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    slope = sum((x - mx) * (y - my) for x, y in points) / sxx
    return -slope if slope < 0 else None
