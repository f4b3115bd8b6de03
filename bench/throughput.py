"""Throughput: the highest book-update rate the pipeline sustains, and what it does past it.

Runs bench/pipeline.py (feed -> ingest -> quoters -> risk -> probe, 100 markets) at rising
rates. Per rate: the feed's achieved rate, books ingest published, approved commands,
conflation (the share of books no command came from: quoters and risk keep only the
newest book/intent per market), and lag over time: ingest's publication lag behind the
feed's own event stamps and tick-to-order p50, first third vs last third of the run. A
rate is sustained when ingest keeps up (lag p50 under --max-lag-ms and not growing) and
tick-to-order p50 stays under --max-latency-ms; past it, the question is whether the stack conflates (bounded
lag, fewer commands per book) or builds a backlog (lag growing with time).
Writes bench/results/throughput.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from pipeline import percentiles, run_pipeline  # noqa: E402


def thirds(values: list[float]) -> tuple[float, float]:
    vals = [v for v in values if not math.isnan(v)]
    if len(vals) < 3:
        return float("nan"), float("nan")
    k = len(vals) // 3
    return statistics.median(vals[:k]), statistics.median(vals[-k:])


def one_rate(rate: float, duration: float, markets: int, quoters: int, max_lag_ms: float,
             max_latency_ms: float) -> dict[str, object]:
    load = os.getloadavg()[0]
    run = run_pipeline(rate, duration, markets, quoters)
    secs = run.per_second
    lag_first, lag_last = thirds([s["ingest_lag_p50_ms"] for s in secs])
    lat_first, lat_last = thirds([s["latency_p50_us"] for s in secs])
    achieved = run.feed_sent / run.feed_seconds if run.feed_seconds else 0.0
    window = duration - 0.5  # pipeline.py measures from WARMUP_S + 0.5 s to the feed's end
    books_per_s = run.books / window
    cmds_per_s = run.commands / window
    growing = lag_last > lag_first + 20  # ms: ingest falling further behind the feed
    sustained = (not growing and lag_last < max_lag_ms and books_per_s > 0.85 * achieved
                 and achieved > 0.9 * rate and lat_last < max_latency_ms * 1000)
    row: dict[str, object] = {
        "updates_per_sec": rate, "feed_achieved_per_sec": round(achieved),
        "books_published_per_sec": round(books_per_s), "commands_per_sec": round(cmds_per_s),
        "conflation": round(1 - cmds_per_s / books_per_s, 3) if books_per_s else None,
        "ingest_lag_p50_ms_first_third": lag_first, "ingest_lag_p50_ms_last_third": lag_last,
        "latency_p50_us_first_third": lat_first, "latency_p50_us_last_third": lat_last,
        **percentiles(run.samples), "lag_growing": growing, "sustained": sustained,
        "load_1min": round(load, 2), "per_second": secs,
    }
    print(f"  {rate:>7,.0f}/s: feed {achieved:>7,.0f}/s  ingest {books_per_s:>7,.0f} books/s  "
          f"risk {cmds_per_s:>6,.0f} cmds/s  conflation {row['conflation']}  ingest lag p50 "
          f"{lag_first:.0f}->{lag_last:.0f} ms  tick-to-order p50 {lat_first:.0f}->{lat_last:.0f} us  "
          f"{'sustained' if sustained else 'NOT sustained'} (load {load:.2f})", flush=True)
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rates", default="1000,2000,4000,8000,16000")
    p.add_argument("--markets", type=int, default=100)
    p.add_argument("--quoters", type=int, default=2)
    p.add_argument("--duration", type=float, default=9)
    p.add_argument("--max-lag-ms", type=float, default=50)
    p.add_argument("--max-latency-ms", type=float, default=10, help="tick-to-order p50 bound")
    p.add_argument("--append", action="store_true",
                   help="merge into the existing throughput.json (replacing the same rates)")
    a = p.parse_args()
    out = ROOT / "bench" / "results" / "throughput.json"
    print(f"throughput: {a.markets} markets, {a.quoters} quoters, {a.duration:.0f}s per rate", flush=True)
    rows = [one_rate(float(r), a.duration, a.markets, a.quoters, a.max_lag_ms, a.max_latency_ms) for r in a.rates.split(",")]
    if a.append and out.exists():
        new = {r["updates_per_sec"] for r in rows}
        rows = [r for r in json.loads(out.read_text()).get("rates", []) if r["updates_per_sec"] not in new] + rows
        rows.sort(key=lambda r: float(r["updates_per_sec"]))  # type: ignore[arg-type]
    ok = [r for r in rows if r["sustained"]]
    past = [r for r in rows if not r["sustained"]]
    result = {
        "max_sustained_updates_per_sec": max((float(r["updates_per_sec"]) for r in ok), default=0.0),
        "max_feed_achieved_per_sec": max(float(r["feed_achieved_per_sec"]) for r in rows),  # type: ignore[arg-type]
        "past_max": ("conflates (bounded lag)" if past and not any(r["lag_growing"] for r in past)
                     else "backlog (lag grows)" if past else "not reached"),
        "markets": a.markets, "quoters": a.quoters, "rates": rows,
    }
    print(f"  highest sustained rate: {result['max_sustained_updates_per_sec']:,.0f} updates/s; "
          f"past it: {result['past_max']}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
