"""Hostile venue payloads for property and fuzz tests: well-formed messages, bad values.

A message is drawn from what the venue really sends, then a few of its fields are
swapped for values from a corpus of hostile ones (non-finite and huge numbers, exponents that would stall
int(), non-ASCII digits, wrong JSON types). `timed` runs one parse and returns its CPU
time, so a property can assert that no message is slow as well as that none crashes.
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

from hypothesis import strategies as st

from common.prices import MAX_SIZE_CENTI, PRICE_SCALE

T = TypeVar("T")

HOSTILE_TEXTS = [
    "inf", "-inf", "Infinity", "nan", "NaN", "sNaN", "1e999999", "-1e999999", "1e-999999",
    "1E+999999999", "1_0", "\u0663", "0x10", " 0.5", "0.5 ", "", "1e30", "-0.5", "1.5", "0", "1",
    "0.00001", "9" * 40, "1" + "0" * 5000, "0." + "0" * 27 + "1", "--1", "+", ".", "e5", "0e",
]
"""Text that Decimal(), float() or int() accept, choke on, or take seconds over."""

HOSTILE_TEXT = st.sampled_from(HOSTILE_TEXTS)
HOSTILE: st.SearchStrategy[Any] = st.one_of(
    HOSTILE_TEXT, HOSTILE_TEXT, HOSTILE_TEXT, HOSTILE_TEXT,  # the values that broke us, weighted
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.sampled_from([10**400, -(10**400), 2**64, -1]),
    st.text(max_size=12),
    st.none(),
    st.booleans(),
    st.lists(st.integers(0, 3), max_size=2),
    st.dictionaries(st.sampled_from(["a", "price"]), st.integers(0, 3), max_size=1),
)
"""A value of any JSON type, mostly numbers and number-like text that must be refused."""


def prices() -> st.SearchStrategy[str]:
    return st.integers(1, PRICE_SCALE - 1).map(lambda p: format(p / PRICE_SCALE, ".4f"))


def sizes() -> st.SearchStrategy[str]:
    return st.integers(0, 10**7).map(lambda c: format(c / 100, ".2f"))


def timestamps_ms() -> st.SearchStrategy[str]:
    return st.integers(1_600_000_000_000, 1_900_000_000_000).map(str)


@st.composite
def _corrupted(draw: st.DrawFn, good: st.SearchStrategy[dict[str, Any]], most: int) -> Any:
    msg = dict(draw(good))
    for key in draw(st.lists(st.sampled_from(sorted(msg)), max_size=most, unique=True)):
        msg[key] = draw(HOSTILE)
    return msg


def message(most: int = 2, **fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A message with every field good, then up to `most` fields swapped for hostile values
    (so most messages get past the schema and the bad number reaches the parser)."""
    return _corrupted(st.fixed_dictionaries(fields), most)


def frame(message: st.SearchStrategy[Any]) -> st.SearchStrategy[str]:
    """A JSON frame of one message or a list of them (big ints survive, as in JSON)."""
    return st.one_of(message, st.lists(message, min_size=1, max_size=3)).map(json.dumps)


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    """Run `fn` once; return its result and the CPU seconds it took (GC held off)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.thread_time()
        result = fn()
        return result, time.thread_time() - start
    finally:
        if enabled:
            gc.enable()


def sane_price(pips: int) -> bool:
    return 0 < pips < PRICE_SCALE


def sane_size(centi: int) -> bool:
    return 0 <= centi <= MAX_SIZE_CENTI
