"""Issue 17's scorecard: every config of README "Does it make money?" on every scenario over
a range of seeds, the table (mean +/- sd) and the targets the default must meet against the
symmetric baseline. `pmm scorecard --seed 31 --seeds 20` reproduces the README's table.

The configs (`ARMS`): the default; the default without lead-lag (scenarios with a
reference only: elsewhere it is the default); the default with the signals on; the
symmetric baseline (`BASELINE`); A-S; and each preset in deploy/presets/ (the habits
preset is the defaults before issue 17).

The targets (issue 17 item 4), judged on the means over the seeds of the book-only
scenarios (`BOOK_ONLY`; `underlying` is reported, not judged):
- the default's P&L is positive on every one;
- its 60 s markout is above the baseline's on toxic_flow, news_jump and adversarial;
- its P&L is at least 80% of the baseline's on calm and trending (or the baseline's is not
  positive and the default's is).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import msgspec

from common.config import Config, load
from common.errors import ConfigError
from research import scenarios
from research.backtest import BacktestParams
from research.runner import BASELINE
from research.sweep import Job, mean_sd, run_jobs

__all__ = ["ARMS", "BASELINE", "BOOK_ONLY", "DEFAULT", "Arm", "PRESETS", "Target", "pick",
           "plot", "run", "table", "targets", "targets_table"]

BOOK_ONLY = tuple(name for name, spec in scenarios.SCENARIOS.items()
                  if not scenarios.reference_of(spec))
"""The scenarios the targets are judged on: those without a reference feed."""
PRESETS = Path(__file__).resolve().parents[1] / "deploy" / "presets"
DEFAULT = "default"
BASELINE_LABEL = "symmetric baseline (spread 0.02)"
COLUMNS = ("pnl_usd", "reward_usd", "total_usd", "markout_60s_usd", "adverse_share", "fills")


@dataclass(frozen=True, slots=True)
class Arm:
    """One config of the table."""

    key: str
    label: str
    preset: str = ""
    """A file in deploy/presets/ (without .toml) whose [quoting] the arm runs; "": the
    defaults."""
    overrides: Mapping[str, Any] = field(default_factory=dict)
    signals: str = "config"
    """BacktestParams.signals: "config" (off, lead-lag on where there is a reference, or
    as the preset says), "on", or "off" (lead-lag too)."""
    reference_only: bool = False
    """Run only on scenarios with a reference feed (elsewhere it equals the default)."""


ARMS: tuple[Arm, ...] = (
    Arm("default", DEFAULT),
    Arm("no-lead-lag", "default without lead-lag (signals off)", signals="off",
        reference_only=True),
    Arm("signals-on", "default, signals on", signals="on"),
    Arm("baseline", BASELINE_LABEL, overrides=BASELINE),
    Arm("habits", "preset habits (the defaults before issue 17)", preset="habits"),
    Arm("avellaneda-stoikov", "avellaneda_stoikov", overrides={"model": "avellaneda_stoikov"}),
    *(Arm(name, f"preset {name}", preset=name)
      for name in ("aggressive", "conservative", "high-frequency", "informed-flow", "scalping")),
)
"""Every config of the README table, in its order; `key` names one for `pmm scorecard --arm`."""


def pick(keys: Sequence[str]) -> tuple[Arm, ...]:
    """The arms named by `keys` in the table's order (all of them for none)."""
    known = [arm.key for arm in ARMS]
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise ConfigError(f"--arm {unknown[0]!r} is not a config; choose from {', '.join(known)}")
    return tuple(arm for arm in ARMS if not keys or arm.key in keys)


def _config(arm: Arm) -> Config | None:
    return load(PRESETS / f"{arm.preset}.toml") if arm.preset else None


