"""Tick-to-order latency through the real multi-process pipeline, next to a bare relay chain.

Pipeline: bench/feed.py (Polymarket market-channel wire) -> real ingest -> real quoters
-> real risk -> a probe bound where the executor's command socket would be, which records
monotonic_ns() - ts_recv_ns (ingest's receive stamp) of every approved ladder.
Baseline: bench/relay.py, the same three hops (PUB/SUB, PUSH/PULL, PUSH/PULL) with bare
pyzmq, the same rate, in the same run. Prints p50/p99/p99.9 and the ratio; writes
bench/results/latency.json.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec
import zmq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import config as config_mod  # noqa: E402
from common.messages import ApprovedIntent, ExecutorCommand  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentiles(samples: list[int]) -> dict[str, float]:
    if not samples:
        return {"p50_us": float("nan"), "p99_us": float("nan"), "p999_us": float("nan")}
    s = sorted(samples)

    def q(p: float) -> float:
        return s[min(len(s) - 1, int(p * len(s)))] / 1000

    return {"p50_us": q(0.50), "p99_us": q(0.99), "p999_us": q(0.999)}


def write_config(d: Path, markets: int, quoters: int, feed_port: int) -> Path:
    lines = [
        f'[stack]\nrun_dir = "{d}/run"\nquoters = {quoters}\nlog_level = "WARNING"\n',
        f'[venues.polymarket]\nws_url = "ws://127.0.0.1:{feed_port}/ws"\n',
        "[quoting]\nthreshold = 0.0\ninterval_ms = 60000\n",
        "[risk]\nmax_total_exposure_usd = 1000000\ncommand_ttl_ms = 60000\nquoter_timeout_ms = 60000\n",
        "[sim]\nenabled = false\n",
    ]
    for k in range(markets):
        lines.append(
            f'[[markets]]\nid = "m{k}"\nvenue = "polymarket"\nvenue_market = "0x{k:064x}"\n'
            f'yes_token = "{10**20 + 2 * k}"\nno_token = "{10**20 + 2 * k + 1}"\n'
        )
    path = d / "bench.toml"
    path.write_text("\n".join(lines))
    return path


def pipeline(rate: float, duration: float, markets: int, quoters: int) -> tuple[list[int], int]:
    d = Path(tempfile.mkdtemp(prefix="pmmb-", dir="/tmp"))
    feed_port = free_port()
    cfg_path = write_config(d, markets, quoters, feed_port)
    cfg = config_mod.load(cfg_path)
    env = {**os.environ, "PMM_CONTROL_SECRET": "b" * 32, "PYTHONPATH": str(ROOT)}
    py = sys.executable
    ctx = zmq.Context()
    probe = ctx.socket(zmq.PULL)
    probe.setsockopt(zmq.LINGER, 0)
    ep = config_mod.endpoint(cfg, "commands", "polymarket")
    Path(ep[len("ipc://"):]).parent.mkdir(parents=True, exist_ok=True)
    probe.bind(ep)
    assets = {m.yes_token: m.venue_market for m in cfg.markets}
    procs = [
        subprocess.Popen([py, "bench/feed.py", "--port", str(feed_port), "--assets", json.dumps(assets),
                          "--rate", str(rate), "--duration", str(duration), "--warmup", "6"],
                         cwd=ROOT, env=env),
        subprocess.Popen([py, "-m", "services.risk", "--config", str(cfg_path)], cwd=ROOT, env=env),
        *[subprocess.Popen([py, "-m", "services.quoter", "--config", str(cfg_path), "--shard", str(i),
                            "--shards", str(quoters)], cwd=ROOT, env=env) for i in range(quoters)],
    ]
    time.sleep(1.0)
    procs.append(subprocess.Popen([py, "-m", "services.ingest", "--config", str(cfg_path),
                                   "--venue", "polymarket"], cwd=ROOT, env=env))
    dec = msgspec.msgpack.Decoder(ExecutorCommand)
    samples: list[int] = []
    commands = 0
    start = time.monotonic()
    warm_until = start + 6.5
    feed_ends = start + 6.0 + duration  # after this, stale-feed pulls carry old stamps
    try:
        while procs[0].poll() is None and time.monotonic() - start < duration + 30:
            if not probe.poll(100):
                continue
            frame = probe.recv()
            now = time.monotonic_ns()
            msg = dec.decode(frame)
            commands += 1
            if isinstance(msg, ApprovedIntent) and msg.ts_recv_ns and warm_until < time.monotonic() < feed_ends:
                samples.append(now - msg.ts_recv_ns)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        probe.close()
        ctx.term()
    return samples, commands


def baseline(rate: float, count: int) -> list[int]:
    d = Path(tempfile.mkdtemp(prefix="pmmr-", dir="/tmp"))
    eps = [f"ipc://{d}/h{i}.sock" for i in range(4)]
    out = d / "samples.bin"
    py = sys.executable
    procs = [
        subprocess.Popen([py, "bench/relay.py", "sink", "--in", eps[3], "--count", str(count),
                          "--path", str(out), "--timeout", str(count / rate + 20)], cwd=ROOT),
        subprocess.Popen([py, "bench/relay.py", "relay_pull", "--in", eps[2], "--out", eps[3]], cwd=ROOT),
        subprocess.Popen([py, "bench/relay.py", "relay_pull", "--in", eps[1], "--out", eps[2]], cwd=ROOT),
        subprocess.Popen([py, "bench/relay.py", "relay_sub", "--in", eps[0], "--out", eps[1]], cwd=ROOT),
    ]
    src = subprocess.Popen([py, "bench/relay.py", "source", "--out", eps[0], "--rate", str(rate),
                            "--count", str(count + 200)], cwd=ROOT)
    src.wait()
    procs[0].wait(timeout=count / rate + 30)
    for p in procs[1:]:
        p.kill()
        p.wait()
    raw = out.read_bytes()
    return list(struct.unpack(f"<{len(raw) // 8}q", raw))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rate", type=float, default=1000, help="book updates per second")
    p.add_argument("--duration", type=float, default=15)
    p.add_argument("--markets", type=int, default=20)
    p.add_argument("--quoters", type=int, default=2)
    a = p.parse_args()
    print(f"pipeline: {a.rate:.0f} updates/s over {a.markets} markets, {a.quoters} quoters, {a.duration:.0f}s",
          flush=True)
    samples, commands = pipeline(a.rate, a.duration, a.markets, a.quoters)
    pipe = percentiles(samples)
    print(f"baseline: bare pyzmq relay chain, 3 hops, {a.rate:.0f} msgs/s", flush=True)
    base = percentiles(baseline(a.rate, max(1000, len(samples))))
    result = {
        **pipe,
        "baseline_p50_us": base["p50_us"], "baseline_p99_us": base["p99_us"],
        "baseline_p999_us": base["p999_us"],
        "ratio_p50": pipe["p50_us"] / base["p50_us"] if base["p50_us"] else None,
        "updates_per_sec": a.rate, "markets": a.markets, "quoters": a.quoters,
        "samples": len(samples), "commands": commands,
    }
    print(f"  pipeline  p50 {pipe['p50_us']:8.0f} us   p99 {pipe['p99_us']:8.0f} us   "
          f"p99.9 {pipe['p999_us']:8.0f} us   ({len(samples)} approved ladders)")
    print(f"  baseline  p50 {base['p50_us']:8.0f} us   p99 {base['p99_us']:8.0f} us   "
          f"p99.9 {base['p999_us']:8.0f} us")
    print(f"  ratio p50 {result['ratio_p50']:.2f}x")
    out = ROOT / "bench" / "results" / "latency.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
