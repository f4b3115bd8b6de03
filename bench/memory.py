"""Resident memory of every process over a soak of the real stack.

Starts the whole stack under supervisord on the built-in simulator with --markets
generated markets (the simulator steps every market's book every 100 ms: about
1,000 book updates/s at 100 markets, with its default synthetic flow, so orders are
placed, filled and requoted throughout), waits --warmup seconds, then samples VmRSS of
every supervisord program from /proc every --interval seconds for --minutes. Per
process: first and last sample, peak, and the least-squares slope in MiB per minute;
a process "grows" when its slope times the soak length exceeds --tolerance-mib.
Writes bench/results/memory.json (with every sample).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from stackrun import make_stack, wait_quoted  # noqa: E402


def rss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return None


def slope_per_min(points: list[tuple[float, float]]) -> float:
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    var = sum((t - mx) ** 2 for t, _ in points)
    return 60 * sum((t - mx) * (v - my) for t, v in points) / var if var else 0.0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=0.6)
    p.add_argument("--markets", type=int, default=100)
    p.add_argument("--interval", type=float, default=2.0)
    p.add_argument("--warmup", type=float, default=8.0)
    p.add_argument("--tolerance-mib", type=float, default=5.0)
    a = p.parse_args()
    stack = make_stack(a.markets, calm=False)
    print(f"memory soak: {a.markets} markets, {a.minutes:g} min after {a.warmup:g}s warm-up "
          f"(load {os.getloadavg()[0]:.2f})", flush=True)
    samples: dict[str, list[tuple[float, float]]] = {}
    try:
        stack.up()
        with httpx.Client() as client:
            orders, quoted = wait_quoted(stack, client, a.markets, 45)
        print(f"  quoted: {orders} open orders on {quoted} markets", flush=True)
        time.sleep(a.warmup)  # warm-up: imports, caches and books settle before sampling
        pids = {name: int(info["pid"]) for name, info in stack.processes().items() if info["pid"]}
        start = time.monotonic()
        end = start + a.minutes * 60
        next_at = start
        while time.monotonic() < end:
            t = time.monotonic() - start
            for name, pid in pids.items():
                kib = rss_kib(pid)
                if kib is not None:
                    samples.setdefault(name, []).append((round(t, 1), round(kib / 1024, 2)))
            next_at += a.interval
            time.sleep(max(0.0, next_at - time.monotonic()))  # sampling period
        restarts = {n: i["pid"] != pids.get(n) for n, i in stack.processes().items()}
    finally:
        stack.cleanup()
    per: dict[str, dict[str, object]] = {}
    for name, pts in sorted(samples.items()):
        slope = slope_per_min(pts)
        per[name] = {"first_mib": pts[0][1], "last_mib": pts[-1][1], "peak_mib": max(v for _, v in pts),
                     "slope_mib_per_min": round(slope, 3),
                     "grows": slope * a.minutes > a.tolerance_mib, "restarted": restarts.get(name, False),
                     "samples": pts}
        print(f"  {name:22s} {pts[0][1]:7.1f} -> {pts[-1][1]:7.1f} MiB  peak {per[name]['peak_mib']:7.1f}  "
              f"slope {slope:+.2f} MiB/min{'  GROWS' if per[name]['grows'] else ''}", flush=True)
    result = {"minutes": a.minutes, "markets": a.markets, "interval_s": a.interval,
              "any_growth": any(v["grows"] for v in per.values()), "processes": per,
              "load_1min": round(os.getloadavg()[0], 2)}
    out = ROOT / "bench" / "results" / "memory.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
