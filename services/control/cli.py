"""`pmm`: the operator's command line (contract in shared/DESIGN.md)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from common.config import Config, control_targets
from common.errors import PmmError
from common.messages import ControlMessage, Kill, Pause, Reset
from services.control import render, stack
from services.control.sender import deliver

EXAMPLES = {
    "demo": "pmm demo                  # whole stack on the simulator; Ctrl-C stops\n"
            "pmm demo --duration 60    # stop by itself after a minute",
    "up": "pmm up --config deploy/demo.toml",
    "down": "pmm down",
    "status": "pmm status\npmm status --json | jq '.markets[0]'\npmm status --watch",
    "kill": "pmm kill --reason 'news: venue outage'\npmm kill --market fed-cut-dec --reason 'bad book'",
    "reset": "pmm reset                 # release a latched kill switch",
    "pause": "pmm pause                 # stop approving new quotes",
    "resume": "pmm resume",
}


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _config_path(text: str) -> Path:
    path = Path(text)
    if not path.exists() and (stack.HOME / text).exists():
        path = stack.HOME / text
    return path


def _fetch_status(cfg: Config) -> dict[str, Any]:
    url = f"http://{cfg.control.http_host}:{cfg.control.http_port}/state"
    try:
        resp = httpx.get(url, timeout=2.0)
        resp.raise_for_status()
    except httpx.HTTPError as exc:
        raise stack.StackError(
            f"the stack is not answering at {url} ({exc.__class__.__name__}); "
            "start it with `pmm up` or check `pmm up` output and the logs in the run dir"
        ) from exc
    data: dict[str, Any] = resp.json()
    return data


def _send(cfg: Config, make: Any, verb: str) -> int:
    secret = stack.control_secret(cfg)
    targets = control_targets(cfg)
    _say(f"sending {verb} to {', '.join(targets)}")
    acks = asyncio.run(
        deliver(targets, make, secret, ack_timeout_ms=cfg.control.ack_timeout_ms,
                retries=cfg.control.retries, on_progress=_say)
    )
    failed = [name for name, ack in acks.items() if ack is None or not ack.ok]
    for name, ack in acks.items():
        state = "acknowledged" if ack and ack.ok else (f"refused: {ack.detail}" if ack else "NO ANSWER")
        print(f"{name:24s} {state}")
    if failed:
        _say(f"{verb} not acknowledged by {', '.join(failed)}: check that they run "
             "(`pmm status`, supervisorctl) and that PMM_CONTROL_SECRET matches the stack's")
        return 1
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    path = _config_path(args.config)
    from common.config import load

    cfg = load(path)
    stack.up(cfg, path, progress=_say)
    _say(f"stack is up; `pmm status` shows it, `pmm down` stops it (logs: {cfg.run_dir}/logs)")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    cfg, _ = stack.find(args.config)
    stack.down(cfg.run_dir, progress=_say)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    cfg, _ = stack.find(args.config)
    if args.json:
        print(json.dumps(_fetch_status(cfg), indent=2))
        return 0
    while True:
        text = render.table(_fetch_status(cfg))
        if not args.watch:
            print(text)
            return 0
        sys.stdout.write("\x1b[H\x1b[2J" + text + "\n(refreshing every second; Ctrl-C leaves)\n")
        sys.stdout.flush()
        time.sleep(1.0)


def cmd_kill(args: argparse.Namespace) -> int:
    cfg, _ = stack.find(args.config)
    if args.market:
        cfg.market(args.market)  # a clear error for an unknown market
    if not args.reason.strip():
        raise stack.StackError("--reason must not be empty: say why, it is logged and shown")

    def make(nonce: str, ts: int) -> ControlMessage:
        return Kill(sender="cli", nonce=nonce, ts_ns=ts, reason=args.reason,
                    venue=args.venue or "", market=args.market or "")

    return _send(cfg, make, "kill")


def cmd_reset(args: argparse.Namespace) -> int:
    cfg, _ = stack.find(args.config)
    return _send(cfg, lambda n, ts: Reset(sender="cli", nonce=n, ts_ns=ts), "reset")


def cmd_pause(args: argparse.Namespace, paused: bool = True) -> int:
    cfg, _ = stack.find(args.config)
    return _send(cfg, lambda n, ts: Pause(sender="cli", nonce=n, ts_ns=ts, paused=paused),
                 "pause" if paused else "resume")


def _open_orders_at_sim(cfg: Config) -> int | None:
    try:
        resp = httpx.get(f"http://{cfg.sim.host}:{cfg.sim.port}/_sim/state", timeout=3.0)
        resp.raise_for_status()
    except httpx.HTTPError:
        return None
    accounts = resp.json().get("accounts", {})
    return sum(len(a.get("open_orders", [])) for a in accounts.values())


def cmd_demo(args: argparse.Namespace) -> int:
    path = _config_path(args.config)
    from common.config import load

    cfg = load(path)
    if stack.is_running(cfg.run_dir):
        _say("a demo stack is already running; stopping it first")
        stack.down(cfg.run_dir, progress=_say)
    stack.up(cfg, path, progress=_say)
    _say("demo running: quotes, fills, positions and P&L below; Ctrl-C stops everything")
    started = time.monotonic()
    tty = sys.stdout.isatty()
    try:
        while args.duration is None or time.monotonic() - started < args.duration:
            try:
                text = render.table(_fetch_status(cfg))
            except stack.StackError as exc:
                text = f"(waiting for the control plane: {exc})"
            elapsed = time.monotonic() - started
            if tty:
                sys.stdout.write("\x1b[H\x1b[2J")
            sys.stdout.write(f"pmm demo - {elapsed:5.0f}s - Ctrl-C stops\n{text}\n\n")
            sys.stdout.flush()
            time.sleep(1.0 if tty else 5.0)
    except KeyboardInterrupt:
        _say("\nCtrl-C: stopping quoters, then executors (they cancel every order), then the rest")
    stack.stop_programs(
        cfg.run_dir, ["control", "quoter", "ingest-polymarket", "executor-polymarket", "risk"]
    )
    left = _open_orders_at_sim(cfg) if cfg.sim.enabled else None
    if left is not None:
        _say(f"open orders left at the simulator: {left}")
    stack.down(cfg.run_dir, progress=_say)
    return 0 if not left else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pmm", description="Market maker for binary prediction markets.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  " + "\n  ".join(v.splitlines()[0] for v in EXAMPLES.values()),
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text,
                           epilog="examples:\n  " + EXAMPLES[name].replace("\n", "\n  "),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        return p

    p = add("demo", "Run the whole stack on the built-in simulator with a live status view.")
    p.add_argument("--config", default="deploy/demo.toml")
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    p.set_defaults(func=cmd_demo)

    p = add("up", "Start the stack under supervisord.")
    p.add_argument("--config", default="deploy/demo.toml")
    p.set_defaults(func=cmd_up)

    for name, func, text in (
        ("down", cmd_down, "Stop the stack (executors cancel their orders first)."),
        ("reset", cmd_reset, "Release a latched kill switch and clear halts."),
        ("pause", cmd_pause, "Stop approving new quotes; resting orders stay."),
        ("resume", lambda a: cmd_pause(a, False), "Resume approving quotes after a pause."),
    ):
        p = add(name, text)
        p.add_argument("--config", default=None)
        p.set_defaults(func=func)

    p = add("status", "Show quotes, positions, P&L and halt state per market.")
    p.add_argument("--config", default=None)
    p.add_argument("--json", action="store_true", help="print the JSON document for scripts")
    p.add_argument("--watch", action="store_true", help="refresh in place every second")
    p.set_defaults(func=cmd_status)

    p = add("kill", "Latch the kill switch: cancel every order and quote nothing until reset.")
    p.add_argument("--config", default=None)
    p.add_argument("--reason", required=True, help="why (logged and shown in status)")
    p.add_argument("--venue", choices=["polymarket", "kalshi"], default=None)
    p.add_argument("--market", default=None, help="a market id from the config")
    p.set_defaults(func=cmd_kill)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except PmmError as exc:
        _say(f"pmm {args.command}: {exc}")
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
