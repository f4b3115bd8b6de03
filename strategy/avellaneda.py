"""Avellaneda-Stoikov (2008) closed forms, pure, in dollars, contracts and seconds.

    r      = s - q * gamma * sigma^2 * tau                         reservation price
    delta  = gamma * sigma^2 * tau + (2 / gamma) * ln(1 + gamma / k)   optimal total spread
    bid    = r - delta / 2,  ask = r + delta / 2

s mid/fair value ($), q inventory (the engine passes net / size: inventory in clips of
`size`, so gamma does not depend on the clip size), gamma risk aversion (`gamma`), sigma
volatility in $ per sqrt(second) (estimated online, `volatility.py`), tau = T - t in
seconds with T the market's resolution time (capped at `horizon_s`; `horizon_s` when the
resolution time is unknown), k the order-arrival decay per $ (estimated from the market's
trades, `intensity.py`; `order_intensity` until there are enough of them).

A binary's price is bounded: whatever its volatility, the variance of its price between now
and resolution is p * (1 - p) (it ends at 0 or 1, and it is a martingale). The paper's
sigma^2 * tau, the variance of an unbounded price over tau, is capped there (`bounded_tau`),
so a long horizon or a volatile spell cannot price inventory risk past what the market
can move.
"""

from __future__ import annotations

import math

__all__ = ["bounded_tau", "optimal_spread", "quotes", "reservation_price", "tau_seconds"]


def reservation_price(s: float, q: float, gamma: float, sigma: float, tau: float) -> float:
    """r = s - q * gamma * sigma^2 * tau."""
    return s - q * gamma * sigma * sigma * max(0.0, tau)


def optimal_spread(gamma: float, sigma: float, tau: float, k: float) -> float:
    """delta = gamma * sigma^2 * tau + (2 / gamma) * ln(1 + gamma / k)."""
    return gamma * sigma * sigma * max(0.0, tau) + (2.0 / gamma) * math.log1p(gamma / k)


def quotes(
    s: float, q: float, gamma: float, sigma: float, tau: float, k: float
) -> tuple[float, float]:
    """(bid, ask) = r -/+ delta / 2, in dollars, before any tick snapping."""
    r = reservation_price(s, q, gamma, sigma, tau)
    half = optimal_spread(gamma, sigma, tau, k) / 2
    return r - half, r + half


def tau_seconds(resolves_at_ns: int | None, now_ns: int, horizon_s: float) -> float:
    """T - t in seconds: time to resolution capped at `horizon_s` (horizon when unknown)."""
    if resolves_at_ns is None:
        return horizon_s
    return max(0.0, min(horizon_s, (resolves_at_ns - now_ns) / 1e9))


def bounded_tau(tau: float, sigma: float, p: float) -> float:
    """tau, shortened so that sigma^2 * tau is at most p * (1 - p) (module docstring)."""
    var, cap = sigma * sigma, max(0.0, p * (1 - p))
    if var * tau <= cap:  # also every sigma too small to square
        return tau
    return cap / var
