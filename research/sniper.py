"""Informed takers who look at our quotes: the part of a market that fights back (issue 17).

A scenario's stream is market data generated without us (scenarios.py): its informed
traders see only the background makers' book, so a stale quote of ours was picked off only
when theirs was stale too. A sniper closes that loop inside the backtester. They arrive at
a mean `rate_hz` (the whole part of rate x elapsed time plus one more with the remainder's
probability, seeded, as the scenarios' noise traders do), each looks at our resting orders that have rested at least its
`latency_ms` and are at or better than the book's best price on their side, and trades
`size` contracts against the one most mispriced against the true price, if that is by more
than `edge`: it sells to a bid above the truth, buys from an ask below it. The trade goes
through the same queue model as any print (it eats the queue ahead of us at our price
first) and the quoter sees it as a trade print, as it would live.

Pure and deterministic: the same scenario, seed and quotes give the same takes.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from common.fillmodel import RestingOrder
from common.prices import PRICE_SCALE, SIZE_SCALE

__all__ = ["Sniper", "SniperSpec", "Take"]


@dataclass(frozen=True, slots=True)
class SniperSpec:
    rate_hz: float
    """Looks per second of market time."""
    edge: float
    """Least mispricing against the truth (dollars) worth a trade."""
    size: float
    """Contracts per trade."""
    latency_ms: int
    """How long one of our orders rests before a sniper can reach it."""


@dataclass(frozen=True, slots=True)
class Take:
    """One sniper trade: at our order's price, `aggressor_buy` lifting an ask."""

    price: int
    size: int
    aggressor_buy: bool


class Sniper:
    """Arrivals and choices of the informed takers of one market."""

    def __init__(self, spec: SniperSpec, seed: str) -> None:
        self.spec = spec
        self.rng = random.Random(seed)
        self.last_ns: int | None = None

    def takes(self, ts_ns: int, truth: float, orders: Iterable[RestingOrder],
              placed_ns: Mapping[str, int], best_bid: int | None,
              best_ask: int | None) -> list[Take]:
        """What the snipers who arrived since the last call trade, at `ts_ns`."""
        dt = 0.0 if self.last_ns is None else (ts_ns - self.last_ns) / 1e9
        self.last_ns = ts_ns
        expected = self.spec.rate_hz * dt
        arrivals = int(expected) + (1 if self.rng.random() < expected - int(expected) else 0)
        if not arrivals:
            return []
        edge = self.spec.edge * PRICE_SCALE
        ready = ts_ns - self.spec.latency_ms * 1_000_000
        candidates: list[tuple[float, RestingOrder]] = []
        for o in orders:
            if placed_ns.get(o.order_id, ts_ns) > ready:
                continue
            if o.yes_bid and (best_bid is None or o.price >= best_bid) and o.price > truth + edge:
                candidates.append((o.price - truth, o))
            elif not o.yes_bid and (best_ask is None or o.price <= best_ask) and \
                    o.price < truth - edge:
                candidates.append((truth - o.price, o))
        if not candidates:
            return []
        size = round(self.spec.size * SIZE_SCALE)
        out = []
        for _, o in sorted(candidates, key=lambda c: -c[0])[:arrivals]:
            out.append(Take(price=o.price, size=size, aggressor_buy=not o.yes_bid))
        return out
