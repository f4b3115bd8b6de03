"""Drop accounting at the venue edge: every unusable venue message is counted by field.

A venue parser catches `MALFORMED` around its parsing (never around our own handlers),
then calls `drop(venue, channel, exc)`: the message is dropped, counted in
pmm_venue_fields_rejected_total{venue, channel, field}, and logged at warning the first
time that field fails on that channel (at debug afterwards, so a venue spraying bad data
cannot flood the log or slow the loop). Nothing here is ever fatal.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import msgspec

from common import metrics
from common.errors import VenueDataError, short_repr

__all__ = ["MALFORMED", "drop", "field_of", "optional"]

log = logging.getLogger(__name__)

MALFORMED: tuple[type[BaseException], ...] = (
    VenueDataError,  # a bounded number parser refused a value (also a ValueError)
    msgspec.ValidationError,  # a typed decode met the wrong type or a missing field
    msgspec.DecodeError,  # not JSON at all
    UnicodeDecodeError,
    KeyError,  # a required field is absent from a dict-shaped payload
    IndexError,  # a level or tuple is shorter than the schema says
    TypeError,  # a list where a dict was expected, or the reverse
    AttributeError,  # .get on something that is not a dict
    ValueError,  # int()/str conversions of a wrong-typed field
    OverflowError,  # int() of an infinite float that slipped past a typed field
)
"""What a venue payload can make a parser raise; a parser catches exactly these."""

_LABEL = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
_PATH_KEY = re.compile(r"at `\$[^`]*?\.?([A-Za-z_][A-Za-z0-9_]*)(?:\[[^`]*\])*`")
_MISSING = re.compile(r"missing required field `([A-Za-z_][A-Za-z0-9_]*)`")

_warned: set[tuple[str, str, str]] = set()


def field_of(exc: BaseException) -> str:
    """The field a parsing error is about, as a bounded metric label.

    Names come from our parsers and schemas (VenueDataError.field, the path msgspec
    reports, the key of a KeyError), never from payload values; anything else is
    "json" (undecodable) or "schema" (a wrong shape).
    """
    name = "schema"
    if isinstance(exc, VenueDataError):
        name = exc.field
    elif isinstance(exc, msgspec.ValidationError):
        text = str(exc)
        found = _MISSING.search(text) or _PATH_KEY.search(text)
        name = found.group(1) if found else "schema"
    elif isinstance(exc, (msgspec.DecodeError, UnicodeDecodeError)):
        name = "json"
    elif isinstance(exc, KeyError) and exc.args and isinstance(exc.args[0], str):
        name = exc.args[0]
    return name if _LABEL.fullmatch(name) else "schema"


def drop(venue: str, channel: str, exc: BaseException, *, market: str = "") -> str:
    """Count one dropped venue message against its field; warn the first time; return the field."""
    field = field_of(exc)
    metrics.VENUE_FIELDS_REJECTED.labels(venue=venue, channel=channel, field=field).inc()
    key = (venue, channel, field)
    detail = exc.value if isinstance(exc, VenueDataError) else short_repr(str(exc), 120)
    if key in _warned:
        log.debug("dropped %s %s message: bad %s (%s)", venue, channel, field, detail,
                  extra={"market": market})
    else:
        _warned.add(key)
        log.warning("dropped %s %s message: bad %s (%s); further ones on this field are "
                    "only counted in pmm_venue_fields_rejected_total", venue, channel, field,
                    detail, extra={"market": market})
    return field


def optional(parse: Callable[[], int], *, venue: str, channel: str) -> int:
    """Parse a field a fill can live without (its venue time, its fee), or 0 if it is bad.

    A fill is a real trade: dropping it for an unreadable timestamp would lose a position,
    which is worse than a fill with no venue time. The bad value is still counted in
    pmm_venue_fields_rejected_total (and warned once), like a drop.
    """
    try:
        return parse()
    except VenueDataError as exc:
        field = field_of(exc)
        metrics.VENUE_FIELDS_REJECTED.labels(venue=venue, channel=channel, field=field).inc()
        if (venue, channel, field) not in _warned:
            _warned.add((venue, channel, field))
            log.warning("kept a %s %s message without its bad %s (%s); further ones are only "
                        "counted", venue, channel, field, exc.value)
        return 0
