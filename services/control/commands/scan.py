"""pmm scan: score the venues' listed markets and propose (or start) the best ones.

Listings come from the venues' own endpoints: Polymarket Gamma `GET /markets`
(`[venues.polymarket] gamma_url`) and Kalshi `GET /markets` (`[venues.kalshi] rest_url`;
signed with the stack's key when one is available). Scoring and filters are
common/scanner.py; starting goes through the same overlay path as `pmm start`.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import UTC, datetime
from typing import Any

import msgspec

from common import overlay, scanner
from common.config import Config, ScannerConfig
from common.errors import ConfigError
from services.control import markets, stack
from services.control.commands import add, say
from services.control.commands import markets as market_commands

__all__ = ["FLAGS", "MAX_PAGES", "PAGE", "cmd_scan", "fetch_kalshi", "fetch_polymarket",
    "register", "render", "rows_of", "scanner_config"]

PAGE = 500
MAX_PAGES = 20

# CLI flag -> [scanner] field, for overrides and for errors that name the flag.
FLAGS = {"top": "top_n", "max_markets": "max_markets", "min_liquidity": "min_liquidity_usd",
         "max_days": "max_days_to_resolution"}


def _get(url: str, params: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    import httpx  # imported where used: every `pmm` command starts faster without it

    try:
        resp = httpx.get(url, params=params, headers=headers, timeout=10.0)
    except httpx.HTTPError as exc:
        raise ConfigError(f"cannot reach the market listing at {url} ({exc.__class__.__name__}); "
                          "is the venue (or the simulator) up?") from exc
    if resp.status_code != 200:
        raise ConfigError(f"the market listing at {url} answered HTTP {resp.status_code}: "
                          f"{resp.text[:200]}")
    return resp.json()


def fetch_polymarket(cfg: Config) -> tuple[list[scanner.Candidate], int]:
    """Every open market of Gamma `GET /markets`, page by page."""
    url = cfg.venues.polymarket.gamma_url.rstrip("/") + "/markets"
    out: list[scanner.Candidate] = []
    bad = 0
    for page in range(MAX_PAGES):
        rows = _get(url, {"active": "true", "closed": "false", "limit": PAGE, "offset": page * PAGE})
        found, malformed = scanner.from_gamma(rows)
        out += found
        bad += malformed
        if not isinstance(rows, list) or len(rows) < PAGE:
            break
    return out, bad


def _kalshi_headers(cfg: Config, path: str) -> dict[str, str]:
    """Sign with the operator's key, else the stack's simulator key; unsigned otherwise
    (Kalshi serves `GET /markets` without authentication)."""
    from common.kalshi_auth import KalshiSigner

    k = cfg.venues.kalshi
    if os.environ.get(k.key_id_env) and os.environ.get(k.private_key_file_env):
        return KalshiSigner.from_env(k.key_id_env, k.private_key_file_env).headers("GET", path)
    secrets = cfg.run_dir / "secrets"
    key, key_id = secrets / "sim_kalshi_key.pem", secrets / "sim_kalshi_key_id"
    if key.exists() and key_id.exists():
        signer = KalshiSigner.from_pem(key_id.read_text().strip(), key.read_bytes())
        return signer.headers("GET", path)
    return {}


def fetch_kalshi(cfg: Config) -> tuple[list[scanner.Candidate], int]:
    """Every open market of Kalshi `GET /markets`, cursor by cursor."""
    from common.kalshi_auth import path_of

    url = cfg.venues.kalshi.rest_url.rstrip("/") + "/markets"
    out: list[scanner.Candidate] = []
    bad = 0
    cursor = ""
    for _ in range(MAX_PAGES):
        params: dict[str, Any] = {"status": "open", "limit": 1000}
        if cursor:
            params["cursor"] = cursor
        payload = _get(url, params, _kalshi_headers(cfg, path_of(url)))
        found, malformed = scanner.from_kalshi(payload)
        out += found
        bad += malformed
        cursor = str(payload.get("cursor") or "") if isinstance(payload, dict) else ""
        if not cursor:
            break
    incentives = cfg.venues.kalshi.rest_url.rstrip("/") + "/incentive_programs"
    programmes: list[Any] = []
    cursor = ""
    for _ in range(MAX_PAGES):  # public; a venue without it only scores every reward 0
        params = {"status": "active", "type": "liquidity", "limit": 1000}
        if cursor:
            params["cursor"] = cursor
        try:
            payload = _get(incentives, params)
        except ConfigError as exc:
            say(f"pmm scan: Kalshi incentive programmes not read ({exc}); rewards score 0")
            return out, bad
        page = payload.get("incentive_programs") if isinstance(payload, dict) else None
        programmes += page if isinstance(page, list) else []
        cursor = str(payload.get("next_cursor") or "") if isinstance(payload, dict) else ""
        if not cursor:
            break
    out, malformed = scanner.with_incentives(out, {"incentive_programs": programmes},
                                             datetime.now(UTC))
    return out, bad + malformed


def scanner_config(cfg: Config, args: argparse.Namespace) -> ScannerConfig:
    """`[scanner]` with the command line's overrides; a bad value names its flag and range."""
    changes = {field: getattr(args, flag) for flag, field in FLAGS.items()
               if getattr(args, flag) is not None}
    if args.venue:
        changes["venues"] = args.venue
    try:
        return msgspec.convert(msgspec.to_builtins(cfg.scanner) | changes, ScannerConfig)
    except msgspec.ValidationError as exc:
        text = str(exc)
        for flag, field in FLAGS.items():
            if f"`$.{field}`" in text:
                raise ConfigError(f"--{flag.replace('_', '-')} {changes[field]}: "
                                  f"{text.split(' - at ')[0]}") from exc
        raise ConfigError(f"{text}; check the values passed") from exc


