"""pmm status, kill, reset, pause, resume: watch and steer a running stack."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from common.config import control_targets
from common.messages import ControlMessage, Flatten, Kill, Pause, Reset
from services.control import live, programs, render, stack
from services.control.commands import add, fetch_status, send

__all__ = ["cmd_flatten", "cmd_kill", "cmd_reset", "cmd_status", "cmd_token", "register"]


def _status_doc(cfg: Any, market: str | None) -> dict[str, Any]:
    doc = fetch_status(cfg)
    if market:
        ids = [m["id"] for m in doc.get("markets", [])]
        if market not in ids:
            raise stack.StackError(f"unknown market {market!r}; running markets: "
                                   f"{', '.join(ids) or 'none'} (`pmm list`)")
        doc["markets"] = [m for m in doc["markets"] if m["id"] == market]
    return doc


def _with_programs(cfg: Any, market: str | None) -> dict[str, Any]:
    """The status document plus supervisord's view of every program."""
    doc = _status_doc(cfg, market)
    doc["programs"] = programs.programs(cfg.run_dir)
    return doc


def cmd_status(args: argparse.Namespace) -> int:
    cfg, _ = stack.find(args.config)
    if args.json:
        print(json.dumps(_with_programs(cfg, args.id), indent=2))
        return 0
    if not args.watch:
        doc = _with_programs(cfg, args.id)
        text = render.table(doc, color=sys.stdout.isatty())
        if args.id:  # one market in detail: its reference and the close-or-hedge analysis
            text += "\n\n" + render.detail(doc)
        print(text)
        return 0
    frames = 0
    with live.Watch() as watch:
        while True:
            frames += 1
            title = (f"pmm status - {time.strftime('%H:%M:%S')} - refresh {frames} - "
                     "Ctrl-C leaves")
            try:
                doc = _with_programs(cfg, args.id)
                # one market: its reference and the close-or-hedge analysis under the table
                watch.show(doc, title, extra=render.detail(doc) if args.id else "")
            except stack.StackError as exc:
                watch.show(None, title, f"(the stack does not answer: {exc})")
            if args.count and frames >= args.count:
                return 0
            time.sleep(args.interval)


def cmd_flatten(args: argparse.Namespace) -> int:
    cfg, _ = stack.find(args.config)
    if args.market:
        cfg.market(args.market)

    def make(nonce: str, ts: int) -> ControlMessage:
        return Flatten(sender="cli", nonce=nonce, ts_ns=ts, market=args.market or "",
                       reason=args.reason)

    return send(cfg, make, "flatten", targets={"risk": control_targets(cfg)["risk"]})


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


def cmd_token(args: argparse.Namespace) -> int:
    """Print the HTTP control plane's bearer token (derived from the stack's control secret)."""
    from common.auth import http_token

    cfg, _ = stack.find(args.config)
    print(http_token(stack.control_secret(cfg)))
    return 0


def register(sub: Any) -> None:
    p = add(sub, "status", "Show quotes, positions, P&L and halt state per market.",
            "pmm status\npmm status --json | jq '.markets[0]'\npmm status --watch", cmd_status)
    p.add_argument("--config", default=None)
    p.add_argument("--json", action="store_true", help="print the JSON document for scripts")
    p.add_argument("--watch", action="store_true", help="refresh in place every second")
    p.add_argument("id", nargs="?", default=None, help="show only this market")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between refreshes")
    p.add_argument("--count", type=int, default=0, help="with --watch: stop after N refreshes")

    p = add(sub, "flatten", "Work inventory back to flat (all markets, or one).",
            "pmm flatten\npmm flatten --market fed-cut-dec", cmd_flatten)
    p.add_argument("--config", default=None)
    p.add_argument("--market", default=None, help="a market id (`pmm list`)")
    p.add_argument("--reason", default="operator flatten", help="logged with the request")

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

    p = add(sub, "token", "Print the bearer token of the HTTP control plane (not the control secret).",
            "pmm token\ncurl -X POST -H \"Authorization: Bearer $(pmm token)\" http://127.0.0.1:8780/pause",
            cmd_token)
    p.add_argument("--config", default=None)
