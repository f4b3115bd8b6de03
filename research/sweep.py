"""Parameter sweeps: every combination of quoting values x scenarios x seeds, backtested
across all cores (ProcessPoolExecutor), with a progress line on stderr and the results
table written as CSV and JSON. Every run starts from the same base: the config's
`[quoting]` (`cfg`, else the defaults) with the fixed overrides (`base`, `--set`) applied,
then the run's grid values on top. Each run is deterministic, so a sweep is too (rows are
sorted by their grid position, whatever order the workers finish in).
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any, TextIO

from common.config import Config
from common.errors import ConfigError
from research.backtest import BacktestParams
from research.runner import run_data, run_scenario, summary

__all__ = ["SUMMARY_METRICS", "Job", "combinations", "mean_sd", "parse_grid", "run_jobs",
           "run_sweep", "summary_table", "write_table"]

SUMMARY_METRICS = ("pnl_usd", "reward_usd", "total_usd", "markout_60s_usd", "adverse_share", "fills")
"""The columns of the per-scenario summary: mean +/- sd over the seeds."""


def parse_grid(items: Sequence[str]) -> dict[str, list[Any]]:
    """`["spread=0.01,0.02", "skew=0,0.5"]` -> {"spread": [0.01, 0.02], "skew": [0, 0.5]}."""
    grid: dict[str, list[Any]] = {}
    for item in items:
        name, sep, values = item.partition("=")
        if not sep or not name or not values:
            raise ConfigError(f"--param {item!r}: expected NAME=V1,V2,... (e.g. spread=0.01,0.02)")
        grid[name.strip()] = [_value(v.strip()) for v in values.split(",") if v.strip()]
    return grid


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def combinations(grid: Mapping[str, list[Any]]) -> list[dict[str, Any]]:
    names = sorted(grid)
    return [dict(zip(names, vals, strict=True)) for vals in itertools.product(
        *(grid[n] for n in names))] or [{}]


Job = tuple[int, str, str | None, int, dict[str, Any], dict[str, Any], BacktestParams,
            Config | None, dict[str, float]]
"""(index, scenario, recording, seed, grid values, fixed overrides, params, config,
scenario overrides)."""


def _one(job: Job) -> tuple[int, dict[str, Any]]:
    index, scenario, data, seed, combo, base, params, cfg, shape = job
    overrides = base | combo
    if data:
        result = run_data(data, cfg=cfg, overrides=overrides, params=params)
    else:
        result = run_scenario(scenario, seed, cfg=cfg, overrides=overrides, params=params,
                              scenario_overrides=shape)
    row: dict[str, Any] = {"scenario": scenario if not data else f"data:{data}", "seed": seed}
    row |= {f"param.{k}": v for k, v in combo.items()}
    row |= summary(result)
    return index, row


def run_sweep(
    grid: Mapping[str, list[Any]], scenarios: Sequence[str], seeds: Sequence[int], *,
    data: str | None = None, params: BacktestParams = BacktestParams(),
    cfg: Config | None = None, base: Mapping[str, Any] | None = None,
    workers: int | None = None, progress: TextIO | None = sys.stderr,
    scenario_overrides: Mapping[str, float] | None = None,
) -> list[dict[str, Any]]:
    """Run every combination from `cfg`'s quoting with `base` overrides (scenarios shaped by
    `scenario_overrides`, e.g. duration_s); return the rows in grid order."""
    combos = combinations(grid)
    fixed = dict(base or {})
    clash = sorted(set(fixed) & set(grid))
    if clash:
        raise ConfigError(f"{clash[0]} is both a --set and a --param; keep one")
    sources: list[str] = ["data"] if data else list(scenarios)
    shape = dict(scenario_overrides or {})
    jobs: list[Job] = [(i, sc, data, seed, combo, fixed, params, cfg, shape)
                       for i, (sc, seed, combo) in enumerate(
                           itertools.product(sources, seeds if not data else [0], combos))]
    return run_jobs(jobs, workers=workers, progress=progress)


def run_jobs(jobs: Sequence[Job], *, workers: int | None = None,
             progress: TextIO | None = sys.stderr) -> list[dict[str, Any]]:
    """Backtest every job on `workers` processes (default: every core), with a progress
    bar on `progress`; return the rows in job order."""
    if not jobs:
        return []
    workers = workers or os.cpu_count() or 1
    rows: list[tuple[int, dict[str, Any]]] = []
    started = time.monotonic()
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
        futures = [pool.submit(_one, job) for job in jobs]
        for done, fut in enumerate(as_completed(futures), 1):
            rows.append(fut.result())
            if progress is not None:
                _bar(progress, done, len(jobs), time.monotonic() - started)
    if progress is not None:
        progress.write("\n")
    return [row for _, row in sorted(rows, key=lambda r: r[0])]


def _bar(out: TextIO, done: int, total: int, elapsed: float) -> None:
    width = 30
    filled = width * done // total
    eta = elapsed / done * (total - done)
    out.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} "
              f"{elapsed:5.1f}s elapsed, ~{eta:5.1f}s left")
    out.flush()


def groups(rows: Sequence[dict[str, Any]],
           label: str = "") -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Rows by (scenario, config), the config named by `label` and the grid values."""
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        params = ", ".join(f"{k[6:]}={v}" for k, v in row.items() if k.startswith("param."))
        config = " ".join(p for p in (label, params) if p) or "as configured"
        out.setdefault((row["scenario"], config), []).append(row)
    return out


def mean_sd(group: Sequence[dict[str, Any]], metric: str) -> tuple[float, float]:
    """Mean and sample sd of one metric over a group's seeds (0 where undefined)."""
    values = [float(r[metric]) for r in group if r.get(metric) is not None]
    mean = statistics.fmean(values) if values else 0.0
    return mean, statistics.stdev(values) if len(values) > 1 else 0.0


def summary_table(rows: Sequence[dict[str, Any]], label: str = "") -> str:
    """A Markdown table: one row per scenario and parameter combination, each metric as
    mean +/- sample sd over its seeds (`label` names the config the sweep started from)."""
    head = ["scenario", "config", "seeds", *SUMMARY_METRICS]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for (scenario, params), group in groups(rows, label).items():
        cells = [scenario, params, str(len(group))]
        for m in SUMMARY_METRICS:
            mean, sd = mean_sd(group, m)
            cells.append(f"{mean:.2f} +/- {sd:.2f}" if m != "adverse_share"
                         else f"{mean:.3f} +/- {sd:.3f}")
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def write_table(rows: Sequence[dict[str, Any]], out_dir: str | Path,
                label: str = "") -> tuple[Path, Path]:
    """Write `sweep.csv`, `sweep.json` (stable column order), `summary.md` (the
    per-scenario table, mean +/- sd over seeds) and its plots (`summary-<metric>.png`,
    research/report.py); return the first two paths."""
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    csv_path, json_path = d / "sweep.csv", d / "sweep.json"
    with csv_path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns)
        w.writeheader()
        for row in rows:
            w.writerow(row)
    json_path.write_text(json.dumps(list(rows), indent=1))
    (d / "summary.md").write_text(summary_table(rows, label))
    from research.report import PLOTTED, plot_summary  # matplotlib: only to write a sweep

    plot_summary({key: {m: mean_sd(g, m) for m in PLOTTED}
                  for key, g in groups(rows, label).items()}, d)
    return csv_path, json_path
