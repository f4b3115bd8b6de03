"""Prometheus export of the signals: one call per sent ladder from the quoter actor.

Recorded only when a ladder is sent (not on every step) and only with signals on, so the
hot path pays for it at the requote rate. Labels are bounded: market ids from config,
signal names and the five actions are fixed strings.
"""

from __future__ import annotations

import math

from common import metrics
from strategy.model import Decision

__all__ = ["record"]


def record(market: str, decision: Decision) -> None:
    """Export a sent decision's action and every signal's reading."""
    if not decision.signals:
        return
    metrics.QUOTE_ACTION.labels(market=market, action=decision.action).inc()
    for r in decision.signals:
        metrics.SIGNAL_ACTIVE.labels(market=market, signal=r.name).set(1.0 if r.active else 0.0)
        if math.isfinite(r.value):
            metrics.SIGNAL_VALUE.labels(market=market, signal=r.name).set(r.value)
