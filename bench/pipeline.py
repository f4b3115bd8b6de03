"""Shared harness: run the real ingest -> quoters -> risk pipeline against bench/feed.py.

`run_pipeline` starts feed, risk, N quoters and ingest as real processes on a generated
config (100 markets by default), binds a probe where the Polymarket executor's command
socket would be and a subscriber on ingest's market-data socket, and returns:
- tick-to-order samples: monotonic_ns() at the probe - ts_recv_ns (ingest's receive
  stamp) of every approved ladder inside the measurement window;
- per-second timelines of that latency, of ingest's publication lag (now - the feed's
  own event timestamp, ms: this one includes any backlog in front of ingest), and of
  books and commands counted, so a growing lag (backlog) is told from conflation;
- the feed's achieved rate and each process's pid (for RSS sampling).
`run_relay` is the bare pyzmq chain with the same three hops (bench/relay.py).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import zmq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import config as config_mod  # noqa: E402
from common.messages import ApprovedIntent, BookSnapshot, ExecutorCommand, MarketData  # noqa: E402

WARMUP_S = 6.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentiles(samples: list[int]) -> dict[str, float]:
    """p50/p99/p99.9 in microseconds of nanosecond samples."""
    if not samples:
        return {"p50_us": float("nan"), "p99_us": float("nan"), "p999_us": float("nan")}
    s = sorted(samples)

    def q(p: float) -> float:
        return round(s[min(len(s) - 1, int(p * len(s)))] / 1000, 1)

    return {"p50_us": q(0.50), "p99_us": q(0.99), "p999_us": q(0.999)}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc), or NaN if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
        return float("nan")


def write_config(d: Path, markets: int, quoters: int, feed_port: int, extra: str = "") -> Path:
    lines = [
        f'[stack]\nrun_dir = "{d}/run"\nquoters = {quoters}\nlog_level = "WARNING"\n',
        f'[venues.polymarket]\nws_url = "ws://127.0.0.1:{feed_port}/ws"\n',
        "[quoting]\nthreshold = 0.0\ninterval_ms = 60000\n",
        "[risk]\nmax_total_exposure_usd = 1000000\ncommand_ttl_ms = 60000\nquoter_timeout_ms = 60000\n",
        "[sim]\nenabled = false\n", extra,
    ]
    for k in range(markets):
        lines.append(
            f'[[markets]]\nid = "m{k}"\nvenue = "polymarket"\nvenue_market = "0x{k:064x}"\n'
            f'yes_token = "{10**20 + 2 * k}"\nno_token = "{10**20 + 2 * k + 1}"\n'
        )
    path = d / "bench.toml"
    path.write_text("\n".join(lines))
    return path


@dataclass
class PipelineRun:
    """What one pipeline run measured."""

    samples: list[int] = field(default_factory=list)
    to_approved: list[int] = field(default_factory=list)
    """ingest receive -> risk approval (ts_approved_ns - ts_recv_ns): ingest, quoter, risk."""
    to_intent: list[int] = field(default_factory=list)
    """ingest receive -> the quoter's send (ts_intent_ns - ts_recv_ns): ingest, a hop, quoter."""
    intent_to_approved: list[int] = field(default_factory=list)
    """quoter send -> risk approval (ts_approved_ns - ts_intent_ns): a hop and risk."""
    commands: int = 0
    books: int = 0
    feed_sent: int = 0
    feed_seconds: float = 0.0
    per_second: list[dict[str, float]] = field(default_factory=list)
    pids: dict[str, int] = field(default_factory=dict)
    cpu_share: dict[str, float] = field(default_factory=dict)
    """Per process, the share of one core it used during the measurement window."""


