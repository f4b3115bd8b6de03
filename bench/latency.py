"""Tick-to-order latency through the real multi-process pipeline, next to a bare relay chain.

Pipeline (bench/pipeline.py): bench/feed.py (Polymarket market-channel wire) -> real ingest
-> real quoters -> real risk -> a probe bound where the executor's command socket would be,
which records monotonic_ns() - ts_recv_ns (ingest's receive stamp) of every approved ladder.
Baseline: bench/relay.py, the same three hops (PUB/SUB, PUSH/PULL, PUSH/PULL) with bare
pyzmq, the same rate, run right after each pipeline case; then the same chain with
zmq.asyncio relays and with the services' hot loop (common/hotloop.py), no app code. The matrix is every
(--rates x --quoters) case on --markets markets; the first case is the headline.
Prints p50/p99/p99.9 and the ratio per case; writes bench/results/latency.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from pipeline import percentiles, run_pipeline, run_relay  # noqa: E402


def case(rate: float, markets: int, quoters: int, duration: float) -> dict[str, object]:
    load = os.getloadavg()[0]
    print(f"pipeline: {rate:,.0f} updates/s over {markets} markets, {quoters} quoters, {duration:.0f}s "
          f"(load {load:.2f})", flush=True)
    run = run_pipeline(rate, duration, markets, quoters)
    pipe = percentiles(run.samples)
    hop = percentiles(run.to_approved)
    md_hop = percentiles(run.to_bench_md)
    n = int(min(max(2000, len(run.samples)), rate * duration))
    base = percentiles(run_relay(rate, n))
    abase = percentiles(run_relay(rate, n, asyncio_relays=True))
    hbase = percentiles(run_relay(rate, n, hot_loop=True))
    achieved = run.feed_sent / run.feed_seconds if run.feed_seconds else 0.0
    result: dict[str, object] = {
        **pipe,
        "baseline_p50_us": base["p50_us"], "baseline_p99_us": base["p99_us"],
        "baseline_p999_us": base["p999_us"],
        "asyncio_relay_p50_us": abase["p50_us"], "asyncio_relay_p99_us": abase["p99_us"],
        "hotloop_relay_p50_us": hbase["p50_us"], "hotloop_relay_p99_us": hbase["p99_us"],
        "ratio_p50": round(pipe["p50_us"] / base["p50_us"], 2) if base["p50_us"] else None,
        "ratio_p99": round(pipe["p99_us"] / base["p99_us"], 2) if base["p99_us"] else None,
        "ingest_publish_to_bench_sub_p50_us": md_hop["p50_us"],
        "ingest_to_risk_approval_p50_us": hop["p50_us"], "ingest_to_risk_approval_p99_us": hop["p99_us"],
        "updates_per_sec": rate, "feed_achieved_per_sec": round(achieved),
        "books_published_per_sec": round(run.books / (duration - 0.5)),
        "commands_per_sec": round(run.commands / (duration - 0.5)),
        "markets": markets, "quoters": quoters, "samples": len(run.samples), "load_1min": round(load, 2),
        "cpu_share_of_one_core": run.cpu_share,
        "cpu_us_per_book": {n: round(c * 1e6 / max(1, run.books / (duration - 0.5)), 1)
                            for n, c in run.cpu_share.items()},
    }
    print(f"  pipeline  p50 {pipe['p50_us']:8.0f} us   p99 {pipe['p99_us']:8.0f} us   "
          f"p99.9 {pipe['p999_us']:8.0f} us   ({len(run.samples)} approved ladders)")
    print(f"  of which ingest receive -> risk approval p50 {hop['p50_us']:.0f} us, p99 {hop['p99_us']:.0f} us "
          f"(the rest: risk send -> executor socket); ingest receive -> a SUB here p50 {md_hop['p50_us']:.0f} us")
    print(f"  baseline  p50 {base['p50_us']:8.0f} us   p99 {base['p99_us']:8.0f} us   "
          f"p99.9 {base['p999_us']:8.0f} us")
    print(f"  asyncio relay chain (zmq.asyncio + uvloop, Poller + drain, the services before issue 9) "
          f"p50 {abase['p50_us']:.0f} us   p99 {abase['p99_us']:.0f} us")
    print(f"  hot-loop relay chain (common/hotloop.py on uvloop, as the services now) p50 "
          f"{hbase['p50_us']:.0f} us   p99 {hbase['p99_us']:.0f} us")
    print(f"  CPU (share of one core): {run.cpu_share}")
    print(f"  ratio p50 {result['ratio_p50']}x; feed achieved {achieved:,.0f}/s, ingest published "
          f"{result['books_published_per_sec']:,}/s, risk approved {result['commands_per_sec']:,}/s", flush=True)
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rates", default="1000,10000", help="book updates per second, comma separated")
    p.add_argument("--quoters", default="2,4", help="quoter counts, comma separated")
    p.add_argument("--markets", type=int, default=100)
    p.add_argument("--duration", type=float, default=10, help="measured seconds per case")
    p.add_argument("--append", action="store_true",
                   help="merge into the existing latency.json (replacing the same cases)")
    a = p.parse_args()
    out = ROOT / "bench" / "results" / "latency.json"
    runs = [case(float(r), a.markets, int(q), a.duration)
            for r in a.rates.split(",") for q in a.quoters.split(",")]
    if a.append and out.exists():
        def key(r: dict[str, object]) -> tuple[object, ...]:
            return (r["updates_per_sec"], r["markets"], r["quoters"])

        new = {key(r) for r in runs}
        runs = [r for r in json.loads(out.read_text()).get("runs", []) if key(r) not in new] + runs
        runs.sort(key=lambda r: (r["updates_per_sec"] != 1000 or r["quoters"] != 2, key(r)))
    head = runs[0]  # the headline: 1,000 updates/s with 2 quoters when present
    result = {k: head[k] for k in ("p50_us", "p99_us", "p999_us", "baseline_p50_us", "baseline_p99_us",
                                   "ratio_p50", "updates_per_sec", "markets", "quoters")}
    result["runs"] = runs
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
