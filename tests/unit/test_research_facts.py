"""Calibration: every scenario's stylised facts sit inside the published ranges it is
calibrated to (research/facts.py), and `pmm facts` says so or names the fact that is off."""

from __future__ import annotations

import json

import pytest

from research import facts, scenarios
from research.flow import ScenarioSpec
from services.control import cli


@pytest.mark.parametrize("name", sorted(scenarios.SCENARIOS))
def test_every_scenario_is_inside_its_published_ranges(name: str) -> None:
    (row,) = facts.table([name], range(1, 3), naive=False)
    assert row["kind"] in facts.PUBLISHED
    assert facts.outside(row) == []


def test_a_fact_off_its_range_is_named_with_its_source() -> None:
    row = {"scenario": "x", "kind": "liquid", "spread_c": 6.0, "trade_median_usd": 20.0,
           "taker_return_pct": -1.0}
    (line,) = facts.outside(row)
    assert line.startswith("x: spread_c 6.0 outside [1.0, 2.5]") and "Dubach" in line


def test_facts_measure_what_the_flow_is_told() -> None:
    wide = facts.facts("calm", 1, maker_half_spread=0.05, duration_s=120.0)
    assert 9.0 <= wide["spread_c"] <= 11.5
    no_informed = facts.facts("calm", 1, informed_rate_hz=0.0, duration_s=120.0)
    assert no_informed["informed_share"] == 0.0
    assert no_informed["taker_return_pct"] < 0, "noise takers pay the spread"
    small = facts.facts("calm", 1, noise_size=5.0, informed_rate_hz=0.0, duration_s=300.0)
    assert small["trade_median"] < ScenarioSpec(name="x").noise_size / 2


def test_pmm_facts_prints_the_rows_and_exits_1_when_a_fact_is_off(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(scenarios.SCENARIOS, "calm", scenarios.spec("calm", duration_s=120.0))
    assert cli.main(["facts", "--scenario", "calm", "--seeds", "1", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["scenario"] == "calm" and set(facts.FACTS) <= set(row)
    monkeypatch.setitem(scenarios.SCENARIOS, "calm",
                        scenarios.spec("calm", duration_s=120.0, maker_half_spread=0.05))
    assert cli.main(["facts", "--scenario", "calm", "--seeds", "1"]) == 1
    assert "outside the published range: calm: spread_c" in capsys.readouterr().err
