"""pmm demo, up, down: start and stop the stack."""

from __future__ import annotations

import argparse
import signal
import time
from typing import Any

from common.config import Config, load
from services.control import live, programs, stack
from services.control.commands import add, config_path, fetch_status, say

__all__ = ["cmd_demo", "cmd_down", "cmd_up", "register"]


def cmd_up(args: argparse.Namespace) -> int:
    path = config_path(args.config)
    cfg = load(path)
    stack.up(cfg, path, progress=say, paper=args.paper)
    if args.paper:
        say("paper mode: executors fill against market data; no order reaches a venue")
    say(f"stack is up; `pmm status` shows it, `pmm down` stops it (logs: {cfg.run_dir}/logs)")
    say_if_latched(cfg)
    return 0


def say_if_latched(cfg: Config, wait_s: float = 15.0) -> None:
    """Risk keeps a latched kill switch, halts and a pause across `pmm down` / `pmm up` (its
    journal): say so when the stack comes up that way, with the reason and the command that
    releases it, instead of leaving the operator to wonder why nothing quotes."""
    deadline = time.monotonic() + wait_s
    doc: dict[str, Any] = {}
    while time.monotonic() < deadline:  # the control plane hears risk within a second or two
        try:
            doc = fetch_status(cfg)
        except stack.StackError:
            doc = {}
        if doc.get("risk_seen"):
            break
        time.sleep(0.25)
    if not doc.get("risk_seen"):
        say(f"risk has not reported within {wait_s:.0f}s; `pmm status` shows whether the kill "
            "switch is latched")
        return
    kill = doc.get("kill", {})
    if kill.get("active"):
        say(f"NOTE: the kill switch is latched ({kill.get('reason') or 'no reason given'}), "
            "kept from before the stack went down: nothing quotes until `pmm reset`")
    halted = [f"{m['id']} ({m.get('halt_reason') or 'halted'})"
              for m in doc.get("markets", []) if m.get("halted")]
    if halted:
        say(f"NOTE: halted markets, kept from before: {', '.join(halted)}; `pmm reset` "
            "releases them once the cause is understood")
    if doc.get("paused"):
        say("NOTE: quoting is paused, kept from before: `pmm resume` resumes it")


def cmd_down(args: argparse.Namespace) -> int:
    cfg, _ = stack.find(args.config)
    stack.down(cfg.run_dir, progress=say)
    return 0


def _open_orders_at_sim(cfg: Config) -> int | None:
    import httpx  # imported where used: every `pmm` command starts faster without it

    try:
        resp = httpx.get(f"http://{cfg.sim.host}:{cfg.sim.port}/_sim/state", timeout=3.0)
        resp.raise_for_status()
    except httpx.HTTPError:
        return None
    accounts: dict[str, Any] = resp.json().get("accounts", {})
    return sum(len(a.get("open_orders", [])) for a in accounts.values())


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def cmd_demo(args: argparse.Namespace) -> int:
    path = config_path(args.config)
    cfg = load(path)
    if stack.is_running(cfg.run_dir):
        say("a demo stack is already running; stopping it first")
        stack.down(cfg.run_dir, progress=say)
    stack.up(cfg, path, progress=say)
    say("demo running: quotes, fills, positions and P&L below; Ctrl-C stops everything")
    started = time.monotonic()
    # A closed terminal (SIGHUP) or a process manager's SIGTERM stops the demo the way
    # Ctrl-C does: orders cancelled, stack down. Without this the stack outlived the demo.
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        say_if_latched(cfg)  # inside: Ctrl-C while it waits for risk still stops the stack
        with live.Watch() as watch:
            while args.duration is None or time.monotonic() - started < args.duration:
                title = f"pmm demo - {time.monotonic() - started:5.0f}s - Ctrl-C stops"
                try:
                    doc = fetch_status(cfg)
                    doc["programs"] = programs.programs(cfg.run_dir)
                    watch.show(doc, title)
                except stack.StackError as exc:
                    watch.show(None, title, f"(waiting for the control plane: {exc})")
                time.sleep(1.0 if watch.terminal else 5.0)
    except KeyboardInterrupt:
        say("\nstopping: quoters, then executors (they cancel every order), then the rest")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    venues = cfg.venues_in_use()
    stack.stop_programs(
        cfg.run_dir,
        ["control", "quoter", *(f"ingest-{v}" for v in venues), *(f"executor-{v}" for v in venues), "risk"],
    )
    left = _open_orders_at_sim(cfg) if cfg.sim.enabled else None
    if left is not None:
        say(f"open orders left at the simulator: {left}")
    stack.down(cfg.run_dir, progress=say)
    return 0 if not left else 1


def register(sub: Any) -> None:
    p = add(sub, "demo", "Run the whole stack on the built-in simulator with a live status view.",
            "pmm demo                  # whole stack on the simulator; Ctrl-C stops\n"
            "pmm demo --duration 60    # stop by itself after a minute", cmd_demo)
    p.add_argument("--config", default="deploy/demo.toml")
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    p = add(sub, "up", "Start the stack under supervisord.", "pmm up --config deploy/demo.toml", cmd_up)
    p.add_argument("--config", default="deploy/demo.toml")
    p.add_argument("--paper", action="store_true",
                   help="paper trading: executors fill against market data, no credentials")
    p = add(sub, "down", "Stop the stack (executors cancel their orders first).", "pmm down", cmd_down)
    p.add_argument("--config", default=None)
