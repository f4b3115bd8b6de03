"""Quoting decisions per second for one quoter process on 100 markets.

Two figures, one process, one core:
- engine: pure `engine.step` calls over synthetic books (each market's book moves every
  step, so estimators and ladders change and requote logic runs in full);
- actor path: what the quoter does per book on the wire: decode a BookSnapshot frame
  (msgpack), step the engine, encode the QuoteIntent (no sockets: their cost is measured
  by bench/latency.py).
Prints both and writes bench/results/quoter.json. Runs in well under 30 s.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common.config import QuotingConfig  # noqa: E402
from common.messages import BookSnapshot, IntentChannel, Level, MarketData, QuoteIntent  # noqa: E402
from strategy.engine import step  # noqa: E402
from strategy.model import EngineInputs, EngineState, MarketInfo  # noqa: E402

MARKETS = 100


def books(seed: int, n: int) -> list[BookSnapshot]:
    """n synthetic 5-level books per market, random walks of the mid on a 1c grid."""
    rng = random.Random(seed)
    print(f"seed {seed}", flush=True)
    mids = [rng.randint(10, 90) * 100 for _ in range(MARKETS)]
    out: list[BookSnapshot] = []
    for i in range(n):
        k = i % MARKETS
        mids[k] = min(9000, max(1000, mids[k] + rng.choice((-100, 0, 0, 100))))
        m = mids[k]
        out.append(BookSnapshot(
            venue="polymarket", market=f"m{k}", seq=i, ts_recv_ns=i, ts_venue_ms=i, tick=100,
            bids=tuple(Level(m - 100 * (j + 1), rng.randint(1, 500) * 100) for j in range(5)),
            asks=tuple(Level(m + 100 * (j + 1), rng.randint(1, 500) * 100) for j in range(5)),
        ))
    return out


def bench_engine(snaps: list[BookSnapshot], params: QuotingConfig, seconds: float) -> float:
    states = {f"m{k}": EngineState() for k in range(MARKETS)}
    market = MarketInfo(resolves_at_ns=2_000_000_000 * 10**9)
    now, done, start = 1_800_000_000 * 10**9, 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for snap in snaps:
            now += 10_000_000
            inputs = EngineInputs(book=snap, net_centi=(snap.seq % 7 - 3) * 2000)
            states[snap.market], _ = step(states[snap.market], inputs, params, market, now)
        done += len(snaps)
    return done / (time.perf_counter() - start)


def bench_actor_path(snaps: list[BookSnapshot], params: QuotingConfig, seconds: float) -> float:
    enc = msgspec.msgpack.Encoder()
    dec_md = msgspec.msgpack.Decoder(MarketData)
    frames = [enc.encode(s) for s in snaps]
    states = {f"m{k}": EngineState() for k in range(MARKETS)}
    market = MarketInfo()
    out_enc = msgspec.msgpack.Encoder()
    check = msgspec.msgpack.Decoder(IntentChannel)
    now, done, seq, start = 1_800_000_000 * 10**9, 0, 0, time.perf_counter()
    last = b""
    while time.perf_counter() - start < seconds:
        for frame in frames:
            now += 10_000_000
            snap = dec_md.decode(frame)
            assert isinstance(snap, BookSnapshot)
            states[snap.market], d = step(states[snap.market], EngineInputs(book=snap), params,
                                          market, now)
            if d.send:
                seq += 1
                last = out_enc.encode(QuoteIntent(
                    market=snap.market, quoter="bench", seq=seq, ts_recv_ns=snap.ts_recv_ns,
                    ts_sent_ns=now, fair_value=d.fair_value, bids=d.bids, asks=d.asks,
                    book_seq=snap.seq,
                ))
        done += len(frames)
    assert isinstance(check.decode(last), QuoteIntent)
    return done / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.5, help="per measurement (8 of them)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    snaps = books(args.seed, 20 * MARKETS)
    results: dict[str, float] = {}
    for model in ("heuristic", "avellaneda_stoikov"):
        for layers in (1, 5):
            params = msgspec.structs.replace(QuotingConfig(), model=model, max_orders=layers)
            e = bench_engine(snaps, params, args.seconds)
            a = bench_actor_path(snaps, params, args.seconds)
            results[f"engine_{model}_{layers}lvl_per_s"] = round(e)
            results[f"actor_path_{model}_{layers}lvl_per_s"] = round(a)
            print(f"{model:20s} {layers} level(s)/side: engine {e:10,.0f} decisions/s   "
                  f"decode+engine+encode {a:10,.0f} decisions/s  ({MARKETS} markets)", flush=True)
    doc = {"markets": MARKETS, "seconds_per_figure": args.seconds, "seed": args.seed, **results}
    out = ROOT / "bench" / "results" / "quoter.json"
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
