"""Tick-to-order latency through the real multi-process pipeline, next to a bare relay chain.

Pipeline (bench/pipeline.py): bench/feed.py (Polymarket market-channel wire) -> real ingest
-> real quoters -> real risk -> a probe bound where the executor's command socket would be,
which records monotonic_ns() - ts_recv_ns (ingest's receive stamp) of every approved ladder.
Baseline: bench/relay.py, the same three hops (PUB/SUB, PUSH/PULL, PUSH/PULL) with bare
pyzmq, the same rate, run right after each pipeline case; then the same chain with
zmq.asyncio relays, with the services' hot loop (common/hotloop.py) and with a synchronous
zmq_poll loop, no app code, each with the CPU its processes spent per message (on this VM a
process that sleeps between messages pays 55-85 us of CPU per wake-up, bare relay or not).
Each approved ladder's stamps split the pipeline into ingest + hop + quoter, hop + risk
and the hop to the executor. Ingest's books are not watched during these cases (one more
woken process on 2 cores). The matrix is every (--rates x --quoters) case on --markets
markets, `--repeat` times; the headline is the median run (by ratio) of 1,000/s with 2
quoters.
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
    run = run_pipeline(rate, duration, markets, quoters, watch_md=False)
    pipe = percentiles(run.samples)
    # The three stages of each sample, from the stamps the approved ladder carries.
    stage_ns = {
        "ingest_hop_quoter": run.to_intent,
        "hop_risk": run.intent_to_approved,
        "hop_executor": [t - a for t, a in zip(run.samples, run.to_approved)],
    }
    stages = {k: percentiles(v)["p50_us"] for k, v in stage_ns.items()}
    n = int(min(max(2000, len(run.samples)), rate * duration))
    relays = {kind: run_relay(rate, n, kind=kind) for kind in ("bare", "asyncio", "hot", "poll")}
    rp = {kind: percentiles(r.samples) for kind, r in relays.items()}
    base = rp["bare"]
    commands_per_s = run.commands / (duration - 0.5)
    result: dict[str, object] = {
        **pipe,
        "baseline_p50_us": base["p50_us"], "baseline_p99_us": base["p99_us"],
        "baseline_p999_us": base["p999_us"],
        "asyncio_relay_p50_us": rp["asyncio"]["p50_us"], "asyncio_relay_p99_us": rp["asyncio"]["p99_us"],
        "hotloop_relay_p50_us": rp["hot"]["p50_us"], "hotloop_relay_p99_us": rp["hot"]["p99_us"],
        "poll_relay_p50_us": rp["poll"]["p50_us"], "poll_relay_p99_us": rp["poll"]["p99_us"],
        "ratio_p50": round(pipe["p50_us"] / base["p50_us"], 2) if base["p50_us"] else None,
        "ratio_p99": round(pipe["p99_us"] / base["p99_us"], 2) if base["p99_us"] else None,
        "stage_p50_us": stages,
        "relay_cpu_us_per_msg": {kind: r.cpu_us_per_msg for kind, r in relays.items()},
        "updates_per_sec": rate,
        "feed_achieved_per_sec": round(run.feed_sent / run.feed_seconds) if run.feed_seconds else 0,
        "commands_per_sec": round(commands_per_s),
        "markets": markets, "quoters": quoters, "samples": len(run.samples), "load_1min": round(load, 2),
        "cpu_share_of_one_core": run.cpu_share,
        "cpu_us_per_command": {n: round(c * 1e6 / max(1.0, commands_per_s), 1)
                               for n, c in run.cpu_share.items()},
    }
    print(f"  pipeline  p50 {pipe['p50_us']:8.0f} us   p99 {pipe['p99_us']:8.0f} us   "
          f"p99.9 {pipe['p999_us']:8.0f} us   ({len(run.samples)} approved ladders)")
    print(f"  stages p50: ingest + hop + quoter {stages['ingest_hop_quoter']:.0f} us, hop + risk "
          f"{stages['hop_risk']:.0f} us, hop to the executor {stages['hop_executor']:.0f} us")
    for kind, label in (("bare", "baseline (blocking pyzmq)"), ("asyncio", "zmq.asyncio relays"),
                        ("hot", "hot-loop relays (as the services)"), ("poll", "zmq_poll relays")):
        print(f"  {label:34s} p50 {rp[kind]['p50_us']:7.0f} us   p99 {rp[kind]['p99_us']:7.0f} us   "
              f"CPU us/msg {relays[kind].cpu_us_per_msg}")
    print(f"  CPU us per approved ladder: {result['cpu_us_per_command']}")
    print(f"  ratio p50 {result['ratio_p50']}x; feed achieved {result['feed_achieved_per_sec']:,}/s, "
          f"risk approved {result['commands_per_sec']:,}/s", flush=True)
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rates", default="1000,10000", help="book updates per second, comma separated")
    p.add_argument("--quoters", default="2,4", help="quoter counts, comma separated")
    p.add_argument("--markets", type=int, default=100)
    p.add_argument("--duration", type=float, default=10, help="measured seconds per case")
    p.add_argument("--repeat", type=int, default=1,
                   help="run the matrix N times, interleaved (this VM's speed drifts by 2x over "
                        "minutes); the headline is the median run")
    p.add_argument("--append", action="store_true",
                   help="merge into the existing latency.json (replacing the same cases)")
    a = p.parse_args()
    out = ROOT / "bench" / "results" / "latency.json"
    runs = [case(float(r), a.markets, int(q), a.duration)
            for _ in range(a.repeat) for r in a.rates.split(",") for q in a.quoters.split(",")]
    if a.append and out.exists():
        def key(r: dict[str, object]) -> tuple[object, ...]:
            return (r["updates_per_sec"], r["markets"], r["quoters"])

        new = {key(r) for r in runs}
        runs = [r for r in json.loads(out.read_text()).get("runs", []) if key(r) not in new] + runs
        runs.sort(key=lambda r: (r["updates_per_sec"] != 1000 or r["quoters"] != 2, key(r)))
    # The headline: the median run (by ratio) of 1,000 updates/s with 2 quoters when present.
    heads = sorted((r for r in runs if r["updates_per_sec"] == 1000 and r["quoters"] == 2),
                   key=lambda r: float(r["ratio_p50"] or 0)) or runs[:1]
    head = heads[len(heads) // 2]
    result = {k: head[k] for k in ("p50_us", "p99_us", "p999_us", "baseline_p50_us", "baseline_p99_us",
                                   "ratio_p50", "updates_per_sec", "markets", "quoters")}
    result["runs"] = runs
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
