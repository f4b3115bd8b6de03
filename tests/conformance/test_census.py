"""The field census: every field an adapter reads is one the venue defines.

Reads are collected mechanically (census_reads.py), mapped to their message type
(census_map.py) and checked against the venues' own field sets (census_official.py).
A read of a field the venue does not send fails with its file, line, field and message
type. Known divergences in files owned elsewhere are strict xfails: fixing the adapter
turns them red, and the entry below goes.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conformance import census_map
from tests.conformance.census_official import Official, kalshi_dump, schema_messages
from tests.conformance.census_reads import ROOT, Read, all_reads, source_reads

READS = all_reads()

KNOWN_DIVERGENCES: dict[tuple[str, str, str], str] = {}
"""(file, scope, field) -> why: reads the census flags, reported, fixed by their owners."""


@pytest.fixture(scope="module")
def official() -> Official:
    return Official(kalshi_dump(), schema_messages())


def _message_of(read: Read) -> census_map.MessageType | None:
    return census_map.MESSAGE_OF.get((read.path, read.scope, read.receiver))


def _is_venue_read(read: Read) -> bool:
    return (read.path, read.scope, read.receiver) not in census_map.NOT_VENUE


def _cases() -> Iterator[object]:
    seen: set[tuple[str, str, str, str]] = set()
    for read in READS:
        ident = (read.path, read.scope, read.receiver, read.key)
        if not _is_venue_read(read) or ident in seen:
            continue
        seen.add(ident)
        why = KNOWN_DIVERGENCES.get((read.path, read.scope, read.key))
        marks = [pytest.mark.xfail(strict=True, reason=why)] if why else []
        yield pytest.param(read, id=f"{read.path}:{read.scope}:{read.receiver}:{read.key}",
                           marks=marks)


def test_census_finds_reads_of_both_venues_and_both_kinds() -> None:
    paths = {r.path for r in READS}
    assert any("kalshi" in p for p in paths) and any("polymarket" in p for p in paths)
    assert any(r.receiver == "struct" for r in READS)
    assert {"get", "subscript", "in"} <= {_kind(r) for r in READS}


def _kind(read: Read) -> str:
    text = (ROOT / read.path).read_text().splitlines()[read.line - 1]
    if read.receiver == "struct":
        return "struct"
    if f'.get("{read.key}"' in text:
        return "get"
    if f'["{read.key}"]' in text:
        return "subscript"
    return "in"


def test_collector_sees_a_new_read() -> None:
    """A read added to an adapter shows up without editing the census."""
    rel = "services/ingest/kalshi_grid.py"
    source = (ROOT / rel).read_text()
    assert not any(r.key == "brand_new_field" for r in source_reads(source, rel))
    added = source + '\n\ndef _x(m):\n    return m.get("brand_new_field") or m["other"]\n'
    keys = {(r.scope, r.receiver, r.key) for r in source_reads(added, rel)}
    assert {("_x", "m", "brand_new_field"), ("_x", "m", "other")} <= keys


def test_a_field_the_venue_lacks_is_flagged(official: Official) -> None:
    """The check can fail: the simulator-only order-group fields are not Kalshi's."""
    group = official.fields("kalshi:GET /portfolio/order_groups/{order_group_id}")
    assert "is_auto_cancel_enabled" in group
    assert "status" not in group and "triggered_ts_ms" not in group
    assert official.fields("kalshi:DELETE /portfolio/events/orders") == frozenset()


def test_every_adapter_read_is_mapped_or_allowed() -> None:
    unmapped = sorted({f"{r.path}:{r.line} {r.scope} reads {r.receiver}[{r.key!r}]"
                       for r in READS if _is_venue_read(r) and _message_of(r) is None})
    assert not unmapped, (
        "adapter reads with no message type: name it in tests/conformance/census_map.py "
        "MESSAGE_OF (or NOT_VENUE with the reason, if it is not a venue message):\n  "
        + "\n  ".join(unmapped))


def test_mapping_has_no_stale_entries() -> None:
    live = {(r.path, r.scope, r.receiver) for r in READS}
    stale = sorted((set(census_map.MESSAGE_OF) | set(census_map.NOT_VENUE)) - live)
    assert not stale, f"census_map entries that match no read any more: {stale}"


def test_every_mapped_message_type_resolves(official: Official) -> None:
    for value in census_map.MESSAGE_OF.values():
        for name in (value,) if isinstance(value, str) else value:
            official.fields(name)  # raises CensusError on an unknown name


@pytest.mark.parametrize("read", list(_cases()))
def test_field_is_defined_by_the_venue(read: Read, official: Official) -> None:
    message = _message_of(read)
    if message is None:
        pytest.fail(f"{read.where()}: no message type (see test_every_adapter_read_is_mapped)")
    names = (message,) if isinstance(message, str) else message
    if any(read.key in official.fields(n) for n in names):
        return
    sources = "; ".join(f"{n}: {official.describe(n)}" for n in names)
    pytest.fail(f"{read.path}:{read.line} reads field {read.key!r} of {' | '.join(names)}, "
                f"which the venue does not define ({sources})", pytrace=False)
