"""pmm start, stop, list, config: change the running set of markets and their settings.

Changes go to `<run_dir>/overlay.toml` (common/overlay.py), never to the config file, and
survive restarts. Quoting settings reach the quoters at their next requote (they watch the
overlay); adding or removing a market, or changing a limit, restarts the programs that hold
the market list (ingest, risk, executor, quoters) through supervisord.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from common import overlay
from common.config import Config
from services.control import markets, stack
from services.control.commands import add, say

__all__ = ["LIVE", "cmd_config", "cmd_list", "cmd_start", "cmd_stop", "register"]

# Programs that pick the overlay up live (an overlay watcher calling reconfigure).
LIVE = {"quoter", "control"}


def _flags(p: argparse.ArgumentParser) -> None:
    for f in markets.FLAGS:
        if f.kind is bool:
            p.add_argument(f"--{f.flag}", dest=f.field, action=argparse.BooleanOptionalAction,
                           default=None, help=f.help)
        else:
            p.add_argument(f"--{f.flag}", dest=f.field, type=f.kind, default=None, help=f.help,
                           choices=list(f.choices) or None, metavar=f.kind.__name__.upper())


def _changes(args: argparse.Namespace) -> dict[str, Any]:
    return {f.field: getattr(args, f.field) for f in markets.FLAGS if getattr(args, f.field) is not None}


def _running(cfg: Config) -> None:
    if not stack.is_running(cfg.run_dir):
        raise stack.StackError(f"no stack is running in {cfg.run_dir}; start it with `pmm up` "
                               "(changes are kept in the overlay and apply at the next `pmm up`)")


def _restart(cfg: Config, programs: list[str], *, market_set: bool = False) -> None:
    """Restart what cannot take the change live; a changed market set needs every program."""
    todo = programs if market_set else [p for p in programs if p not in LIVE]
    if todo:
        stack.restart_programs(cfg.run_dir, todo, progress=say)


def _market_programs(cfg: Config) -> list[str]:
    venues = cfg.venues_in_use()
    return [*(f"ingest-{v}" for v in venues), "risk", *(f"executor-{v}" for v in venues), "quoter"]


def cmd_list(args: argparse.Namespace) -> int:
    base, _ = stack.find(args.config)
    cfg = overlay.effective(base)
    rows = [{"id": m.id, "venue": m.venue, "venue_market": m.venue_market, "name": m.name}
            for m in cfg.markets]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'id':20s} {'venue':10s} {'name':34s} venue market")
    for r in rows:
        print(f"{r['id'][:20]:20s} {r['venue']:10s} {r['name'][:34]:34s} {r['venue_market']}")
    return 0


def cmd_start(args: argparse.Namespace) -> int:
    base, _ = stack.find(args.config)
    _running(base)
    new, market_id = markets.start(base, args.venue, args.market, args.token, _changes(args), args.id)
    say(f"added market {market_id}; restarting the programs that hold the market list")
    _restart(new, _market_programs(new), market_set=True)
    print(market_id)
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    base, _ = stack.find(args.config)
    _running(base)
    old = overlay.effective(base)
    markets.stop(base, args.id)
    say(f"stopped market {args.id}; its orders are cancelled as the programs restart without it")
    _restart(old, _market_programs(old), market_set=True)
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    base, _ = stack.find(args.config)
    changes = _changes(args)
    if not changes:
        print(json.dumps(markets.settings(overlay.effective(base), args.id), indent=2))
        return 0
    new = markets.configure(base, args.id, changes)
    print(json.dumps(markets.settings(new, args.id), indent=2))
    if stack.is_running(base.run_dir):
        scopes = {markets.BY_FIELD[k].scope for k in changes}
        if "market" in scopes:
            venue = new.market(args.id).venue
            _restart(new, ["risk"] + ([f"executor-{venue}"] if "neg_risk" in changes else []))
        say(f"{', '.join('--' + markets.BY_FIELD[k].flag for k in changes)} changed for {args.id}; "
            "quoters apply it at the next requote")
    else:
        say("no stack is running: the change is saved and applies at the next `pmm up`")
    return 0


def register(sub: Any) -> None:
    p = add(sub, "list", "List the markets the stack runs (config file plus runtime changes).",
            "pmm list\npmm list --json", cmd_list)
    p.add_argument("--config", default=None)
    p.add_argument("--json", action="store_true", help="print JSON for scripts")

    p = add(sub, "start", "Start quoting a market on a running stack.",
            "pmm start polymarket 0x13a4...a389 6599...6830 --spread 0.03 --size 20\n"
            "pmm start polymarket COND_ID TOKEN_ID --id fed-dec --max-loss 50 --name 'Fed cut?'",
            cmd_start)
    p.add_argument("venue", choices=["polymarket", "kalshi"])
    p.add_argument("market", help="the venue's market id (Polymarket condition id, Kalshi ticker)")
    p.add_argument("token", help="a token of the market (Polymarket token id; Kalshi: the ticker)")
    p.add_argument("--id", default="", help="pmm's id for it (default: from the name)")
    p.add_argument("--config", default=None)
    _flags(p)

    p = add(sub, "stop", "Stop quoting a market: cancel its orders and drop it from the stack.",
            "pmm stop btc-150k", cmd_stop)
    p.add_argument("id", help="market id (`pmm list`)")
    p.add_argument("--config", default=None)

    p = add(sub, "config", "Show a market's settings as JSON, or change them (next requote).",
            "pmm config fed-cut-dec\npmm config fed-cut-dec --spread 0.03 --size 20\n"
            "pmm config fed-cut-dec --max-loss 50", cmd_config)
    p.add_argument("id", help="market id (`pmm list`)")
    p.add_argument("--config", default=None)
    _flags(p)
