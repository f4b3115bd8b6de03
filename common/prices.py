"""Exact prices and sizes.

Prices are integers in pips (1/10,000 of a dollar), sizes are integers in
centi-contracts (1/100 of a contract), money is integer micro-dollars
(pips x centi-contracts = 1e-6 USD). Floats appear only in strategy maths and
at the venue edge, where the helpers below convert with decimal arithmetic.
"""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from typing import NewType

from common.errors import PriceError

__all__ = ["Centi", "MAX_ADJUSTED_EXPONENT", "MAX_NUMBER_CHARS", "MAX_SIZE_CENTI",
    "MAX_SIZE_CONTRACTS", "MONEY_SCALE", "Micros", "ONE_DOLLAR", "PRICE_SCALE", "Pips",
    "SIZE_SCALE", "clamp_price", "complement", "decimal_from_str", "money_to_float",
    "notional", "on_grid", "price_from_float", "price_from_str", "price_to_float",
    "price_to_str", "size_from_float", "size_from_str", "size_to_float", "size_to_str",
    "snap_down", "snap_up", "valid_price"]

PRICE_SCALE = 10_000
"""Pips per dollar: 1 pip = $0.0001, the finest tick on either venue."""
SIZE_SCALE = 100
"""Centi-contracts per contract: both venues trade in 0.01 lots at most."""
MONEY_SCALE = PRICE_SCALE * SIZE_SCALE
"""Micro-dollars per dollar: price (pips) x size (centi) lands here exactly."""

ONE_DOLLAR = PRICE_SCALE
"""The payout of a winning binary contract, in pips."""

Pips = NewType("Pips", int)
Centi = NewType("Centi", int)
Micros = NewType("Micros", int)


MAX_SIZE_CONTRACTS = 10**9
"""The largest size pmm reads or writes: $1bn of payout, far beyond any venue's book."""
MAX_SIZE_CENTI = MAX_SIZE_CONTRACTS * SIZE_SCALE

MAX_NUMBER_CHARS = 28
"""Longest decimal text accepted: at most 28 digits, which the default decimal context
(precision 28) holds exactly, so scaling and comparing never round."""
MAX_ADJUSTED_EXPONENT = 28
"""Bound on a number's decimal exponent, checked before any conversion to int: int() of
"1e999999" takes tens of seconds, int() of anything within this bound takes nanoseconds."""

_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,6})?")
"""Plain ASCII decimals only: no inf/nan, no underscores, no spaces, no non-ASCII digits
(all of which Decimal() would otherwise accept)."""


def decimal_from_str(text: str, what: str) -> Decimal:
    """Parse a plain decimal in constant time, or PriceError ("not a decimal <what>").

    Length, alphabet and exponent are checked before the value is used, so the result is
    finite, exact and small enough for any integer conversion.
    """
    if not isinstance(text, str) or len(text) > MAX_NUMBER_CHARS or not _DECIMAL.fullmatch(text):
        shown = text[:MAX_NUMBER_CHARS] if isinstance(text, str) else type(text).__name__
        raise PriceError(f"not a decimal {what}: {shown!r}")
    value = Decimal(text)
    if value and not -MAX_ADJUSTED_EXPONENT <= value.adjusted() <= MAX_ADJUSTED_EXPONENT:
        raise PriceError(f"{what} {text!r} is out of range")
    return value


def price_from_str(text: str) -> int:
    """Convert a venue decimal string such as "0.51" to pips, exactly or not at all."""
    value = decimal_from_str(text, "price") * PRICE_SCALE
    if value != value.to_integral_value():
        raise PriceError(f"price {text!r} is finer than 1/{PRICE_SCALE}")
    return int(value)


def size_from_str(text: str) -> int:
    """Convert a venue decimal size such as "25.0" to centi-contracts, truncating dust.

    Refuses negative sizes and sizes above MAX_SIZE_CONTRACTS.
    """
    value = decimal_from_str(text, "size")
    if value < 0 or value > MAX_SIZE_CONTRACTS:
        raise PriceError(f"size {text!r} is not within [0, {MAX_SIZE_CONTRACTS}]")
    return int((value * SIZE_SCALE).to_integral_value(rounding=ROUND_DOWN))


def price_to_str(pips: int) -> str:
    """Render pips as the shortest exact decimal string ("0.5", "0.51", "0.001")."""
    text = format(Decimal(pips) / PRICE_SCALE, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def size_to_str(centi: int) -> str:
    """Render centi-contracts as a two-place decimal string ("25.00")."""
    return format(Decimal(centi) / SIZE_SCALE, ".2f")


def price_to_float(pips: int) -> float:
    return pips / PRICE_SCALE


def size_to_float(centi: int) -> float:
    return centi / SIZE_SCALE


def money_to_float(micros: int) -> float:
    return micros / MONEY_SCALE


def price_from_float(value: float) -> int:
    """Round a float price to the nearest pip (used only on strategy output)."""
    return int(Decimal(repr(value)).scaleb(4).to_integral_value(rounding=ROUND_HALF_EVEN))


def size_from_float(value: float) -> int:
    return int(Decimal(repr(value)).scaleb(2).to_integral_value(rounding=ROUND_DOWN))


def snap_down(pips: int, tick: int) -> int:
    """Largest multiple of tick at or below pips."""
    return (pips // tick) * tick


def snap_up(pips: int, tick: int) -> int:
    """Smallest multiple of tick at or above pips."""
    return -((-pips) // tick) * tick


def on_grid(pips: int, tick: int) -> bool:
    return pips % tick == 0


def valid_price(pips: int, tick: int) -> bool:
    """True if pips lies on the tick grid strictly inside (0, 1)."""
    return tick <= pips <= ONE_DOLLAR - tick and pips % tick == 0


def clamp_price(pips: int, tick: int) -> int:
    """Clamp into [tick, 1 - tick]; the argument must already be on the grid."""
    return max(tick, min(ONE_DOLLAR - tick, pips))


def complement(pips: int) -> int:
    """YES at p is NO at 1 - p."""
    return ONE_DOLLAR - pips


def notional(pips: int, centi: int) -> int:
    """Dollar value of size at price, in micro-dollars, exactly."""
    return pips * centi
