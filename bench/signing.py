"""Polymarket order signing: services/executor/pm_signer.py next to py-clob-client-v2's builder.

Both sign the same random orders in the same run (on-tick prices on 0.01 and 0.001 ticks,
both sides, half neg-risk): the SDK through `OrderBuilder.build_order` as installed
(eth_account + coincurve), ours through `OrderSigner.sign` from integer pips and
centi-contracts (salt and timestamp drawn as the SDK draws them). Then every SDK order is
re-signed by ours with the SDK's own salt and timestamp and compared field for field,
signature byte for byte. Sizes where the SDK's float maths truncates a centi-contract
(see pm_signer's docstring) are counted separately and checked to be exactly that.
Prints the figures and writes bench/results/signing.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eth_account import Account  # noqa: E402
from py_clob_client_v2.clob_types import CreateOrderOptions, OrderArgsV2  # noqa: E402
from py_clob_client_v2.order_builder.builder import OrderBuilder  # noqa: E402
from py_clob_client_v2.signer import Signer  # noqa: E402

from common.prices import price_to_str, size_to_str  # noqa: E402
from services.executor.pm_signer import OrderSigner, order_amounts  # noqa: E402

TICKS = {100: "0.01", 10: "0.001"}


def orders(rng: random.Random, n: int) -> list[tuple[str, int, int, str, int, bool]]:
    """(token, price pips, size centi, side, tick, neg_risk): half whole-contract sizes."""
    tokens = [str(rng.randrange(2**255, 2**256)) for _ in range(8)]
    out = []
    for i in range(n):
        tick = rng.choice(sorted(TICKS))
        price = rng.randrange(1, 10_000 // tick) * tick
        size = rng.randrange(5, 500) * 100 if i % 2 else rng.randrange(500, 100_000)
        out.append((rng.choice(tokens), price, size, rng.choice(("BUY", "SELL")), tick,
                    rng.random() < 0.5))
    return out


def pct(ns: list[int], q: float) -> float:
    s = sorted(ns)
    return s[min(len(s) - 1, int(q * len(s)))] / 1000


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--orders", type=int, default=3000)
    p.add_argument("--seed", type=int, default=9)
    a = p.parse_args()
    rng = random.Random(a.seed)
    print(f"signing {a.orders} orders each way, seed {a.seed}, load {os.getloadavg()[0]:.2f}", flush=True)
    key = "0x" + rng.randbytes(32).hex()
    sdk = OrderBuilder(Signer(key, 137))
    ours = OrderSigner(key, chain_id=137, rng=random.Random(a.seed))
    work = orders(rng, a.orders)
    args = [(OrderArgsV2(token_id=t, price=float(price_to_str(pr)), size=float(size_to_str(sz)), side=sd),
             CreateOrderOptions(tick_size=TICKS[tk], neg_risk=neg)) for t, pr, sz, sd, tk, neg in work]
    for i in range(50):  # warm both paths (imports, caches)
        sdk.build_order(*args[i])
        t, pr, sz, sd, tk, neg = work[i]
        ours.sign(t, pr, sz, sd, tick=tk, neg_risk=neg)  # type: ignore[arg-type]

    sdk_ns, sdk_orders = [], []
    for oa, opt in args:
        t0 = time.perf_counter_ns()
        o = sdk.build_order(oa, opt)
        sdk_ns.append(time.perf_counter_ns() - t0)
        sdk_orders.append(o)
    ours_ns = []
    for t, pr, sz, sd, tk, neg in work:
        t0 = time.perf_counter_ns()
        ours.sign(t, pr, sz, sd, tick=tk, neg_risk=neg)  # type: ignore[arg-type]
        ours_ns.append(time.perf_counter_ns() - t0)

    compared = same = truncated = truncation_explained = 0
    for (t, pr, sz, sd, tk, neg), want in zip(work, sdk_orders):
        kw = {"tick": tk, "neg_risk": neg, "salt": int(want.salt), "timestamp_ms": int(want.timestamp)}
        got = ours.sign(t, pr, sz, sd, **kw)  # type: ignore[arg-type]
        if math.floor(float(size_to_str(sz)) * 100) != sz:  # the SDK's float truncation
            truncated += 1
            exact = (int(got.makerAmount), int(got.takerAmount)) == order_amounts(pr, sz, sd)  # type: ignore[arg-type]
            one_less = ours.sign(t, pr, sz - 1, sd, **kw)  # type: ignore[arg-type]
            truncation_explained += exact and dataclasses.asdict(one_less) == dataclasses.asdict(want)
            continue
        compared += 1
        same += dataclasses.asdict(got) == dataclasses.asdict(want) and got.signature == want.signature
    recovered = Account._recover_hash(
        bytes.fromhex(ours.order_hash(got, neg_risk=work[-1][5])[2:]),
        signature=bytes.fromhex(got.signature[2:]))

    ours_us = statistics.fmean(ours_ns) / 1000
    sdk_us = statistics.fmean(sdk_ns) / 1000
    result = {
        "ours_us": round(ours_us, 2), "sdk_us": round(sdk_us, 2), "speedup": round(sdk_us / ours_us, 2),
        "identical": same == compared and truncation_explained == truncated and recovered == ours.address,
        "speedup_p50": round(pct(sdk_ns, 0.5) / pct(ours_ns, 0.5), 2),
        "ours_p50_us": pct(ours_ns, 0.5), "ours_p99_us": pct(ours_ns, 0.99),
        "sdk_p50_us": pct(sdk_ns, 0.5), "sdk_p99_us": pct(sdk_ns, 0.99),
        "ours_orders_per_sec": round(1e6 / ours_us), "sdk_orders_per_sec": round(1e6 / sdk_us),
        "orders": a.orders, "compared": compared, "identical_orders": same,
        "sdk_size_truncations": truncated, "truncations_exactly_one_centi": truncation_explained,
        "seed": a.seed, "load_1min": round(os.getloadavg()[0], 2),
    }
    print(f"  pm_signer          mean {ours_us:7.1f} us  p50 {result['ours_p50_us']:7.1f}  p99 "
          f"{result['ours_p99_us']:7.1f}  ({result['ours_orders_per_sec']:,} orders/s)")
    print(f"  py-clob-client-v2  mean {sdk_us:7.1f} us  p50 {result['sdk_p50_us']:7.1f}  p99 "
          f"{result['sdk_p99_us']:7.1f}  ({result['sdk_orders_per_sec']:,} orders/s)")
    print(f"  speedup {result['speedup']:.1f}x on the mean, {result['speedup_p50']:.1f}x on the median; identical {same}/{compared} byte for byte; "
          f"{truncated} SDK size truncations, {truncation_explained} exactly one centi-contract")
    out = ROOT / "bench" / "results" / "signing.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return 0 if result["identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
