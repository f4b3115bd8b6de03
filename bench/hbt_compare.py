"""Our queue-position fill model (common/fillmodel.py through research/venue.py) against
hftbacktest 2.4.4's L2 queue models, on the same synthetic stream and the same quotes.

Not part of `make bench`: hftbacktest (numba, polars, holoviews...) is not a project
dependency, so `make hbt-compare` builds it an environment of its own (.venv-hbt, from
bench/requirements-hbt.txt) and runs this script there with pmm on PYTHONPATH:

    make hbt-compare        # writes bench/results/hbt_compare.json, about 10 s on 2 cores
    # defaults: --scenarios calm,toxic_flow --seeds 1,2,3 --policies improve,join
    #   --duration-s 600 --size 10 --feed-latency-ms 10; --out FILE.json keeps every figure.

One stream per (scenario, seed) from research.scenarios.generate (the scenario's snipers are
not run: they live in the backtester, not in the stream). It is converted to hftbacktest
events: the first book as a clear + snapshot, every later book as per-level diffs (removed
levels first, then changed ones) or, for the `clearsnap` rows, as a clear + full snapshot;
trades with their aggressor flag; local_ts = exch_ts + feed latency. Both engines run one
fixed rule, decided every 100 ms at t = 30 ms into each 100 ms step: one bid and one ask of
--size contracts at best bid + 1 tick / best ask - 1 tick when the spread is >= 3 ticks,
else at the best (policy `improve`), or always at the best (policy `join`, which puts the
queue models to work). An order already resting at the wanted price is kept; anything else
is cancelled and the wanted price placed post-only. pmm: PaperVenue.apply_ladder 50 ms after
the decision. hftbacktest: ConstantLatency(50 ms entry, 50 ms response), PartialFillExchange,
GTX orders, sent half a centi-contract short (lot 0.5; the half is added back on the last
fill): with whole sizes, a queue fill that exactly uses up an order hits hftbacktest issue
#312 (the Filled order stays in PartialFillExchange's book and the next print stops the run
with InvalidOrderStatus, code 14). Decisions are taken independently in each engine from its
own view of the book and checked equal. Fills are marked out against the stream's mid and
hidden truth.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from hftbacktest import (BUY_EVENT, DEPTH_CLEAR_EVENT, DEPTH_EVENT, DEPTH_SNAPSHOT_EVENT,
                         EXCH_EVENT, GTX, LIMIT, LOCAL_EVENT, SELL_EVENT, TRADE_EVENT,
                         BacktestAsset, HashMapMarketDepthBacktest, event_dtype)
from numba import njit

from common.messages import BookSnapshot, Level, TradePrint
from common.prices import PRICE_SCALE, SIZE_SCALE
from research.scenarios import START_NS, generate, spec
from research.venue import PaperVenue

MS = 1_000_000
STEP_NS, OFFSET_NS, LATENCY_NS = 100 * MS, 30 * MS, 50 * MS
HORIZONS_S = (10, 60)
MODELS = ("pmm", "pmm-resp0", "hbt-riskaverse", "hbt-riskaverse-resp0", "hbt-power2", "hbt-power3",
          "hbt-power3-clearsnap")
"""`pmm`: PaperVenue as backtests run it (fills reach the executor 50 ms late, as hftbacktest's
response latency); `-resp0`: response latency 0 (a diagnostic: fills known at once, as
PaperVenue knew them before it modelled the response); `-clearsnap`: every book fed as clear + full snapshot instead of per-level diffs."""


@dataclass
class Stream:
    ticks: list
    tick: int
    end_ns: int
    book_ts: np.ndarray
    mid: np.ndarray
    truth: np.ndarray
    book_set: set = field(default_factory=set)  # timestamps of books
    prints: dict = field(default_factory=lambda: defaultdict(set))  # ts -> {(buy, price)}


def load(scenario: str, seed: int, duration_s: float) -> Stream:
    s = spec(scenario, duration_s=duration_s)
    ticks = list(generate(s, seed))
    books = [(t.ts_ns, t.msg, t.true_price) for t in ticks if isinstance(t.msg, BookSnapshot)]
    ts = np.array([b[0] for b in books], dtype=np.int64)
    mid = np.array([(b[1].bids[0].price + b[1].asks[0].price) / 2 if b[1].bids and b[1].asks
                    else np.nan for b in books])
    for k in range(1, len(mid)):  # a one-sided book marks at the last two-sided mid
        if np.isnan(mid[k]):
            mid[k] = mid[k - 1]
    st = Stream(ticks, s.tick, int(ts[-1]), ts, mid, np.array([b[2] for b in books]))
    st.book_set = set(ts.tolist())
    for t in ticks:
        if isinstance(t.msg, TradePrint):
            st.prints[t.ts_ns].add((t.msg.side == "BUY", t.msg.price))
    return st


def to_hbt(st: Stream, feed_ns: int, clear_every_book: bool) -> np.ndarray:
    """The stream as hftbacktest events (prices in pips, tick 100; sizes in centi, lot 1)."""
    rows: list[tuple[int, int, int, float, float]] = []
    both = EXCH_EVENT | LOCAL_EVENT
    prev_b: dict[int, int] = {}
    prev_a = prev_b
    for t in st.ticks:
        m, ts = t.msg, t.ts_ns
        if isinstance(m, TradePrint):
            flag = BUY_EVENT if m.side == "BUY" else SELL_EVENT
            rows.append((both | TRADE_EVENT | flag, ts, ts + feed_ns, m.price, m.size))
            continue
        bids = {lv.price: lv.size for lv in m.bids}
        asks = {lv.price: lv.size for lv in m.asks}
        if clear_every_book or (not prev_b and not prev_a):
            rows.append((both | DEPTH_CLEAR_EVENT, ts, ts + feed_ns, 0.0, 0.0))
            rows += [(both | DEPTH_SNAPSHOT_EVENT | BUY_EVENT, ts, ts + feed_ns, p, q)
                     for p, q in sorted(bids.items(), reverse=True)]
            rows += [(both | DEPTH_SNAPSHOT_EVENT | SELL_EVENT, ts, ts + feed_ns, p, q)
                     for p, q in sorted(asks.items())]
        else:  # removals first, so no transient crossed book can appear
            for side, old, new in ((BUY_EVENT, prev_b, bids), (SELL_EVENT, prev_a, asks)):
                rows += [(both | DEPTH_EVENT | side, ts, ts + feed_ns, p, 0.0)
                         for p in sorted(old) if p not in new]
            for side, old, new in ((SELL_EVENT, prev_a, asks), (BUY_EVENT, prev_b, bids)):
                rows += [(both | DEPTH_EVENT | side, ts, ts + feed_ns, p, q)
                         for p, q in sorted(new.items()) if old.get(p) != q]
        prev_b, prev_a = bids, asks
    rows.append((both, st.end_ns, st.end_ns + feed_ns, 0.0, 0.0))  # no-op: data ends at the end
    return np.array([(*r, 0, 0, 0.0) for r in rows], dtype=event_dtype)


def wanted(bb: int | None, ba: int | None, tick: int, improve: bool) -> tuple[int, int]:
    """The fixed rule: (bid, ask) in pips, 0 = no quote."""
    if bb is None or ba is None:
        return 0, 0
    if improve and ba - bb >= 3 * tick:
        return bb + tick, ba - tick
    return bb, ba


def decision_times(st: Stream) -> list[int]:
    return [START_NS + OFFSET_NS + k * STEP_NS for k in range((st.end_ns - START_NS) // STEP_NS - 1)]


def run_pmm(st: Stream, size: int, improve: bool, feed_ns: int, response_ms: int) -> dict:
    venue = PaperVenue(latency_ms=LATENCY_NS // MS, response_ms=response_ms)
    mkt, ticks, i, seen_book = "sim-1", st.ticks, 0, None
    fills: list[tuple[int, int, int, int]] = []
    decs: list[tuple[int, int]] = []
    pending: list[tuple[int, tuple, tuple]] = []  # ladders on their way: (arrival, bids, asks)

    def feed(upto: int) -> None:
        nonlocal i
        while i < len(ticks) and ticks[i].ts_ns <= upto:
            t = ticks[i]
            while pending and pending[0][0] <= t.ts_ns:
                at, b, a = pending.pop(0)
                venue.apply_ladder(mkt, b, a, at)
            m = t.msg
            if isinstance(m, BookSnapshot):
                out = venue.on_book(t.ts_ns, mkt, m.bids, m.asks)
            else:
                out = venue.on_trade(t.ts_ns, mkt, m.price, m.size, m.side == "BUY")
            fills.extend((f.ts_ns, 1 if f.buy else -1, f.price, f.size) for f in out)
            i += 1

    books, j = [(t.ts_ns, t.msg) for t in ticks if isinstance(t.msg, BookSnapshot)], 0
    for d in decision_times(st):
        feed(d)
        while pending and pending[0][0] <= d:
            at, b, a = pending.pop(0)
            venue.apply_ladder(mkt, b, a, at)
        while j < len(books) and books[j][0] + feed_ns <= d:  # the book the quoter has seen
            seen_book = books[j][1]
            j += 1
        bb = seen_book.bids[0].price if seen_book and seen_book.bids else None
        ba = seen_book.asks[0].price if seen_book and seen_book.asks else None
        wb, wa = wanted(bb, ba, st.tick, improve)
        decs.append((wb, wa))
        pending.append((d + LATENCY_NS, (Level(wb, size),) if wb else (),
                        (Level(wa, size),) if wa else ()))
    feed(st.end_ns + 1)
    return {"fills": np.array(fills, dtype=np.int64).reshape(-1, 4), "decisions": np.array(decs),
            "placed": venue.stats.placed, "rejected": venue.stats.rejected}


@njit
def _collect(hbt, fills, nf, last_leaves, stats):
    values = hbt.orders(0).values()
    while values.has_next():
        o = values.get()
        oid = o.order_id
        left = o.leaves_qty + 0.5 if o.leaves_qty > 0.25 else 0.0  # undo the half-lot offset
        if left < last_leaves[oid] - 0.5:
            fills[nf, 0] = o.exch_timestamp
            fills[nf, 1] = o.side
            fills[nf, 2] = o.price_tick
            fills[nf, 3] = round(last_leaves[oid] - left)
            nf += 1
            last_leaves[oid] = left
        if o.status == 2:  # EXPIRED: a post-only order that would have crossed
            stats[1] += 1
    hbt.clear_inactive_orders(0)
    return nf


@njit
def _hbt_loop(hbt, first_ns, n_steps, qty, tick, improve, decs, fills, last_leaves, stats):
    nf, next_id = 0, 1
    if hbt.elapse(first_ns) != 0:
        return 0
    for k in range(n_steps):
        for _ in range(2 if k > 0 else 0):  # a look 50 ms before deciding too, so that a fill
            stats[2] = hbt.elapse(50_000_000)  # is not merged into a later cancel's response
            if stats[2] != 0:  # 1: end of data; anything else is an error inside hftbacktest
                break
            nf = _collect(hbt, fills, nf, last_leaves, stats)
        if stats[2] != 0:
            break
        depth = hbt.depth(0)
        wb, wa = 0, 0
        if not (np.isnan(depth.best_bid) or np.isnan(depth.best_ask)):
            bb, ba = depth.best_bid_tick, depth.best_ask_tick
            if improve and ba - bb >= 3:
                wb, wa = bb + 1, ba - 1
            else:
                wb, wa = bb, ba
        decs[k, 0], decs[k, 1] = wb * tick, wa * tick
        for s in range(2):
            side = 1 if s == 0 else -1
            want = wb if s == 0 else wa
            have = False
            values = hbt.orders(0).values()
            while values.has_next():
                o = values.get()
                if o.side != side:
                    continue
                live = o.status == 1 or o.status == 5 or o.req == 1  # NEW, PARTIAL, NEW pending
                if want > 0 and not have and o.price_tick == want and live:
                    have = True
                elif o.cancellable:
                    hbt.cancel(0, o.order_id, False)
            if want > 0 and not have:
                oid, next_id = next_id, next_id + 1
                last_leaves[oid] = qty
                stats[0] += 1
                if side == 1:
                    hbt.submit_buy_order(0, oid, want * tick, qty - 0.5, GTX, LIMIT, False)
                else:
                    hbt.submit_sell_order(0, oid, want * tick, qty - 0.5, GTX, LIMIT, False)
    hbt.elapse(1_000_000_000)  # let the last responses arrive
    return _collect(hbt, fills, nf, last_leaves, stats)


def run_hbt(st: Stream, events: np.ndarray, model: str, size: int, improve: bool) -> dict:
    asset = (BacktestAsset().data([events]).linear_asset(1.0)
             .constant_order_latency(LATENCY_NS, 0 if model.endswith("resp0") else LATENCY_NS)
             .partial_fill_exchange().trading_value_fee_model(0.0, 0.0)
             .tick_size(float(st.tick)).lot_size(0.5).last_trades_capacity(0))
    if "riskaverse" in model:
        asset.risk_adverse_queue_model()
    else:
        asset.power_prob_queue_model(2.0 if "power2" in model else 3.0)
    hbt = HashMapMarketDepthBacktest([asset])
    times = decision_times(st)
    decs = np.zeros((len(times), 2), dtype=np.int64)
    fills = np.zeros((4 * len(times) + 16, 4), dtype=np.int64)
    last_leaves = np.zeros(2 * len(times) + 16)
    stats = np.zeros(3, dtype=np.int64)
    first = times[0] - int(events["exch_ts"].min())
    nf = _hbt_loop(hbt, first, len(times), float(size), float(st.tick), improve, decs, fills,
                   last_leaves, stats)
    hbt.close()
    if stats[2] not in (0, 1):
        raise RuntimeError(f"hftbacktest stopped with error code {stats[2]} ({model})")
    f = fills[:nf].copy()
    f[:, 2] *= st.tick
    return {"fills": f[np.argsort(f[:, 0], kind="stable")], "decisions": decs,
            "placed": int(stats[0]), "rejected": int(stats[1])}


def kind(st: Stream, ts: int, side: int, price: int) -> str:
    """What filled us: the book trading through our price (`book`); prints at our price only
    (`queue`), at worse prices only (`through`), or a sweep across our price (`sweep`)."""
    if ts in st.book_set:
        return "book"
    prints = [p for buy, p in st.prints.get(ts, ()) if buy == (side == -1)]
    at, worse = price in prints, any(side * (price - p) > 0 for p in prints)
    return "sweep" if at and worse else "queue" if at else "through"


def summarize(st: Stream, fills: np.ndarray) -> dict:
    """Per side: fill events (distinct ts/price), contracts, avg price, markouts, kinds."""
    out = {}
    for side, name in ((1, "bid"), (-1, "ask")):
        f = fills[fills[:, 1] == side]
        qty = f[:, 3].astype(float)
        r: dict = {"n": len({(a, c) for a, _, c, _ in f.tolist()}), "size": qty.sum() / SIZE_SCALE,
                   "avg_px": float((f[:, 2] * qty).sum() / qty.sum() / PRICE_SCALE) if len(f) else 0,
                   "kinds": defaultdict(float)}
        for row in f:
            r["kinds"][kind(st, int(row[0]), side, int(row[2]))] += row[3] / SIZE_SCALE
        for h in HORIZONS_S:
            ok = f[:, 0] + h * 10**9 <= st.end_ns
            idx = np.searchsorted(st.book_ts, f[ok, 0] + h * 10**9, side="right") - 1
            for ref, arr in (("mid", st.mid), ("truth", st.truth)):
                w = qty[ok]
                mk = float((side * (arr[idx] - f[ok, 2]) * w).sum() / w.sum()) if w.sum() else 0.0
                r[f"mk{h}_{ref}"] = (mk, float(w.sum()))
        out[name] = r
    return out


def matched(a: np.ndarray, b: np.ndarray) -> float:
    """Contracts filled alike (same ts, side, price) in both runs: per key the smaller size."""
    da: dict = defaultdict(int)
    db: dict = defaultdict(int)
    for d, fills in ((da, a), (db, b)):
        for ts, side, px, q in fills.tolist():
            d[(ts, side, px)] += q
    return sum(min(q, db.get(k, 0)) for k, q in da.items()) / SIZE_SCALE


def combine(runs: list[dict]) -> dict:
    """Per-seed summaries added up: sums, size-weighted prices and markouts."""
    out = {}
    for side in ("bid", "ask"):
        rs = [r[side] for r in runs]
        size = sum(r["size"] for r in rs)
        c = {"n": sum(r["n"] for r in rs), "size": size,
             "avg_px": sum(r["avg_px"] * r["size"] for r in rs) / size if size else 0.0}
        for key in [k for k in rs[0] if k.startswith("mk")]:
            w = sum(r[key][1] for r in rs)
            c[key] = sum(r[key][0] * r[key][1] for r in rs) / w if w else float("nan")
        c["kinds"] = {k: sum(r["kinds"].get(k, 0.0) for r in rs)
                      for k in ("book", "queue", "sweep", "through")}
        out[side] = c
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--scenarios", default="calm,toxic_flow")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--policies", default="improve,join")
    ap.add_argument("--duration-s", type=float, default=600.0)
    ap.add_argument("--size", type=float, default=10.0, help="contracts per quote")
    ap.add_argument("--feed-latency-ms", type=float, default=10.0)
    ap.add_argument("--out", default="", help="write every figure as JSON here")
    args = ap.parse_args()
    size, feed_ns = round(args.size * SIZE_SCALE), round(args.feed_latency_ms * MS)
    started = time.perf_counter()
    results: dict = defaultdict(lambda: defaultdict(list))
    per_run: list[dict] = []
    print("per run: contracts filled (both sides); for hftbacktest the change against pmm and the"
          "\nshare of pmm's contracts filled alike (same ts, side, price); placed orders in [ ]")
    for scen in args.scenarios.split(","):
        for seed in [int(x) for x in args.seeds.split(",")]:
            st = load(scen, seed, args.duration_s)
            evs = {False: to_hbt(st, feed_ns, False), True: to_hbt(st, feed_ns, True)}
            for pol in args.policies.split(","):
                runs = {"pmm": run_pmm(st, size, pol == "improve", feed_ns, LATENCY_NS // MS),
                        "pmm-resp0": run_pmm(st, size, pol == "improve", feed_ns, 0)}
                for m in MODELS[2:]:
                    runs[m] = run_hbt(st, evs[m.endswith("clearsnap")], m, size, pol == "improve")
                base = runs["pmm"]
                pmm_size = base["fills"][:, 3].sum() / SIZE_SCALE
                row: dict = {"scenario": scen, "policy": pol, "seed": seed, "pmm": {
                    "size": pmm_size, "matched_share": 1.0, "placed": base["placed"]}}
                text = f"{scen:10s} {pol:7s} {seed:2d}  pmm {pmm_size:7.1f} [{base['placed']}]"
                for m, r in runs.items():
                    r["summary"] = summarize(st, r["fills"])
                    results[(scen, pol)][m].append(r["summary"])
                    if (r["decisions"] != base["decisions"]).any():
                        print(f"  {m}: {(r['decisions'] != base['decisions']).any(axis=1).sum()}"
                              " decisions differ from pmm's")
                    if m != "pmm":
                        got = r["fills"][:, 3].sum() / SIZE_SCALE
                        share = matched(base["fills"], r["fills"]) / pmm_size if pmm_size else 1.0
                        row[m] = {"size": got, "matched_share": share, "placed": r["placed"]}
                        text += (f" | {m[4:]} {got:7.1f} {100 * (got / pmm_size - 1):+5.1f}% "
                                 f"{100 * share:5.1f}% [{r['placed']}]")
                per_run.append(row)
                print(text, flush=True)
    table: dict = {}
    print("\nper scenario/policy, seeds added up. size: contracts; avg px: $; markouts: pips per"
          " contract\n(100 pips = 1 tick = 1c), size-weighted, fills with the full horizon in"
          " the data; fills: distinct\n(ts, price) fill events; book/queue/sweep/through:"
          " contracts by what filled them (see kind())")
    print(f"{'scenario/policy':18s} {'model':21s} {'side':4s} {'fills':>5s} {'size':>7s} "
          f"{'avg px':>6s} {'mk10mid':>7s} {'mk60mid':>7s} {'mk10tru':>7s} {'mk60tru':>7s} "
          f"{'book':>5s} {'queue':>6s} {'sweep':>5s} {'thru':>6s}")
    for (scen, pol), by_model in results.items():
        for m, summaries in by_model.items():
            c = table[f"{scen}/{pol}/{m}"] = combine(summaries)
            for side in ("bid", "ask"):
                s, k = c[side], c[side]["kinds"]
                print(f"{scen + '/' + pol:18s} {m:21s} {side:4s} {s['n']:5d} {s['size']:7.1f} "
                      f"{s['avg_px']:6.4f} {s['mk10_mid']:7.1f} {s['mk60_mid']:7.1f} "
                      f"{s['mk10_truth']:7.1f} {s['mk60_truth']:7.1f} {k['book']:5.0f} "
                      f"{k['queue']:6.0f} {k['sweep']:5.0f} {k['through']:6.0f}")
    print(f"\nwall {time.perf_counter() - started:.1f} s")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump({"args": vars(args), "runs": per_run, "table": table}, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
