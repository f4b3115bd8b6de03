"""The base of every bus message (common/messages.py): scalar types, `Level`, `_Msg`."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct

__all__ = ["Level", "OrderSide", "Outcome", "Price", "SCHEMA_VERSION", "Seq", "Size", "Venue",
           "_Msg"]

SCHEMA_VERSION = 1

Price = Annotated[int, Meta(ge=0, le=10_000)]
Size = Annotated[int, Meta(ge=0, le=10**12)]
Seq = Annotated[int, Meta(ge=0)]
Venue = Literal["polymarket", "kalshi"]
Outcome = Literal["YES", "NO"]
OrderSide = Literal["BUY", "SELL"]


class Level(Struct, frozen=True, array_like=True):
    """One price level: price in pips, size in centi-contracts."""

    price: Price
    size: Size


class _Msg(Struct, frozen=True, tag_field="t", kw_only=True):
    """Base of every bus message. `v` is the schema version of the sender."""

    v: int = SCHEMA_VERSION
