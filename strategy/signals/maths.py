"""Small numeric helpers shared by the signals: time-constant EMAs and the normal law."""

from __future__ import annotations

import math

__all__ = ["INV_SQRT_2PI", "SQRT2", "ema_weight", "norm_cdf", "norm_pdf"]

SQRT2 = math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def ema_weight(dt_s: float, tau_s: float) -> float:
    """Weight of a new observation after `dt_s` seconds for an EMA with time constant
    `tau_s`: 1 - exp(-dt / tau). Time-based, so bursts of updates do not speed it up."""
    if dt_s <= 0:
        return 0.0
    return 1.0 - math.exp(-dt_s / tau_s)


def norm_cdf(x: float) -> float:
    """Standard normal cumulative distribution N(x)."""
    return 0.5 * math.erfc(-x / SQRT2)


def norm_pdf(x: float) -> float:
    """Standard normal density phi(x)."""
    return INV_SQRT_2PI * math.exp(-0.5 * x * x)
