"""Shared pieces of the config Structs: the strict base class and range-checked types."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta, Struct

__all__ = ["ConfigSection", "Dollars", "Fraction", "PositiveMs"]

PositiveMs = Annotated[int, Meta(gt=0, le=3_600_000)]
Dollars = Annotated[float, Meta(gt=0, le=1e9)]
Fraction = Annotated[float, Meta(ge=0, le=1)]


class ConfigSection(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One TOML table: frozen, keyword-only, and an unknown key is an error."""


