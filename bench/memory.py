"""Resident memory of every process over a soak of the real stack: flat, or growing?

Starts the whole stack under supervisord on the built-in simulator with --markets
generated markets (the simulator steps every market's book every 100 ms: about
1,000 book updates/s at 100 markets, with its default synthetic flow, so orders are
placed, filled and requoted throughout), waits until every market is quoted plus
--warmup seconds, then samples VmRSS of every supervisord program from /proc every
--interval seconds for --minutes, printing one line per sample.

Verdict per process: RSS at the start (first sample after warm-up) and at the end, the
peak, and the least-squares slope in MiB/hour over the second half of the soak (the
first half absorbs warm-up: caches, bounded buffers and allocator arenas filling up).
A process "grows" when that slope exceeds --tolerance-mib-per-hour; otherwise it is
"flat". A restarted process (new pid) is reported as such. Writes
bench/results/memory.json (with every sample, and the simulator's order and fill counts).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from stackrun import make_stack, wait_quoted  # noqa: E402

SHORT = {"executor-polymarket": "executor", "ingest-polymarket": "ingest", "venue_sim": "sim"}


def rss_kib(pid: int) -> int | None:
    """VmRSS of `pid` in KiB; None if it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return None


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MiB) points, in MiB per hour."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    var = sum((t - mx) ** 2 for t, _ in points)
    return 3600 * sum((t - mx) * (v - my) for t, v in points) / var if var else 0.0


def verdict(pts: list[tuple[float, float]], tolerance_mib_h: float) -> dict[str, Any]:
    """Start/end/peak and the second-half slope of one process's samples."""
    half = pts[len(pts) // 2:] if len(pts) >= 4 else pts
    slope = slope_per_hour(half)
    return {"start_mib": pts[0][1], "end_mib": pts[-1][1], "peak_mib": max(v for _, v in pts),
            "change_mib": round(pts[-1][1] - pts[0][1], 2),
            "slope_mib_per_hour": round(slope, 2),
            "slope_all_mib_per_hour": round(slope_per_hour(pts), 2),
            "verdict": "grows" if slope > tolerance_mib_h else "flat"}


def sim_counts(client: httpx.Client, port: int) -> dict[str, int]:
    """Our open orders and the fills the simulator reports for our accounts."""
    try:
        state = client.get(f"http://127.0.0.1:{port}/_sim/state", timeout=10).json()
    except (httpx.HTTPError, ValueError):
        return {}
    accts = [a for a in state["accounts"].values()]
    return {"open_orders": sum(len(a["open_orders"]) for a in accts),
            "fills_listed": sum(len(a["fills"]) for a in accts),
            "trades_total": sum(int(a.get("trades_total", len(a["fills"]))) for a in accts),
            "orders_forgotten": int(state.get("orders_forgotten", 0))}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=0.6)
    p.add_argument("--markets", type=int, default=100)
    p.add_argument("--interval", type=float, default=0.0,
                   help="seconds between samples (default: soak length / 60, 2..60 s)")
    p.add_argument("--warmup", type=float, default=30.0)
    p.add_argument("--tolerance-mib-per-hour", type=float, default=5.0)
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "memory.json"))
    a = p.parse_args()
    if a.minutes <= 0 or a.markets <= 0:
        p.error("--minutes and --markets must be > 0")
    interval = a.interval or min(60.0, max(2.0, a.minutes))
    stack = make_stack(a.markets, calm=False)
    print(f"memory soak: {a.markets} markets, {a.minutes:g} min, a sample every {interval:g}s "
          f"after a {a.warmup:g}s warm-up (load {os.getloadavg()[0]:.2f})", flush=True)
    samples: dict[str, list[tuple[float, float]]] = {}
    counts: dict[str, dict[str, int]] = {}
    try:
        stack.up()
        with httpx.Client() as client:
            orders, quoted = wait_quoted(stack, client, a.markets, 90)
            print(f"  quoted: {orders} open orders on {quoted} markets", flush=True)
            time.sleep(a.warmup)  # warm-up: imports, caches and books settle before sampling
            counts["start"] = sim_counts(client, stack.sim_port)
            pids = {n: int(i["pid"]) for n, i in stack.processes().items() if i["pid"]}
            names = sorted(pids)
            print("  t(s)  " + " ".join(f"{SHORT.get(n, n):>9s}" for n in names) + "   (RSS MiB)",
                  flush=True)
            start = time.monotonic()
            end = start + a.minutes * 60
            k = 0
            while True:
                t = time.monotonic() - start
                row = []
                for name in names:
                    kib = rss_kib(pids[name])
                    if kib is not None:
                        samples.setdefault(name, []).append((round(t, 1), round(kib / 1024, 2)))
                    row.append(f"{kib / 1024:9.1f}" if kib is not None else f"{'gone':>9s}")
                print(f"  {t:5.0f} " + " ".join(row) + f"   load {os.getloadavg()[0]:.1f}",
                      flush=True)
                k += 1
                if start + k * interval > end + 0.5:
                    break
                time.sleep(max(0.0, start + k * interval - time.monotonic()))  # sampling period
            counts["end"] = sim_counts(client, stack.sim_port)
        restarts = {n: i["pid"] != pids.get(n) for n, i in stack.processes().items()}
    finally:
        stack.cleanup()
    per: dict[str, dict[str, Any]] = {}
    print(f"  {'process':22s} {'start':>7s} {'end':>7s} {'peak':>7s}  {'2nd-half slope':>16s}")
    for name, pts in sorted(samples.items()):
        v = verdict(pts, a.tolerance_mib_per_hour)
        v["restarted"] = restarts.get(name, False)
        per[name] = {**v, "samples": pts}
        print(f"  {name:22s} {v['start_mib']:7.1f} {v['end_mib']:7.1f} {v['peak_mib']:7.1f}  "
              f"{v['slope_mib_per_hour']:+9.1f} MiB/h  {v['verdict'].upper()}"
              f"{'  RESTARTED' if v['restarted'] else ''}", flush=True)
    result = {"minutes": a.minutes, "markets": a.markets, "interval_s": interval,
              "warmup_s": a.warmup, "tolerance_mib_per_hour": a.tolerance_mib_per_hour,
              "any_growth": any(v["verdict"] == "grows" or v["restarted"] for v in per.values()),
              "sim": counts, "processes": per, "load_1min": round(os.getloadavg()[0], 2)}
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"  simulator: {counts.get('start')} -> {counts.get('end')}")
    print(f"{'SOME PROCESS GROWS' if result['any_growth'] else 'all flat'}; wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
