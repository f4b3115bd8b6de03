"""Venue numbers at the edge: decimal strings, JSON numbers or nulls, to pmm's integers.

Shared by every adapter that reads a venue payload (ingest and executors), so a price is
read the same way wherever it arrives. Strict on prices (exact pips inside [0, 1]),
truncating on sizes (dust below a centi-contract), forgiving on timestamps.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from common.errors import PriceError
from common.prices import PRICE_SCALE, price_from_str, size_from_str

Num = str | int | float | None
"""A venue number: a decimal string ("0.51"), a JSON number, or null."""


class WireError(PriceError):
    """A venue payload that cannot be read; the caller drops and counts it."""


def number_text(value: Num) -> str:
    """The decimal text of a venue number, or WireError if it is missing."""
    if value is None or isinstance(value, bool) or value == "":
        raise WireError(f"missing number: {value!r}")
    if isinstance(value, float):
        return repr(value)
    return str(value)


def pips(value: Num) -> int:
    """A venue price as integer pips, exactly, or WireError."""
    try:
        result = price_from_str(number_text(value))
    except PriceError as exc:
        raise WireError(str(exc)) from exc
    if not 0 <= result <= PRICE_SCALE:
        raise WireError(f"price {value!r} outside [0, 1]")
    return result


def centi(value: Num) -> int:
    """A venue size as integer centi-contracts (dust truncated), or WireError."""
    try:
        return size_from_str(number_text(value))
    except PriceError as exc:
        raise WireError(str(exc)) from exc


def millis(value: Num) -> int:
    """A venue timestamp as an integer (unix ms); 0 when absent or not a number."""
    if value is None or isinstance(value, bool) or value == "":
        return 0
    try:
        return int(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return 0
