"""Book imbalance: depth imbalance in the top levels nudges fair value.

    imbalance = (bid depth - ask depth) / (bid depth + ask depth)      top `levels` each side

Outside the `deadzone` the fair value moves towards the heavy side's direction of travel
(a thick bid, thin ask: the next trade more likely lifts the ask) by

    shift = weight * imbalance * (best ask - best bid) / 2            pips

so at full imbalance and weight 0.5 it moves half-way to the touch. Stateless.
"""

from __future__ import annotations

from common.signal_config import BookImbalanceConfig
from strategy.model import BookLike
from strategy.signals.types import NONE, Effect, SignalReading

__all__ = ["effect", "imbalance"]


def imbalance(book: BookLike, levels: int) -> float:
    """Depth imbalance in [-1, 1] over the top `levels` of each side (0 for an empty book)."""
    bid = sum(lv.size for lv in book.bids[:levels])
    ask = sum(lv.size for lv in book.asks[:levels])
    total = bid + ask
    return 0.0 if total <= 0 else (bid - ask) / total


def effect(book: BookLike, cfg: BookImbalanceConfig) -> tuple[Effect, SignalReading]:
    if not book.bids or not book.asks:
        return NONE, SignalReading("book_imbalance", 0.0, False)
    imb = imbalance(book, cfg.levels)
    if abs(imb) < cfg.deadzone or imb == 0:
        return NONE, SignalReading("book_imbalance", imb, False)
    half = (book.asks[0].price - book.bids[0].price) / 2
    shift = cfg.weight * imb * half
    return Effect(fv_shift=shift), SignalReading("book_imbalance", imb, True, f"nudge {shift:+.0f}")
