"""pmm status, kill, reset, pause, resume: watch and steer a running stack."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from common.messages import ControlMessage, Kill, Pause, Reset
from services.control import render, stack
from services.control.commands import add, fetch_status, send


def cmd_status(args: argparse.Namespace) -> int:
    cfg, _ = stack.find(args.config)
    if args.json:
        print(json.dumps(fetch_status(cfg), indent=2))
        return 0
    while True:
        text = render.table(fetch_status(cfg))
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

    return send(cfg, make, "kill")


def cmd_reset(args: argparse.Namespace) -> int:
    cfg, _ = stack.find(args.config)
    return send(cfg, lambda n, ts: Reset(sender="cli", nonce=n, ts_ns=ts), "reset")


def _pause(args: argparse.Namespace, paused: bool) -> int:
    cfg, _ = stack.find(args.config)
    return send(cfg, lambda n, ts: Pause(sender="cli", nonce=n, ts_ns=ts, paused=paused),
                "pause" if paused else "resume")


def register(sub: Any) -> None:
    p = add(sub, "status", "Show quotes, positions, P&L and halt state per market.",
            "pmm status\npmm status --json | jq '.markets[0]'\npmm status --watch", cmd_status)
    p.add_argument("--config", default=None)
    p.add_argument("--json", action="store_true", help="print the JSON document for scripts")
    p.add_argument("--watch", action="store_true", help="refresh in place every second")

    p = add(sub, "kill", "Latch the kill switch: cancel every order and quote nothing until reset.",
            "pmm kill --reason 'news: venue outage'\n"
            "pmm kill --market fed-cut-dec --reason 'bad book'", cmd_kill)
    p.add_argument("--config", default=None)
    p.add_argument("--reason", required=True, help="why (logged and shown in status)")
    p.add_argument("--venue", choices=["polymarket", "kalshi"], default=None)
    p.add_argument("--market", default=None, help="a market id from the config")

    for name, func, text, ex in (
        ("reset", cmd_reset, "Release a latched kill switch and clear halts.", "pmm reset"),
        ("pause", lambda a: _pause(a, True), "Stop approving new quotes; resting orders stay.", "pmm pause"),
        ("resume", lambda a: _pause(a, False), "Resume approving quotes after a pause.", "pmm resume"),
    ):
        p = add(sub, name, text, ex, func)
        p.add_argument("--config", default=None)
