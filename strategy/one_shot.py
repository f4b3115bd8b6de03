"""One-shot quoting: `build_ladder(book, params, net, min_size)` on a fresh engine state.

Kept for callers that want a single ladder without carrying state (the skeleton's API).
Everything else lives in the engine modules; `engine.step` is the entry point that carries
estimator state between books (ARCHITECTURE.md "Quoting engine").
"""

from __future__ import annotations

from common.config import QuotingConfig
from common.prices import SIZE_SCALE
from strategy.engine import step
from strategy.fair_value import fair_value
from strategy.model import (
    EMPTY,
    Book,
    BookLike,
    EngineInputs,
    EngineState,
    Ladder,
    MarketInfo,
    MarketLike,
)
from strategy.requote import ladder_changed

__all__ = ["EMPTY", "Book", "BookLike", "Ladder", "build_ladder", "fair_value", "ladder_changed"]


def build_ladder(
    book: BookLike,
    cfg: QuotingConfig,
    net_contracts: float,
    min_size_centi: int,
    *,
    stale: bool = False,
    market: MarketLike | None = None,
    now_ns: int = 0,
) -> Ladder:
    """The ladder a fresh engine quotes for this book and netted YES position (contracts)."""
    inputs = EngineInputs(
        book=book, net_centi=round(net_contracts * SIZE_SCALE), stale=stale,
        min_size_centi=min_size_centi,
    )
    _, decision = step(EngineState(), inputs, cfg, market or MarketInfo(), now_ns)
    return decision.ladder