def run_pipeline(rate: float, duration: float, markets: int = 100, quoters: int = 2,
                 on_tick: Callable[[dict[str, int]], None] | None = None,
                 watch_md: bool = True) -> PipelineRun:
    """Run the pipeline for `duration` s of feed at `rate` updates/s after WARMUP_S of warm-up.

    `on_tick(pids)` is called about once a second during the run (memory sampling).
    `watch_md`: also subscribe to ingest's books (ingest lag, books counted). That
    subscriber is one more process woken by every book, on the same 2 cores at the same
    moment as the quoter the book is for, so the latency cases leave it off.
    """
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
    md: zmq.Socket | None = None
    if watch_md:
        md = ctx.socket(zmq.SUB)
        md.setsockopt(zmq.LINGER, 0)
        md.setsockopt(zmq.RCVHWM, 100_000)
        md.setsockopt(zmq.SUBSCRIBE, b"md.")
        md.connect(config_mod.endpoint(cfg, "md", "polymarket"))
    assets = {m.yes_token: m.venue_market for m in cfg.markets}
    report = d / "feed.json"
    names = ["feed", "risk", *[f"quoter-{i}" for i in range(quoters)], "ingest"]
    procs = [
        subprocess.Popen([py, "bench/feed.py", "--port", str(feed_port), "--assets", json.dumps(assets),
                          "--rate", str(rate), "--duration", str(duration), "--warmup", str(WARMUP_S),
                          "--report", str(report)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL),
        subprocess.Popen([py, "-m", "services.risk", "--config", str(cfg_path)], cwd=ROOT, env=env),
        *[subprocess.Popen([py, "-m", "services.quoter", "--config", str(cfg_path), "--shard", str(i),
                            "--shards", str(quoters)], cwd=ROOT, env=env) for i in range(quoters)],
    ]
    time.sleep(1.0)
    procs.append(subprocess.Popen([py, "-m", "services.ingest", "--config", str(cfg_path),
                                   "--venue", "polymarket"], cwd=ROOT, env=env))
    out = PipelineRun(pids={n: p.pid for n, p in zip(names, procs)})
    dec = msgspec.msgpack.Decoder(ExecutorCommand)
    md_dec = msgspec.msgpack.Decoder(MarketData)
    poller = zmq.Poller()
    poller.register(probe, zmq.POLLIN)
    if md is not None:
        poller.register(md, zmq.POLLIN)
    start = time.monotonic()
    warm_until = start + WARMUP_S + 0.5
    feed_ends = start + WARMUP_S + duration  # after this, stale-feed pulls carry old stamps
    bucket: dict[str, list[int]] = {"lat": [], "lag": []}
    counts = {"books": 0, "commands": 0}
    next_tick = start + 1.0
    cpu0: dict[str, float] = {}
    cpu_t0 = 0.0

    def close_bucket(now: float) -> None:
        lat, lag = sorted(bucket["lat"]), sorted(bucket["lag"])
        if warm_until < now <= feed_ends + 1.0:
            out.per_second.append({
                "t_s": round(now - warm_until, 1), "books": counts["books"], "commands": counts["commands"],
                "latency_p50_us": lat[len(lat) // 2] / 1000 if lat else float("nan"),
                "ingest_lag_p50_ms": float(lag[len(lag) // 2]) if lag else float("nan"),
                "ingest_lag_max_ms": float(lag[-1]) if lag else float("nan"),
            })
        bucket["lat"], bucket["lag"] = [], []
        counts["books"] = counts["commands"] = 0

    try:
        while procs[0].poll() is None and time.monotonic() - start < duration + 30:
            now_s = time.monotonic()
            if not cpu0 and now_s > warm_until:
                cpu0 = {n: cpu_seconds(pid) for n, pid in out.pids.items()}
                cpu0["bench"], cpu_t0 = time.process_time(), now_s
            if cpu0 and not out.cpu_share and now_s > feed_ends:
                span = now_s - cpu_t0
                out.cpu_share = {n: round((cpu_seconds(pid) - cpu0[n]) / span, 3) for n, pid in out.pids.items()}
                out.cpu_share["bench"] = round((time.process_time() - cpu0["bench"]) / span, 3)
            if now_s >= next_tick:
                close_bucket(now_s)
                next_tick += 1.0
                if on_tick is not None:
                    on_tick(out.pids)
            ready = dict(poller.poll(100))
            if md is not None and md in ready:
                for _ in range(1000):
                    try:
                        _, payload = md.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    msg = md_dec.decode(payload)
                    if isinstance(msg, BookSnapshot):
                        counts["books"] += 1
                        out.books += warm_until < now_s < feed_ends
                        bucket["lag"].append(time.time_ns() // 1_000_000 - msg.ts_venue_ms)
            if probe in ready:
                for _ in range(1000):
                    try:
                        frame = probe.recv(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    now = time.monotonic_ns()
                    cmd = dec.decode(frame)
                    counts["commands"] += 1
                    if isinstance(cmd, ApprovedIntent) and cmd.ts_recv_ns and warm_until < time.monotonic() < feed_ends:
                        out.commands += 1
                        out.samples.append(now - cmd.ts_recv_ns)
                        out.to_approved.append(cmd.ts_approved_ns - cmd.ts_recv_ns)
                        if cmd.ts_intent_ns:
                            out.to_intent.append(cmd.ts_intent_ns - cmd.ts_recv_ns)
                            out.intent_to_approved.append(cmd.ts_approved_ns - cmd.ts_intent_ns)
                        bucket["lat"].append(now - cmd.ts_recv_ns)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        probe.close()
        if md is not None:
            md.close()
        ctx.term()
    if report.exists():
        fed = json.loads(report.read_text())
        out.feed_sent, out.feed_seconds = int(fed["sent"]), float(fed["seconds"])
    shutil.rmtree(d, ignore_errors=True)
    return out


@dataclass
class RelayRun:
    """What one bare relay chain run measured."""

    samples: list[int]
    """Latency samples, ns: source stamp -> sink."""
    cpu_us_per_msg: dict[str, float]
    """CPU time each relay process spent per message relayed (the sink too), us."""


def run_relay(rate: float, count: int, *, kind: str = "bare") -> RelayRun:
    """The relay chain with the pipeline's three hops: PUB/SUB, PUSH/PULL, PUSH/PULL.

    `kind` is how the two relays wait and move frames (bench/relay.py): "bare" blocking
    pyzmq recv/send; "asyncio" zmq.asyncio on uvloop with a Poller and drain (the services
    before issue 9); "hot" the services' loop now (common/hotloop.py: NOBLOCK shadows, one
    persistent readiness wait on uvloop); "poll" a synchronous zmq_poll loop with NOBLOCK
    drains, the shape a service would take without an event loop.
    """
    pre = {"bare": "", "asyncio": "a", "hot": "h", "poll": "p"}[kind]
    d = Path(tempfile.mkdtemp(prefix="pmmr-", dir="/tmp"))
    # source (ingest, stamping) -PUB/SUB-> relay (quoter) -PUSH/PULL-> relay (risk)
    # -PUSH/PULL-> sink (the executor's command socket): three hops, as the pipeline's
    # measurement from ingest's receive stamp to the probe.
    eps = [f"ipc://{d}/h{i}.sock" for i in range(3)]
    out = d / "samples.bin"
    py = sys.executable
    names = ["sink", "relay-risk", "relay-quoter"]
    procs = [
        subprocess.Popen([py, "bench/relay.py", "sink", "--in", eps[2], "--count", str(count),
                          "--path", str(out), "--timeout", str(count / rate + 20)], cwd=ROOT),
        subprocess.Popen([py, "bench/relay.py", pre + "relay_pull", "--in", eps[1], "--out", eps[2]], cwd=ROOT),
        subprocess.Popen([py, "bench/relay.py", pre + "relay_sub", "--in", eps[0], "--out", eps[1]], cwd=ROOT),
    ]
    src = subprocess.Popen([py, "bench/relay.py", "source", "--out", eps[0], "--rate", str(rate),
                            "--count", str(count + 200)], cwd=ROOT)
    time.sleep(1.5)  # the source waits 1 s for subscribers; count CPU from its first frames
    cpu0, t0 = [cpu_seconds(p.pid) for p in procs], time.monotonic()
    src.wait()
    cpu1, t1 = [cpu_seconds(p.pid) for p in procs], time.monotonic()
    procs[0].wait(timeout=count / rate + 30)
    for p in procs[1:]:
        p.kill()
        p.wait()
    raw = out.read_bytes()
    shutil.rmtree(d, ignore_errors=True)
    msgs = max(1.0, rate * (t1 - t0 - 0.5))  # the source idles 0.5 s after its last frame
    return RelayRun(samples=list(struct.unpack(f"<{len(raw) // 8}q", raw)),
                    cpu_us_per_msg={n: round((b - a) * 1e6 / msgs, 1)
                                    for n, a, b in zip(names, cpu0, cpu1)})
