"""Quoted time under the venues' enforced rate limits (issue 14).

Runs each demo config (deploy/demo.toml: 5 Polymarket markets; deploy/demo-kalshi.toml:
3 Kalshi markets) through the real stack (`pmm up` / `pmm down` under supervisord, the
built-in simulator with its default, enforced limits), waits until every market is quoted,
then samples the simulator's own `GET /_sim/state` every ~100 ms for `--seconds` and reports
per market the share of samples with a bid and an ask of ours resting (a BUY on the YES
token and a BUY on the NO token), the samples with a doubled order (two of our orders on one
token at one price; apart, the samples with more orders on a token than the ladder has
levels, seen while a requote's placement lands before its cancel), and the 429s the
simulator answered (`GET /_sim/rate_limits`). Figures print and go to
bench/results/quoted.json.

    .venv/bin/python bench/quoted.py [--seconds 60] [--only demo.toml]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import config as config_mod  # noqa: E402
from services.venue_sim.markets import kalshi_tokens  # noqa: E402

DEMOS = {"demo.toml": 5, "demo-kalshi.toml": 3}
"""Config -> the markets it quotes."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def demo_config(name: str, run_dir: Path) -> Path:
    """The demo config as shipped, moved to free ports and a private run directory."""
    text = (ROOT / "deploy" / name).read_text()
    sim_port = free_port()
    text = re.sub(r"127\.0\.0\.1:871\d", f"127.0.0.1:{sim_port}", text)
    text = re.sub(r"(?m)^port = 871\d$", f"port = {sim_port}", text)
    text = re.sub(r'(?m)^run_dir = ".*"$', f'run_dir = "{run_dir}"', text)
    text += f"\n[control]\nhttp_port = {free_port()}\n[exporter]\nport = {free_port()}\n"
    path = run_dir.parent / "pmm.toml"
    path.write_text(text)
    return path


def pmm(config: Path, *args: str, timeout_s: float = 120) -> None:
    subprocess.run([sys.executable, "-m", "services.control.cli", *args, "--config", str(config)],
                   cwd=config.parent, check=True, capture_output=True, text=True,
                   timeout=timeout_s, env={**os.environ, "PYTHONPATH": str(ROOT)})


def our_orders(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [o for acct in state["accounts"].values() for o in acct["open_orders"]]


def sample(orders: list[dict[str, Any]], tokens: dict[str, tuple[str, str]],
           levels: int) -> tuple[set[str], set[str], set[str]]:
    """(markets quoted on both sides, markets with two of our orders at one price on one
    token, markets with more orders on a token than the ladder has levels) in one snapshot.
    The last happens for a moment when a requote's placement lands before its cancel."""
    sides: dict[str, set[str]] = {}
    per_price: Counter[tuple[str, str]] = Counter()
    per_token: Counter[str] = Counter()
    for o in orders:
        found = tokens.get(o["asset_id"])
        if found is None or o["side"] != "BUY":
            continue
        market, side = found
        sides.setdefault(market, set()).add(side)
        per_price[(o["asset_id"], o["price"])] += 1
        per_token[o["asset_id"]] += 1
    quoted = {m for m, s in sides.items() if s == {"yes", "no"}}
    doubled = {tokens[a][0] for (a, _), n in per_price.items() if n > 1}
    extra = {tokens[a][0] for a, n in per_token.items() if n > levels}
    return quoted, doubled, extra


def run(name: str, seconds: float, interval_s: float = 0.1) -> dict[str, Any]:
    d = Path(tempfile.mkdtemp(prefix="pmmq-", dir="/tmp"))
    config = demo_config(name, d / "run")
    cfg = config_mod.load(config)
    url = f"http://127.0.0.1:{cfg.sim.port}"
    tokens: dict[str, tuple[str, str]] = {}
    for m in cfg.markets:
        yes, no = (m.yes_token, m.no_token) if m.venue == "polymarket" else kalshi_tokens(
            m.venue_market)
        tokens[yes], tokens[no] = (m.id, "yes"), (m.id, "no")
    levels = max(cfg.quoting_for(m).max_orders for m in cfg.markets)
    ids = [m.id for m in cfg.markets]
    quoted: Counter[str] = Counter()
    doubled: Counter[str] = Counter()
    beyond: Counter[str] = Counter()
    samples = 0
    try:
        pmm(config, "up")
        with httpx.Client(timeout=5) as client:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:  # warm-up: every market quoted once
                try:
                    q, _, _ = sample(our_orders(client.get(f"{url}/_sim/state").json()), tokens,
                                  levels)
                except (httpx.HTTPError, ValueError, KeyError):
                    q = set()
                if len(q) == len(ids):
                    break
                time.sleep(0.2)
            refused_before = client.get(f"{url}/_sim/rate_limits").json()["refused"]
            end = time.monotonic() + seconds
            next_at = time.monotonic()
            while time.monotonic() < end:
                q, dbl, extra = sample(our_orders(client.get(f"{url}/_sim/state").json()), tokens,
                                levels)
                samples += 1
                quoted.update(q)
                doubled.update(dbl)
                beyond.update(extra)
                next_at += interval_s
                time.sleep(max(0.0, next_at - time.monotonic()))
            refused_after = client.get(f"{url}/_sim/rate_limits").json()
    finally:
        try:
            pmm(config, "down")
        finally:
            shutil.rmtree(d, ignore_errors=True)
    refused = {k: v - refused_before.get(k, 0) for k, v in refused_after["refused"].items()}
    return {
        "config": f"deploy/{name}", "markets": len(ids), "seconds": seconds, "samples": samples,
        "polymarket_tier": refused_after["polymarket_tier"],
        "kalshi_tier": refused_after["kalshi_tier"],
        "quoted_share": {m: round(quoted[m] / samples, 4) if samples else 0.0 for m in ids},
        "doubled_samples": {m: doubled[m] for m in ids},
        "beyond_ladder_samples": {m: beyond[m] for m in ids},
        "rate_limited_429": refused,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--only", choices=sorted(DEMOS), default=None)
    args = parser.parse_args()
    results = []
    for name in [args.only] if args.only else list(DEMOS):
        r = run(name, args.seconds)
        assert r["markets"] == DEMOS[name], r
        results.append(r)
        worst = min(r["quoted_share"].values())
        print(f"{r['config']}: {r['markets']} markets, {r['samples']} samples over "
              f"{r['seconds']:.0f} s; quoted (bid and ask resting) worst {worst:.2%}, "
              f"per market {r['quoted_share']}; same-price doubles {r['doubled_samples']}; "
              f"samples beyond the ladder (mid-requote) {r['beyond_ladder_samples']}; "
              f"429s {r['rate_limited_429'] or 0}")
    out = ROOT / "bench" / "results" / "quoted.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"runs": results}, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
