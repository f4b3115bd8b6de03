"""Sweeps across processes (results table) and the HTML/PNG report."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from common.config import load
from common.errors import ConfigError
from research import runner
from research.report import write_report
from research.sweep import combinations, parse_grid, run_sweep, summary_table, write_table


def test_grid_parsing_and_combinations() -> None:
    grid = parse_grid(["spread=0.01,0.02", "fv_method=mid_price"])
    assert grid == {"spread": [0.01, 0.02], "fv_method": ["mid_price"]}
    assert combinations(grid) == [{"fv_method": "mid_price", "spread": 0.01},
                                  {"fv_method": "mid_price", "spread": 0.02}]
    with pytest.raises(ConfigError, match="NAME=V1"):
        parse_grid(["spread"])


def test_sweep_runs_every_combination_in_grid_order_and_writes_csv_and_json(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import research.scenarios as sc

    monkeypatch.setitem(sc.SCENARIOS, "calm", sc.spec("calm", duration_s=30.0))
    progress = io.StringIO()
    rows = run_sweep({"spread": [0.02, 0.04]}, ["calm"], [1, 2], workers=2, progress=progress)
    assert [(r["seed"], r["param.spread"]) for r in rows] == [(1, 0.02), (1, 0.04), (2, 0.02),
                                                               (2, 0.04)]
    assert "4/4" in progress.getvalue()
    csv_path, json_path = write_table(rows, tmp_path)
    with csv_path.open() as f:
        table = list(csv.DictReader(f))
    assert len(table) == 4 and "pnl_usd" in table[0]
    assert len(json.loads(json_path.read_text())) == 4
    summary = (tmp_path / "summary.md").read_text().splitlines()
    assert summary[0].startswith("| scenario | config | seeds | pnl_usd")
    assert [ln.split(" | ")[1:3] for ln in summary[2:]] == [["spread=0.02", "2"],
                                                           ["spread=0.04", "2"]]
    labelled = summary_table(rows, "deploy/presets/x.toml size=20").splitlines()
    assert labelled[2].split(" | ")[1] == "deploy/presets/x.toml size=20 spread=0.02"
    pnls = [r["pnl_usd"] for r in rows if r["param.spread"] == 0.02]
    mean, sd = sum(pnls) / 2, abs(pnls[0] - pnls[1]) / 2 ** 0.5
    assert f"{mean:.2f} +/- {sd:.2f}" in summary[2]


def test_report_writes_html_and_pngs(tmp_path: Path) -> None:
    result = runner.run_scenario("news_jump", 1, scenario_overrides={"duration_s": 30.0})
    page = write_report(result, tmp_path, title="news_jump")
    text = page.read_text()
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert pngs == ["sim-1-inventory.png", "sim-1-markouts.png", "sim-1-pnl.png",
                    "sim-1-price.png"]
    for name in pngs:
        assert f'src="{name}"' in text
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    assert "pnl_usd" in text


def test_sweep_starts_every_run_from_the_config_and_the_set_overrides(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`pmm sweep --config F --set size=20 --param spread=...` backtests exactly what
    `pmm backtest --config F --set size=20 --set spread=...` does (both were ignored)."""
    import research.scenarios as sc
    from services.control import cli

    monkeypatch.setitem(sc.SCENARIOS, "calm", sc.spec("calm", duration_s=120.0))
    conf = tmp_path / "q.toml"
    conf.write_text("[quoting]\nspread = 0.01\nvol_mult = 0.0\nskew = 0.0\n")
    out = tmp_path / "sweep"
    assert cli.main(["sweep", "--scenario", "calm", "--config", str(conf), "--set", "size=20",
                     "--param", "max_orders=1,2", "--workers", "1", "--out", str(out)]) == 0
    rows = json.loads((out / "sweep.json").read_text())
    for metric in ("pnl_usd", "markout_60s_usd"):  # the summary's plots
        assert (out / f"summary-{metric}.png").read_bytes()[:4] == b"\x89PNG"
    cfg = load(conf)
    for row in rows:
        alone = runner.summary(runner.run_scenario(
            "calm", 1, cfg=cfg, overrides={"size": 20, "max_orders": row["param.max_orders"]}))
        assert row["pnl_usd"] == alone["pnl_usd"] and row["fills"] == alone["fills"]
    plain = runner.summary(runner.run_scenario("calm", 1, overrides={
        "max_orders": 1, "spread": 0.01, "vol_mult": 0.0}))
    assert (plain["pnl_usd"], plain["fills"]) != (rows[0]["pnl_usd"], rows[0]["fills"]), (
        "the config and --set made no difference: the check cannot tell")
    with pytest.raises(ConfigError, match="both a --set and a --param"):
        run_sweep({"size": [10]}, ["calm"], [1], base={"size": 20}, workers=1, progress=None)