def rows_of(ranked: list[scanner.Scored], chosen: list[scanner.Scored]) -> list[dict[str, Any]]:
    picked = {id(r) for r in chosen}
    return [{
        "venue": r.candidate.venue, "venue_market": r.candidate.venue_market,
        "token": r.candidate.token, "name": r.candidate.name, "score": round(r.score, 4),
        "components": {k: round(v, 4) for k, v in r.components.items()},
        "volume_usd": r.candidate.volume_usd, "liquidity_usd": r.candidate.liquidity_usd,
        "spread": r.candidate.spread, "price_change": r.candidate.price_change,
        "reward_usd_per_day": r.candidate.reward_usd_per_day,
        "days_to_resolution": None if r.days_to_resolution is None else round(r.days_to_resolution, 2),
        "proposed": id(r) in picked, "excluded": r.excluded,
    } for r in ranked]


def render(rows: list[dict[str, Any]]) -> str:
    header = (f"{'#':>3s} {'score':>5s} {'venue':10s} {'market':18s} {'name':32s} {'volume$':>10s} "
              f"{'liquid$':>9s} {'spread':>6s} {'move':>5s} {'days':>6s} {'reward$/d':>9s} "
              "status")
    lines = [header, "-" * len(header)]
    for i, r in enumerate(rows, 1):
        days = "-" if r["days_to_resolution"] is None else f"{r['days_to_resolution']:.1f}"
        spread = "-" if r["spread"] is None else f"{r['spread']:.2f}"
        status = "PROPOSED" if r["proposed"] else (r["excluded"] or "eligible")
        lines.append(
            f"{i:>3d} {r['score']:>5.3f} {r['venue']:10s} {r['venue_market'][:18]:18s} "
            f"{r['name'][:32]:32s} {r['volume_usd']:>10,.0f} {r['liquidity_usd']:>9,.0f} "
            f"{spread:>6s} {r['price_change']:>5.2f} {days:>6s} "
            f"{r['reward_usd_per_day']:>9,.2f} {status}")
    return "\n".join(lines)


def cmd_scan(args: argparse.Namespace) -> int:
    base, _ = stack.find(args.config)
    cfg = overlay.effective(base)
    sc = scanner_config(cfg, args)
    cands: list[scanner.Candidate] = []
    for venue in sc.venues:
        found, bad = fetch_polymarket(cfg) if venue == "polymarket" else fetch_kalshi(cfg)
        if bad:
            say(f"{venue}: skipped {bad} malformed listing row(s)")
        cands += found
    running = {(m.venue, m.venue_market) for m in cfg.markets}
    ranked = scanner.rank(cands, sc, int(time.time()), running)
    chosen = scanner.select(ranked, sc, len(cfg.markets))
    rows = rows_of(ranked, chosen)
    start = sc.auto_start if args.start is None else args.start
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(render(rows))
        room = max(0, sc.max_markets - len(cfg.markets))
        say(f"{len(cands)} listed, {sum(not r['excluded'] for r in rows)} eligible, "
            f"{len(chosen)} proposed (top {sc.top_n}, room for {room} under max-markets "
            f"{sc.max_markets})")
    if not start or not chosen:
        return 0
    if not stack.is_running(base.run_dir):
        raise stack.StackError(f"no stack is running in {base.run_dir}: nothing was added; "
                               "start it with `pmm up`, then `pmm scan --start`")
    new = base
    for r in chosen:
        c = r.candidate
        new, market_id = markets.start(base, c.venue, c.venue_market, c.token, {"name": c.name[:60]})
        say(f"added {market_id} ({c.venue} {c.venue_market})")
    market_commands._restart(new, market_commands._market_programs(new), market_set=True)
    return 0


def register(sub: Any) -> None:
    p = add(sub, "scan", "Score the venues' markets; propose (or --start) the top N.",
            "pmm scan\npmm scan --top 2 --min-liquidity 500 --max-days 60\n"
            "pmm scan --start --top 1\npmm scan --json | jq '.[0]'", cmd_scan)
    p.add_argument("--config", default=None)
    p.add_argument("--json", action="store_true", help="print every scored market as JSON")
    p.add_argument("--start", action=argparse.BooleanOptionalAction, default=None,
                   help="add the proposed markets to the running stack "
                        "(default: [scanner] auto_start)")
    p.add_argument("--top", type=int, default=None, help="how many to propose (1..100)")
    p.add_argument("--max-markets", dest="max_markets", type=int, default=None,
                   help="markets the stack may run in all (1..1000)")
    p.add_argument("--min-liquidity", dest="min_liquidity", type=float, default=None,
                   help="drop markets with less liquidity, USD (0..1e12)")
    p.add_argument("--max-days", dest="max_days", type=float, default=None,
                   help="drop markets resolving later, days (0 = no limit; 0..36500)")
    p.add_argument("--venue", action="append", choices=["polymarket", "kalshi"], default=None,
                   help="scan this venue (repeatable; default: [scanner] venues)")
