"""pmm backtest, sweep, scorecard, report, facts, record, replay: the research loop (issues 8, 17).

Backtests, sweeps and reports run offline in this process (the research/ library steps the
live quoting engine, strategy/). Record and replay run `python -m services.recorder` in the
foreground next to a running stack; Ctrl-C stops them and closes the open chunk.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from common.config import Config, load
from common.errors import ConfigError
from services.control import stack
from services.control.commands import add, config_path, say

__all__ = ["cmd_backtest", "cmd_facts", "cmd_record", "cmd_replay", "cmd_report",
           "cmd_scorecard", "cmd_signals_compare", "cmd_sweep", "register"]


def _cfg(args: argparse.Namespace) -> Config | None:
    return load(config_path(args.config)) if getattr(args, "config", None) else None


def _params(args: argparse.Namespace) -> Any:
    from research.backtest import BacktestParams

    if args.latency_ms < 0:
        raise ConfigError(f"--latency-ms must be >= 0, got {args.latency_ms}")
    if args.response_ms < 0:
        raise ConfigError(f"--response-ms must be >= 0, got {args.response_ms}")
    return BacktestParams(latency_ms=args.latency_ms, response_ms=args.response_ms,
                          maker_fee_bps=args.maker_fee_bps,
                          signals=getattr(args, "signals", "config"))


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    from research.sweep import parse_grid

    return {k: v[0] for k, v in parse_grid(args.set or []).items()}


def _run(args: argparse.Namespace) -> Any:
    from research import runner

    cfg, params, over, shape = _cfg(args), _params(args), _overrides(args), _shape(args)
    if args.data:
        return runner.run_data(args.data, cfg=cfg, overrides=over, params=params)
    return runner.run_scenario(args.scenario, args.seed, cfg=cfg, overrides=over, params=params,
                               scenario_overrides=shape)


def _shape(args: argparse.Namespace) -> dict[str, float]:
    """Scenario overrides from the command line (--duration-s, --reward-usd-per-day)."""
    out: dict[str, float] = {}
    seconds = getattr(args, "duration_s", None)
    pool = getattr(args, "reward_usd_per_day", None)
    if getattr(args, "data", None) and (seconds is not None or pool is not None):
        raise ConfigError("--duration-s and --reward-usd-per-day apply to --scenario only; a "
                          "recording has its own length and no reward programme")
    if seconds is not None:
        if not 1 <= seconds <= 86_400:
            raise ConfigError(f"--duration-s must be in [1, 86400] seconds, got {seconds}")
        out["duration_s"] = seconds
    if pool is not None:
        if not 0 <= pool <= 1_000_000:
            raise ConfigError(f"--reward-usd-per-day must be in [0, 1000000], got {pool}")
        out["reward_daily_usd"] = pool
    return out


def cmd_backtest(args: argparse.Namespace) -> int:
    from research import runner

    if args.write:
        if not args.scenario:
            raise ConfigError("--write needs --scenario NAME")
        runner.write_scenario(args.scenario, args.seed, args.write, _shape(args))
        say(f"wrote scenario {args.scenario} (seed {args.seed}) to {args.write}; "
            f"`pmm replay --data {args.write}` plays it, `pmm backtest --data {args.write}` "
            "backtests it")
        return 0
    result = _run(args)
    summ = runner.summary(result, markets=args.markets)
    if args.report:
        from research.report import write_report

        page = write_report(result, args.report, title=_title(args))
        say(f"report: {page}")
    if args.json:
        print(json.dumps(summ))
    else:
        for k, v in summ.items():
            print(f"{k:22s} {v}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from research.report import write_report

    page = write_report(_run(args), args.out, title=_title(args))
    print(page)
    return 0


def _title(args: argparse.Namespace) -> str:
    return f"backtest {args.data}" if args.data else f"backtest {args.scenario} seed {args.seed}"


def cmd_sweep(args: argparse.Namespace) -> int:
    from research.sweep import parse_grid, run_sweep, write_table

    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {args.workers}")
    grid = parse_grid(args.param or [])
    seeds = list(range(args.seed, args.seed + args.seeds))
    rows = run_sweep(grid, args.scenario or ["calm"], seeds, data=args.data,
                     params=_params(args), cfg=_cfg(args), base=_overrides(args),
                     workers=args.workers, scenario_overrides=_shape(args))
    label = " ".join([args.config or "defaults", *(args.set or [])])
    csv_path, json_path = write_table(rows, args.out, label=label)
    say(f"{len(rows)} runs; results: {csv_path} and {json_path}; mean +/- sd per scenario: "
        f"{csv_path.parent / 'summary.md'}")
    return 0


def cmd_signals_compare(args: argparse.Namespace) -> int:
    from research.compare import compare, table

    if args.seeds < 1:
        raise ConfigError(f"--seeds must be >= 1, got {args.seeds}")
    seeds = range(args.seed, args.seed + args.seeds)
    rows = compare(args.scenario or ["news_jump", "toxic_flow"], seeds, cfg=_cfg(args),
                   overrides=_overrides(args), params=_params(args))
    print(json.dumps(rows) if args.json else table(rows))
    return 0


def cmd_scorecard(args: argparse.Namespace) -> int:
    from research import scorecard

    if args.seeds < 1:
        raise ConfigError(f"--seeds must be >= 1, got {args.seeds}")
    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {args.workers}")
    shape = _shape(args)
    names = args.scenario or _scenario_names()
    seeds = range(args.seed, args.seed + args.seeds)
    chosen = scorecard.pick(args.arm or [])
    say(f"scorecard: {len(names)} scenarios x {len(chosen)} configs x {args.seeds} "
        f"seeds (seeds {seeds.start}-{seeds.stop - 1})")
    rows = scorecard.run(names, seeds, duration_s=shape["duration_s"], params=_params(args),
                         chosen=chosen, workers=args.workers)
    found = scorecard.targets(rows)
    text = scorecard.table(rows)
    targets = scorecard.targets_table(found)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "scorecard.json").write_text(json.dumps(rows, indent=1))
    (out / "scorecard.md").write_text(f"{text}\n{targets}")
    plots = scorecard.plot(rows, out)
    print(f"{text}\n{targets}")
    say(f"{len(rows)} runs; written to {out / 'scorecard.md'}, {out / 'scorecard.json'} and "
        f"{len(plots)} plots ({', '.join(p.name for p in plots)})")
    missed = [t.name for t in found if t.met is False]
    for name in missed:
        say(f"target missed: {name}")
    return 1 if missed else 0


def cmd_facts(args: argparse.Namespace) -> int:
    from research import facts

    if args.seeds < 1:
        raise ConfigError(f"--seeds must be >= 1, got {args.seeds}")
    names = args.scenario or _scenario_names()
    rows = []
    for i, name in enumerate(names, 1):
        say(f"[{i}/{len(names)}] {name}: {args.seeds} seeds")
        rows += facts.table([name], range(args.seed, args.seed + args.seeds))
    if args.json:
        print(json.dumps(rows))
    else:
        keys = ["scenario", "kind", *facts.FACTS]
        print("| " + " | ".join(keys) + " |\n|" + "---|" * len(keys))
        for r in rows:
            print("| " + " | ".join(str(r[k]) for k in keys) + " |")
    off = [line for r in rows for line in facts.outside(r)]
    for line in off:
        say(f"outside the published range: {line}")
    return 1 if off else 0


def _recorder(mode: str, args: argparse.Namespace, extra: list[str]) -> int:
    cfg, path = stack.find(args.config)
    cmd = [sys.executable, "-m", "services.recorder", mode, "--config", str(path),
           "--dir", args.data, *extra]
    env = {**os.environ, "PYTHONPATH": str(stack.HOME)}
    say(f"{mode}ing {args.data} on {cfg.run_dir}; Ctrl-C stops")
    proc = subprocess.Popen(cmd, env=env)

    def forward(signum: int, _frame: Any) -> None:
        # Ctrl-C or `kill PID`: stop the child and wait for it to close its files (a chunk
        # being written), rather than kill it or leave it running without us.
        proc.send_signal(signum)

    old = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        return proc.wait()
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def cmd_record(args: argparse.Namespace) -> int:
    return _recorder("record", args, ["--chunk-s", str(args.chunk_s), "--max-mb", str(args.max_mb)])


def cmd_replay(args: argparse.Namespace) -> int:
    if args.speed <= 0:
        raise ConfigError(f"--speed must be > 0, got {args.speed}")
    if not Path(args.data, "index.json").exists():
        raise ConfigError(f"{args.data} is not a recording; make one with `pmm record` or "
                          "`pmm backtest --scenario NAME --write DIR`")
    if args.subscribers < 0:
        raise ConfigError(f"--subscribers must be >= 0, got {args.subscribers}")
    extra = ["--speed", str(args.speed), "--subscribers", str(args.subscribers)]
    for m in args.market or []:
        extra += ["--market", m]
    return _recorder("replay", args, extra)


def _scenario_names() -> list[str]:
    from research.scenarios import SCENARIOS

    return list(SCENARIOS)


def _common(p: argparse.ArgumentParser, *, source: bool = True, signals: bool = True) -> None:
    from research.scenarios import SCENARIOS

    if source:
        g = p.add_mutually_exclusive_group(required=True)
        g.add_argument("--scenario", choices=sorted(SCENARIOS), help="synthetic scenario")
        g.add_argument("--data", help="recording directory (pmm record, or --write)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--config", default=None, help="stack config or preset for [quoting]")
    p.add_argument("--set", action="append", metavar="NAME=VALUE",
                   help="override one quoting field, e.g. --set spread=0.03")
    p.add_argument("--latency-ms", type=int, default=50, help="decision to order arrival")
    p.add_argument("--response-ms", type=int, default=50,
                   help="a fill to its report reaching the executor")
    p.add_argument("--maker-fee-bps", type=float, default=0.0, help="negative for a rebate")
    if signals:
        p.add_argument("--signals", choices=["on", "off", "config"], default="config",
                       help="informed-flow signals: on, off (lead-lag too), or as the config "
                            "says (default: off, but lead-lag on for a market with a "
                            "reference)")


def register(sub: Any) -> None:
    p = add(sub, "backtest", "Backtest the live quoting engine on a scenario or a recording.",
            "pmm backtest --scenario calm --seed 1 --json\n"
            "pmm backtest --data rec/ --config deploy/demo.toml --report out/\n"
            "pmm backtest --scenario news_jump --write rec/   # write the scenario as a recording",
            cmd_backtest)
    _common(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--duration-s", type=float, default=None,
                   help="scenario length in seconds (default: the scenario's, 600)")
    p.add_argument("--reward-usd-per-day", type=float, default=None,
                   help="the scenario's liquidity reward pool a day (default 100; 0: none)")
    p.add_argument("--markets", action="store_true", help="add per-market fills and P&L")
    p.add_argument("--report", default=None, metavar="DIR", help="also write the HTML report")
    p.add_argument("--write", default=None, metavar="DIR",
                   help="write the scenario as a recording instead of backtesting")
    p = add(sub, "sweep", "Backtest every parameter combination on all cores.",
            "pmm sweep --scenario calm --scenario toxic_flow --param spread=0.01,0.02,0.03 "
            "--seeds 4 --out sweep/", cmd_sweep)
    _common(p, source=False)
    p.add_argument("--scenario", action="append", help="scenario (repeatable; default calm)")
    p.add_argument("--data", default=None, help="sweep on a recording instead")
    p.add_argument("--param", action="append", metavar="NAME=V1,V2", help="grid axis")
    p.add_argument("--seeds", type=int, default=1, help="seeds from --seed on")
    p.add_argument("--duration-s", type=float, default=None,
                   help="scenario length in seconds (default: the scenario's, 600)")
    p.add_argument("--reward-usd-per-day", type=float, default=None,
                   help="the scenarios' liquidity reward pool a day (default 100; 0: none)")
    p.add_argument("--workers", type=int, default=None, help="default: every core")
    p.add_argument("--out", default="sweep",
                   help="directory for sweep.csv, sweep.json and summary.md")
    p = add(sub, "scorecard",
            "Backtest every config of README 'Does it make money?' and check issue 17's targets.",
            "pmm scorecard                                     # the README table (about 28 min)\n"
            "pmm scorecard --seed 31 --seeds 40 --arm default --arm baseline   # the targets\n"
            "pmm scorecard --scenario calm --seeds 4 --duration-s 600", cmd_scorecard)
    p.add_argument("--scenario", action="append", choices=_scenario_names(),
                   help="scenario (repeatable; default every one)")
    p.add_argument("--arm", action="append", metavar="KEY",
                   help="only this config (repeatable; default every one): default, "
                        "no-lead-lag, signals-on, baseline, habits, avellaneda-stoikov or a "
                        "preset's name")
    p.add_argument("--seed", type=int, default=31,
                   help="first seed (default 31: the README's held-out seeds)")
    p.add_argument("--seeds", type=int, default=20, help="seeds from --seed on")
    p.add_argument("--duration-s", type=float, default=3600.0,
                   help="length of each run in seconds (default: one hour, as in the README)")
    p.add_argument("--latency-ms", type=int, default=50, help="decision to order arrival")
    p.add_argument("--response-ms", type=int, default=50,
                   help="a fill to its report reaching the executor")
    p.add_argument("--maker-fee-bps", type=float, default=0.0, help="negative for a rebate")
    p.add_argument("--workers", type=int, default=None, help="default: every core")
    p.add_argument("--out", default="scorecard",
                   help="directory for scorecard.md, scorecard.json and the plots")
    p = add(sub, "report", "Backtest and write an HTML report with PNG plots.",
            "pmm report --scenario toxic_flow --seed 3 --out report/", cmd_report)
    _common(p)
    p.add_argument("--out", default="report")
    p = add(sub, "signals-compare",
            "Backtest scenarios with the informed-flow signals off and on; print the markouts.",
            "pmm signals-compare --seeds 20            # news_jump and toxic_flow, seeds 1-20\n"
            "pmm signals-compare --scenario calm --seeds 5 --config deploy/demo.toml --json",
            cmd_signals_compare)
    _common(p, source=False, signals=False)
    p.add_argument("--scenario", action="append", choices=sorted(_scenario_names()),
                   help="scenario (repeatable; default news_jump and toxic_flow)")
    p.add_argument("--seeds", type=int, default=20, help="seeds from --seed on")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p = add(sub, "facts",
            "Measure the synthetic markets' stylised facts against the published figures.",
            "pmm facts --seeds 5                 # every scenario; exit 1 if a fact is off\n"
            "pmm facts --scenario calm --json", cmd_facts)
    p.add_argument("--scenario", action="append", choices=sorted(_scenario_names()),
                   help="scenario (repeatable; default every one)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--seeds", type=int, default=5, help="seeds from --seed on")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p = add(sub, "record", "Record the running stack's market data to compressed files.",
            "pmm record --data rec/          # next to `pmm up`; Ctrl-C stops", cmd_record)
    p.add_argument("--data", required=True, help="recording directory")
    p.add_argument("--config", default=None)
    p.add_argument("--chunk-s", type=float, default=60.0, help="seconds per chunk file")
    p.add_argument("--max-mb", type=float, default=1024.0, help="disk bound; oldest chunks go")
    p = add(sub, "replay", "Play a recording onto the bus (instead of ingest).",
            "pmm replay --data rec/ --speed 10", cmd_replay)
    p.add_argument("--data", required=True, help="recording directory")
    p.add_argument("--config", default=None)
    p.add_argument("--speed", type=float, default=1.0, help="N times real speed")
    p.add_argument("--market", action="append", help="only these market ids")
    p.add_argument("--subscribers", type=int, default=1,
                   help="start once each market has this many md subscribers (paper stack "
                        "with one quoter: 5); nothing is lost to ZeroMQ's slow joiner")
