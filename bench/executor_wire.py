"""The executor's own time from an approved command to the order request on the wire.

Measures, in one process against the built-in simulator (started here on a free port):
- the CPU path per command: decode the ApprovedIntent, express the ladder as venue orders,
  diff against live orders, sign every new order with the adapter's signer (pm_signer since
  issue 9; bench/signing.py compares it with py-clob-client-v2), and
  serialise the batch body with its L2 HMAC headers: once for a one-level requote (one
  order to sign) and once for a fresh two-sided three-level ladder (six orders);
- signing one order alone.
Prints the figures and writes bench/results/executor_wire.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import msgspec
from eth_account import Account
from py_clob_client_v2.clob_types import RequestArgs
from py_clob_client_v2.headers.headers import create_level_2_headers
from py_clob_client_v2.order_utils.model.order_data_v2 import order_to_json_v2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import config as config_mod  # noqa: E402
from common.messages import ApprovedIntent, ExecutorCommand, Level  # noqa: E402
from services.executor.__main__ import market_tokens  # noqa: E402
from services.executor.diff import diff, express_ladder  # noqa: E402
from services.executor.orders import LiveOrder  # noqa: E402
from services.executor.polymarket import PolymarketExecution  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stats(ns: list[int]) -> dict[str, float]:
    s = sorted(ns)
    return {"p50_us": s[len(s) // 2] / 1000, "p99_us": s[int(len(s) * 0.99)] / 1000,
            "mean_us": statistics.fmean(s) / 1000}


async def measure(cfg: config_mod.Config, rounds: int) -> dict[str, object]:
    tokens = market_tokens(cfg, "polymarket")[0]
    with ThreadPoolExecutor(2) as pool:
        venue = PolymarketExecution(cfg, [tokens], private_key=Account.create().key.hex(), pool=pool)
        await venue.start()
        client = venue._client  # the SDK client the adapter posts with
        enc = msgspec.msgpack.Encoder()
        dec = msgspec.msgpack.Decoder(ExecutorCommand)

        def command(bid: int, levels: int) -> bytes:
            bids = tuple(Level(bid - 100 * i, 5000) for i in range(levels))
            asks = tuple(Level(bid + 400 + 100 * i, 5000) for i in range(levels))
            return enc.encode(ApprovedIntent(
                venue="polymarket", market=tokens.market, risk_seq=1, intent_seq=1, ts_recv_ns=0,
                ts_approved_ns=0, expires_at_ns=time.time_ns() + 10**9, bids=bids, asks=asks))

        def path(frame: bytes, live: list[LiveOrder]) -> int:
            t0 = time.perf_counter_ns()
            msg = dec.decode(frame)
            assert isinstance(msg, ApprovedIntent)
            desired, _ = express_ladder(tokens, msg.bids, msg.asks)
            actions = diff(desired, live)
            signed = [venue._sign(d) for d in actions.placements]
            body = [order_to_json_v2(o, client.creds.api_key, "GTC", True, False) for o in signed]
            serialized = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
            create_level_2_headers(client.signer, client.creds,
                                   RequestArgs("POST", "/orders", body, serialized))
            return time.perf_counter_ns() - t0

        # Live: a resting one-level two-sided ladder at 0.45/0.50; the requote moves the bid.
        base = [LiveOrder(order_id="a", market=tokens.market, token=tokens.yes_token, outcome="YES",
                          side="BUY", price=4500, size=5000),
                LiveOrder(order_id="b", market=tokens.market, token=tokens.no_token, outcome="NO",
                          side="BUY", price=5100, size=5000)]
        requote = [path(command(4400 if i % 2 else 4600, 1), base) for i in range(rounds)]
        fresh = [path(command(4500, 3), []) for _ in range(max(20, rounds // 4))]
        sign_ns = []
        probe = express_ladder(tokens, (Level(4500, 5000),), ())[0][0]
        for _ in range(rounds):
            t0 = time.perf_counter_ns()
            venue._sign(probe)
            sign_ns.append(time.perf_counter_ns() - t0)
        # Sanity: the signed orders are accepted by the simulator (signature verified there).
        report = await venue.place(express_ladder(tokens, (Level(500, 5000),), ())[0])
        accepted = sum(type(r).__name__ == "Placed" for r in report.results)
        if not accepted:
            print("  simulator said:", report.results)
        await venue.cancel_all()
    return {"requote_1_order": stats(requote), "fresh_6_orders": stats(fresh),
            "sign_one_order": stats(sign_ns), "orders_signed_per_sec": 1e9 / statistics.fmean(sign_ns),
            "accepted_by_simulator": accepted}


def main() -> None:
    rounds = int(os.environ.get("PMM_BENCH_ROUNDS", "200"))
    d = Path(tempfile.mkdtemp(prefix="pmmw-", dir="/tmp"))
    port = free_port()
    demo = (ROOT / "deploy" / "demo.toml").read_text()
    text = (f'[stack]\nrun_dir = "{d}/run"\n[venues.polymarket]\nrest_url = "http://127.0.0.1:{port}"\n'
            f'ws_url = "ws://127.0.0.1:{port}/ws"\n[sim]\nport = {port}\n' + demo[demo.index("[[markets]]"):])
    (d / "pmm.toml").write_text(text)
    cfg = config_mod.load(d / "pmm.toml")
    sim = subprocess.Popen([sys.executable, "-m", "services.venue_sim", "--config", str(d / "pmm.toml")],
                           cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ok", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        print(f"executor command-to-wire, {rounds} rounds, the adapter's signer (pm_signer)")
        result = asyncio.run(measure(cfg, rounds))
    finally:
        sim.terminate()
        sim.wait(10)
    for name in ("requote_1_order", "fresh_6_orders", "sign_one_order"):
        s = result[name]
        assert isinstance(s, dict)
        print(f"  {name:18s} p50 {s['p50_us']:8.0f} us   p99 {s['p99_us']:8.0f} us")
    print(f"  orders signed per second (one thread): {result['orders_signed_per_sec']:.0f}")
    print(f"  simulator accepted the signed orders: {result['accepted_by_simulator']}/1")
    out = ROOT / "bench" / "results" / "executor_wire.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
