"""Venue numbers at the edge: decimal strings, JSON numbers or nulls, to pmm's integers.

The one bounded parser for every number a venue sends (ingest, executors, scanner), so
a number is read the same way wherever it arrives and nothing a venue sends can crash,
stall or fool us. Every function checks type, length and exponent before any Decimal or
int conversion (constant time: `millis("1e999999")` is refused in microseconds), checks
the field's range, and raises one exception, VenueDataError(field, value), which the
caller turns into a dropped and counted message (common/venue_drops.py).

Ranges: prices are exact pips, strictly inside (0, 1) for anything that trades or rests
(`price`) and within [0, 1] for marks and summaries (`price_or_bound`); sizes are
centi-contracts within [0, MAX_SIZE_CONTRACTS] (dust truncated); timestamps are
integers within [0, MAX_TIMESTAMP], or 0 when absent.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from common.errors import PriceError, VenueDataError
from common.prices import (
    MAX_NUMBER_CHARS,
    MAX_SIZE_CENTI,
    MAX_SIZE_CONTRACTS,
    PRICE_SCALE,
    decimal_from_str,
    price_from_str,
    size_from_str,
)

Num = str | int | float | None
"""A venue number: a decimal string ("0.51"), a JSON number, or null."""

WireError = VenueDataError
"""The name adapters have always caught; the same class as VenueDataError."""

MAX_TIMESTAMP = 10**13
"""Largest timestamp accepted, in the venue's unit: unix ms up to the year 2286 (seconds
and ms both fit, since callers scale seconds after reading)."""
MAX_COUNTER = 2**63 - 1
"""Largest subscription id, sequence number or other counter accepted (int64)."""
MAX_MONEY_USD = 10**9
"""Largest fee or cash amount accepted, in dollars."""
MAX_TICK_PIPS = PRICE_SCALE // 10
"""Largest tick size accepted (0.1): neither venue has ever used a coarser one."""

__all__ = [
    "MAX_SIZE_CENTI", "MAX_SIZE_CONTRACTS", "Num", "VenueDataError", "WireError", "basis_points",
    "centi", "counter", "micros", "millis", "number_text", "pips", "price_or_bound",
    "seconds_or_iso", "signed_centi", "tick_pips",
]


def number_text(value: object, field: str = "number") -> str:
    """The decimal text of a venue number, or VenueDataError if it is missing or not a number.

    Accepts str, int and float (not bool); checks length, ints' magnitude and floats'
    finiteness here, so later conversions stay cheap.
    """
    if value is None or value == "":
        raise VenueDataError(field, value, "missing")
    if isinstance(value, bool):
        raise VenueDataError(field, value, "not a number")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise VenueDataError(field, value, "not finite")
        return repr(value)
    if isinstance(value, int):
        if value.bit_length() > 93:  # 28 decimal digits
            raise VenueDataError(field, value, "out of range")
        return str(value)
    if isinstance(value, str):
        if len(value) > MAX_NUMBER_CHARS:
            raise VenueDataError(field, value, "too long")
        return value
    raise VenueDataError(field, value, "not a number")


def _exact_pips(value: Num, field: str) -> int:
    try:
        return price_from_str(number_text(value, field))
    except VenueDataError:
        raise
    except PriceError as exc:
        raise VenueDataError(field, value, str(exc)) from exc


def pips(value: Num, field: str = "price") -> int:
    """A price that trades or rests (order, fill, trade, book level), strictly inside (0, 1)."""
    result = _exact_pips(value, field)
    if not 0 < result < PRICE_SCALE:
        raise VenueDataError(field, value, "outside (0, 1)")
    return result


def price_or_bound(value: Num, field: str = "price") -> int:
    """A price that may sit on a bound (a mark, a last price, a settlement): within [0, 1]."""
    result = _exact_pips(value, field)
    if not 0 <= result <= PRICE_SCALE:
        raise VenueDataError(field, value, "outside [0, 1]")
    return result


def tick_pips(value: Num, field: str = "tick_size") -> int:
    """A tick size in pips, within [1 pip, 0.1]."""
    result = _exact_pips(value, field)
    if not 0 < result <= MAX_TICK_PIPS:
        raise VenueDataError(field, value, f"outside (0, {MAX_TICK_PIPS / PRICE_SCALE}]")
    return result


def centi(value: Num, field: str = "size") -> int:
    """A size as centi-contracts (dust truncated), within [0, MAX_SIZE_CONTRACTS]."""
    try:
        return size_from_str(number_text(value, field))
    except VenueDataError:
        raise
    except PriceError as exc:
        raise VenueDataError(field, value, str(exc)) from exc


def signed_centi(value: Num, field: str = "size") -> int:
    """A signed size (a book delta, a net position) as centi-contracts, toward zero."""
    text = number_text(value, field)
    if text.startswith("-"):
        return -centi(text[1:], field)
    return centi(text.removeprefix("+"), field)


def _decimal(value: Num, field: str, what: str) -> int:
    """The integer part of a bounded decimal (exponent checked before int())."""
    try:
        return int(decimal_from_str(number_text(value, field), what))
    except VenueDataError:
        raise
    except PriceError as exc:
        raise VenueDataError(field, value, str(exc)) from exc


def millis(value: Num, field: str = "timestamp") -> int:
    """A timestamp as an integer in the venue's unit; 0 when absent, else within the window.

    A fraction is truncated ("1700000000.5" reads as 1700000000).
    """
    if value is None or value == "":
        return 0
    result = _decimal(value, field, "timestamp")
    if not 0 <= result <= MAX_TIMESTAMP:
        raise VenueDataError(field, value, f"outside [0, {MAX_TIMESTAMP}]")
    return result


def counter(value: Num, field: str) -> int:
    """A non-negative whole number (subscription id, sequence number) within int64."""
    if isinstance(value, float) and not value.is_integer():
        raise VenueDataError(field, value, "not a whole number")
    text = number_text(value, field)
    if not text.isascii() or not text.isdigit():
        try:
            whole = decimal_from_str(text, "counter")
        except PriceError as exc:
            raise VenueDataError(field, value, str(exc)) from exc
        if whole != whole.to_integral_value():
            raise VenueDataError(field, value, "not a whole number")
        result = int(whole)
    else:
        result = int(text)
    if not 0 <= result <= MAX_COUNTER:
        raise VenueDataError(field, value, "outside [0, 2^63)")
    return result


def micros(value: Num, field: str = "fee") -> int:
    """A dollar amount as integer micro-dollars (toward zero), within [0, MAX_MONEY_USD]."""
    if value is None or value == "":
        return 0
    try:
        amount = decimal_from_str(number_text(value, field), "amount")
    except VenueDataError:
        raise
    except PriceError as exc:
        raise VenueDataError(field, value, str(exc)) from exc
    if not 0 <= amount <= MAX_MONEY_USD:
        raise VenueDataError(field, value, f"outside [0, {MAX_MONEY_USD}]")
    return int(amount.scaleb(6))


def basis_points(value: Num, field: str = "fee_rate_bps") -> int:
    """A rate in whole basis points within [0, 10,000]; 0 when absent, fractions truncated."""
    if value is None or value == "":
        return 0
    result = _decimal(value, field, "rate")
    if not 0 <= result <= 10_000:
        raise VenueDataError(field, value, "outside [0, 10000] bps")
    return result


def seconds_or_iso(value: Num, field: str) -> int:
    """A unix-seconds timestamp given as a number or as ISO-8601 text; 0 when absent.

    Polymarket documents `match_time` as unix seconds ("1672290701") but recorded
    payloads carry "2024-01-01T00:00:00Z"; both read the same, anything else is refused.
    """
    if isinstance(value, str) and "T" in value:
        if len(value) > 40:
            raise VenueDataError(field, value, "too long")
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise VenueDataError(field, value, "not ISO-8601") from exc
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        value = int(moment.timestamp())
    return millis(value, field)
