"""Fair value estimators, pure: a book (and trade history, and EMA state) in, pips out.

Every method returns float pips, or None when the book cannot support a fair value (one
side empty, or crossed/locked): quoting on such a book would be guessing. The result is
clamped into [best bid, best ask]: a fair value outside the touch would only make one
side cross and be pushed behind the book.

- mid_price: (best bid + best ask) / 2.
- weighted_mid: mean of the size-weighted prices of the top `WEIGHTED_DEPTH` levels of
  each side.
- microprice: top prices weighted by the opposite side's size,
  (bid * ask_size + ask * bid_size) / (bid_size + ask_size): leans to the thin side.
- vwap: size-weighted price of the recent trades (`vwap_window_ms`, at most
  `vwap_max_trades`); the weighted mid when there are none.
- ema: an exponential moving average of the mid with `alpha` per new book.
"""

from __future__ import annotations

from collections.abc import Sequence

from common.messages import Level
from strategy.model import BookLike, TradeTick

__all__ = ["METHODS", "WEIGHTED_DEPTH", "depth_contracts", "ema_update", "fair_value",
    "microprice", "mid_price", "touch", "vwap", "weighted_mid", "window_trades"]

WEIGHTED_DEPTH = 3
"""Levels per side that `weighted_mid` averages over (and `depth` sums)."""

METHODS = ("mid_price", "weighted_mid", "vwap", "ema", "microprice")


def touch(book: BookLike) -> tuple[int, int] | None:
    """(best bid, best ask) of a two-sided, uncrossed book, else None."""
    if not book.bids or not book.asks:
        return None
    bid, ask = book.bids[0].price, book.asks[0].price
    return (bid, ask) if bid < ask else None


def mid_price(book: BookLike) -> float | None:
    t = touch(book)
    return None if t is None else (t[0] + t[1]) / 2


def _weighted_side(levels: Sequence[Level]) -> float:
    top = levels[:WEIGHTED_DEPTH]
    total = sum(lv.size for lv in top)
    if total <= 0:
        return float(top[0].price)
    return sum(lv.price * lv.size for lv in top) / total


def weighted_mid(book: BookLike) -> float | None:
    t = touch(book)
    if t is None:
        return None
    return _clamp((_weighted_side(book.bids) + _weighted_side(book.asks)) / 2, t)


def microprice(book: BookLike) -> float | None:
    t = touch(book)
    if t is None:
        return None
    bid_size, ask_size = book.bids[0].size, book.asks[0].size
    total = bid_size + ask_size
    if total <= 0:
        return (t[0] + t[1]) / 2
    return (t[0] * ask_size + t[1] * bid_size) / total


def vwap(trades: Sequence[TradeTick]) -> float | None:
    """Size-weighted price of `trades` (already windowed), or None without volume."""
    volume = sum(tr.size for tr in trades)
    if volume <= 0:
        return None
    return sum(tr.price * tr.size for tr in trades) / volume


def ema_update(prev: float | None, value: float, alpha: float) -> float:
    """One EMA step: alpha * value + (1 - alpha) * prev (the first value seeds it)."""
    return value if prev is None else alpha * value + (1 - alpha) * prev


def window_trades(
    trades: Sequence[TradeTick], now_ns: int, window_ms: int, max_trades: int
) -> tuple[TradeTick, ...]:
    """The trades inside the window ending at `now_ns`, newest `max_trades` at most."""
    start = now_ns - window_ms * 1_000_000
    kept = [tr for tr in trades if tr.ts_ns >= start]
    return tuple(kept[-max_trades:])


def fair_value(
    book: BookLike,
    method: str,
    *,
    trades: Sequence[TradeTick] = (),
    ema: float | None = None,
) -> float | None:
    """Fair value in float pips by `method` (see the module docstring), or None.

    `trades` must already be windowed (`window_trades`); `ema` is the engine's current EMA
    (updated with this book by the caller); both fall back to the weighted mid when empty.
    """
    t = touch(book)
    if t is None:
        return None
    if method == "mid_price":
        return (t[0] + t[1]) / 2
    if method == "microprice":
        return microprice(book)
    if method == "vwap":
        v = vwap(trades)
        if v is not None:
            return _clamp(v, t)
    elif method == "ema" and ema is not None:
        return _clamp(ema, t)
    return weighted_mid(book)


def depth_contracts(book: BookLike) -> float:
    """Liquidity: the thinner side's size over its top `WEIGHTED_DEPTH` levels, contracts."""
    bid = sum(lv.size for lv in book.bids[:WEIGHTED_DEPTH])
    ask = sum(lv.size for lv in book.asks[:WEIGHTED_DEPTH])
    return min(bid, ask) / 100


def _clamp(value: float, t: tuple[int, int]) -> float:
    return min(max(value, float(t[0])), float(t[1]))