def run(names: Sequence[str], seeds: Sequence[int], *, duration_s: float | None = None,
        params: BacktestParams = BacktestParams(), chosen: Sequence[Arm] = ARMS,
        workers: int | None = None, progress: TextIO | None = sys.stderr,
        ) -> list[dict[str, Any]]:
    """Backtest every chosen arm on every scenario and seed; one row per run, labelled
    `config`. A plan with no run (an arm only for scenarios with a reference, on scenarios
    without one) is an error that says so."""
    shape = {"duration_s": duration_s} if duration_s is not None else {}
    configs = {arm.preset: _config(arm) for arm in chosen}
    plan: list[tuple[str, Job]] = []
    for name in names:
        has_reference = bool(scenarios.reference_of(scenarios.spec(name)))
        for arm in chosen:
            if arm.reference_only and not has_reference:
                continue
            arm_params = msgspec.structs.replace(params, signals=arm.signals)
            for seed in seeds:
                plan.append((arm.label, (len(plan), name, None, seed, {}, dict(arm.overrides),
                                         arm_params, configs[arm.preset], shape)))
    if not plan:
        raise ConfigError(
            f"nothing to run: {', '.join(a.key for a in chosen)} only on scenarios with a "
            f"reference feed ({', '.join(n for n in scenarios.SCENARIOS if n not in BOOK_ONLY)})")
    rows = run_jobs([job for _, job in plan], workers=workers, progress=progress)
    return [{"config": label} | row for (label, _), row in zip(plan, rows, strict=True)]


def _groups(rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        out.setdefault((row["scenario"], row["config"]), []).append(row)
    return out


def table(rows: Sequence[dict[str, Any]]) -> str:
    """The README table: scenario x config, each column mean +/- sd over the seeds."""
    out = ["| scenario | config | P&L $ | markout 60 s $ | adverse share | fills |",
           "|---|---|---|---|---|---|"]
    for (scenario, config), group in _groups(rows).items():
        cells = [f"{m:.2f} +/- {s:.2f}" for m, s in (mean_sd(group, c) for c in COLUMNS)]
        shown = f"**{config}**" if config == DEFAULT else config
        out.append(f"| {scenario} | {shown} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    met: bool | None
    """None: a scenario it needs was not run."""
    detail: str


def targets(rows: Sequence[dict[str, Any]]) -> list[Target]:
    """Issue 17's targets for the default against the baseline (module docstring)."""
    groups = _groups(rows)

    def mean(scenario: str, config: str, metric: str) -> float | None:
        group = groups.get((scenario, config))
        return mean_sd(group, metric)[0] if group else None

    out: list[Target] = []
    pnl = {s: mean(s, DEFAULT, "pnl_usd") for s in BOOK_ONLY}
    have = {s: v for s, v in pnl.items() if v is not None}
    out.append(Target(
        "profitable on every book-only scenario",
        all(v > 0 for v in have.values()) if len(have) == len(BOOK_ONLY) else None,
        " / ".join(f"{s} {v:.2f}" for s, v in have.items())))
    for s in ("toxic_flow", "news_jump", "adversarial"):
        ours, base = mean(s, DEFAULT, "markout_60s_usd"), mean(s, BASELINE_LABEL,
                                                               "markout_60s_usd")
        out.append(Target(
            f"markout above the baseline's on {s}",
            None if ours is None or base is None else ours > base,
            "" if ours is None or base is None else f"{ours:.2f} vs {base:.2f}"))
    for s in ("calm", "trending"):
        ours, base = mean(s, DEFAULT, "pnl_usd"), mean(s, BASELINE_LABEL, "pnl_usd")
        if ours is None or base is None:
            out.append(Target(f"P&L at least 80% of the baseline's on {s}", None, ""))
            continue
        met = ours >= 0.8 * base if base > 0 else ours > 0
        share = f"{100 * ours / base:.0f}%, " if base > 0 else ""
        out.append(Target(f"P&L at least 80% of the baseline's on {s}", met,
                          f"{share}{ours:.2f} vs {base:.2f}"))
    return out


def plot(rows: Sequence[dict[str, Any]], out_dir: Path) -> list[Path]:
    """The table's P&L and markout as bar charts (`summary-<metric>.png`, research/report.py):
    a panel per scenario, a bar per config, the whisker one sd."""
    from research.report import PLOTTED, plot_summary  # matplotlib: only to write plots

    return plot_summary({key: {m: mean_sd(g, m) for m in PLOTTED}
                         for key, g in _groups(rows).items()}, out_dir)


def targets_table(found: Sequence[Target]) -> str:
    out = ["| target | met | figures |", "|---|---|---|"]
    for t in found:
        met = "not run" if t.met is None else ("yes" if t.met else "no")
        out.append(f"| {t.name} | {met} | {t.detail} |")
    return "\n".join(out) + "\n"
