"""Fixture provenance: every venue payload under tests/fixtures names its source.

A payload with no official source is `synthetic` and is not proof of a shape, so each
test module that asserts a venue's wire shape must also use at least one official one.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
FIXTURES = TESTS / "fixtures"
KINDS = frozenset({"official-docs", "official-sdk-test", "spec", "synthetic"})
WIRE_SHAPE_TESTS = ("unit/test_ingest_wire.py", "unit/test_executor_polymarket.py")
"""Test modules that assert a venue's wire shape (parsers of websocket and REST payloads)."""


def _entries() -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = tomllib.loads((FIXTURES / "PROVENANCE.toml").read_text())
    return data


def _payloads() -> set[str]:
    return {str(p.relative_to(FIXTURES)) for p in FIXTURES.rglob("*")
            if p.is_file() and p.name not in ("PROVENANCE.toml", "README.md")}


def test_every_fixture_has_an_entry() -> None:
    missing = sorted(_payloads() - set(_entries()))
    assert not missing, f"fixtures with no entry in tests/fixtures/PROVENANCE.toml: {missing}"


def test_every_entry_names_an_existing_file() -> None:
    stale = sorted(set(_entries()) - _payloads())
    assert not stale, f"PROVENANCE.toml entries whose file is gone: {stale}"


@pytest.mark.parametrize("name", sorted(_entries()))
def test_entry_has_a_valid_kind_and_a_source(name: str) -> None:
    entry = _entries()[name]
    assert entry.get("kind") in KINDS, f"{name}: kind {entry.get('kind')!r} not in {sorted(KINDS)}"
    assert entry.get("source"), f"{name}: no source"
    if entry["kind"] != "synthetic":
        assert re.match(r"https://|[\w.-]+/[\w.-]+", entry["source"]), (
            f"{name}: an official fixture names a URL or a repository path")


def fixtures_used(test_module: Path) -> set[str]:
    """Fixture file names a test module mentions (string literals ending in .json)."""
    return set(re.findall(r"[\"']([\w./-]+\.json)[\"']", test_module.read_text()))


def _official_names() -> set[str]:
    return {Path(n).name for n, e in _entries().items() if e["kind"] != "synthetic"}


def test_the_check_sees_a_module_with_only_synthetic_fixtures(tmp_path: Path) -> None:
    module = tmp_path / "test_x.py"
    module.write_text('load("ws_book_snapshot.json")\nload("http_trades_page.json")\n')
    used = fixtures_used(module)
    assert used == {"ws_book_snapshot.json", "http_trades_page.json"}
    assert not used & _official_names()


@pytest.mark.parametrize("module", WIRE_SHAPE_TESTS)
def test_wire_shape_tests_use_an_official_fixture(module: str) -> None:
    used = fixtures_used(TESTS / module)
    assert used, f"{module} uses no fixture files any more: update WIRE_SHAPE_TESTS"
    assert used & _official_names(), (
        f"{module} asserts wire shapes from synthetic fixtures only ({sorted(used)}): "
        "add an official one (docs / SDK test data / spec) and name it in PROVENANCE.toml")
