"""Per-message costs on one core: serialisation, one bus hop, and risk checks per second.

- msgpack encode/decode of each hot-path message (msgspec, one Encoder/typed Decoder);
- one bus hop: PUSH -> PULL over ipc in one process, blocking pyzmq and zmq.asyncio on
  uvloop (what every service uses), send + receive of a 300-byte frame;
- Kalshi request signing: RSA-PSS per request (only batching spreads it);
- risk: `RiskGate.on_intent` (limits, exposure, throttle, command build) with 100 markets
  and some inventory, on a real journal; the clock is injected so no check is throttled.
Prints the figures and writes bench/results/micro.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
import uvloop
import zmq
import zmq.asyncio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common.config import Config, MarketConfig, StackConfig  # noqa: E402
from common.messages import (  # noqa: E402
    ApprovedIntent,
    BookSnapshot,
    ExecutorCommand,
    Fill,
    IntentChannel,
    Level,
    MarketData,
    QuoteIntent,
)
from common.kalshi_auth import KalshiSigner, new_private_pem  # noqa: E402
from services.risk.gate import RiskGate  # noqa: E402
from services.risk.journal import Journal  # noqa: E402


def per_op_ns(fn: Callable[[], object], seconds: float) -> float:
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(200):
            fn()
        n += 200
    return (time.perf_counter() - start) / n * 1e9


def messages() -> dict[str, tuple[object, object]]:
    book = BookSnapshot(venue="polymarket", market="m1", seq=1, ts_recv_ns=1, ts_venue_ms=1, tick=100,
                        bids=tuple(Level(4900 - 100 * i, 50_000) for i in range(5)),
                        asks=tuple(Level(5100 + 100 * i, 50_000) for i in range(5)))
    intent = QuoteIntent(market="m1", quoter="quoter-0", seq=1, ts_recv_ns=1, ts_sent_ns=2, fair_value=5000,
                         bids=tuple(Level(4800 - 100 * i, 5000) for i in range(3)),
                         asks=tuple(Level(5200 + 100 * i, 5000) for i in range(3)))
    cmd = ApprovedIntent(venue="polymarket", market="m1", risk_seq=1, intent_seq=1, ts_recv_ns=1,
                         ts_approved_ns=2, expires_at_ns=3, bids=intent.bids, asks=intent.asks)
    return {"BookSnapshot_5x5": (book, MarketData), "QuoteIntent_3x3": (intent, IntentChannel),
            "ApprovedIntent_3x3": (cmd, ExecutorCommand)}


def serialisation(seconds: float) -> dict[str, float]:
    out: dict[str, float] = {}
    enc = msgspec.msgpack.Encoder()
    for name, (msg, union) in messages().items():
        dec = msgspec.msgpack.Decoder(union)
        frame = enc.encode(msg)
        out[f"{name}_bytes"] = len(frame)
        out[f"{name}_encode_ns"] = round(per_op_ns(lambda m=msg: enc.encode(m), seconds))  # type: ignore[misc]
        out[f"{name}_decode_ns"] = round(per_op_ns(lambda f=frame, d=dec: d.decode(f), seconds))  # type: ignore[misc]
    return out


def bus_hop(seconds: float) -> dict[str, float]:
    d = tempfile.mkdtemp(prefix="pmmh-", dir="/tmp")
    payload = b"x" * 300
    ctx = zmq.Context()
    a, b = ctx.socket(zmq.PUSH), ctx.socket(zmq.PULL)
    for s in (a, b):
        s.setsockopt(zmq.LINGER, 0)
    b.bind(f"ipc://{d}/sync.sock")
    a.connect(f"ipc://{d}/sync.sock")

    def hop() -> None:
        a.send(payload)
        b.recv()

    sync_ns = per_op_ns(hop, seconds)
    a.close()
    b.close()
    ctx.term()

    async def run_async() -> float:
        actx = zmq.asyncio.Context()
        x, y = actx.socket(zmq.PUSH), actx.socket(zmq.PULL)
        for s in (x, y):
            s.setsockopt(zmq.LINGER, 0)
        y.bind(f"ipc://{d}/async.sock")
        x.connect(f"ipc://{d}/async.sock")
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            for _ in range(200):
                await x.send(payload)
                await y.recv()
            n += 200
        x.close()
        y.close()
        actx.term()
        return (time.perf_counter() - start) / n * 1e9

    async_ns = uvloop.run(run_async())
    return {"zmq_sync_push_pull_ns": round(sync_ns), "zmq_asyncio_uvloop_push_pull_ns": round(async_ns)}


def risk_checks(seconds: float, markets: int) -> dict[str, float]:
    d = Path(tempfile.mkdtemp(prefix="pmmk-", dir="/tmp"))
    cfg = Config(stack=StackConfig(run_dir=str(d)),
                 markets=[MarketConfig(id=f"m{k}", venue="polymarket", venue_market=f"0x{k:x}",
                                       yes_token=f"{2 * k + 10}", no_token=f"{2 * k + 11}")
                          for k in range(markets)])
    journal = Journal(d / "j.sqlite")
    clock = [1_000_000_000]
    gate = RiskGate(cfg, journal, mono_ns=lambda: clock[0], wall_ns=lambda: clock[0])
    for k in range(0, markets, 3):  # some inventory, so exposure and limits do real work
        gate.on_fill(Fill(venue="polymarket", market=f"m{k}", trade_id=f"t{k}", order_id="o",
                          outcome="YES", side="BUY", price=5000, size=2000, fee=0, ts_venue_ms=0,
                          ts_recv_ns=0))
    intents = [QuoteIntent(market=f"m{k % markets}", quoter="quoter-0", seq=k, ts_recv_ns=1,
                           ts_sent_ns=time.monotonic_ns(), fair_value=5000,
                           bids=tuple(Level(4800 - 100 * (i + k % 2), 5000) for i in range(3)),
                           asks=tuple(Level(5200 + 100 * i, 5000) for i in range(3)))
               for k in range(2 * markets)]
    n, approved, start = 0, 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for it in intents:
            clock[0] += 10_000_000
            approved += gate.on_intent(it) is not None
        n += len(intents)
    per_s = n / (time.perf_counter() - start)
    journal.close()
    return {f"risk_checks_per_sec_{markets}_markets": round(per_s),
            f"risk_approved_share_{markets}_markets": round(approved / n, 3)}


def kalshi_signing(seconds: float) -> dict[str, float]:
    """Kalshi's per-request RSA-PSS signature (common/kalshi_auth.py, 2048-bit key)."""
    signer = KalshiSigner.from_pem("bench", new_private_pem())
    ns = per_op_ns(lambda: signer.headers("POST", "/trade-api/v2/portfolio/orders"), seconds)
    return {"kalshi_request_signing_us": round(ns / 1000, 1)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=1.0, help="per figure")
    a = p.parse_args()
    load = os.getloadavg()[0]
    result: dict[str, float] = {"load_1min": round(load, 2)}
    result.update(serialisation(a.seconds / 2))
    result.update(bus_hop(a.seconds))
    result.update(kalshi_signing(a.seconds))
    for markets in (4, 100):
        result.update(risk_checks(a.seconds, markets))
    for k, v in result.items():
        print(f"  {k:45s} {v:>12,}")
    out = ROOT / "bench" / "results" / "micro.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    sys.exit(main())
