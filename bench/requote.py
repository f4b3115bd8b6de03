"""Venue calls per minute: our requote logic vs cancel-all-and-replace, on a fixed replay.

Replay: a deterministic book sequence (seeded) for --markets Polymarket markets, --rate
book updates per second per market for --seconds: the mid takes a 1c step on 0.5% of updates, the
spread toggles between 4c and 6c on 0.5% (so a 2c half-spread ladder can hold the top),
and most updates change the size of one level, as most L2 updates do.

Both makers run the real quoting engine (`strategy.engine.step`, default config)
on every book and the real executor expression (`services.executor.diff`):
- ours: the engine's requote decision (threshold, max age) then `diff` against the live
  orders: unchanged levels keep resting, only moved levels are cancelled and placed;
- cancel-all-and-replace: on every book update, cancel the market's orders and place the
  freshly computed ladder (also reported: the same on our decisions only).
A venue call is one HTTP request: one cancel request per action (any number of ids) and
one placement request per 15 orders (Polymarket's batch limit). Venue latency is
modelled: a request takes --rtt-ms, takes effect at half of it, and the executor cancels
before it places (as services/executor/process.py does), one action per market at a time
(newer ladders wait, conflated). Time at the top of the book is the time-weighted share
during which our best resting bid (ask) is at or better than the book's best bid (ask).
Writes bench/results/requote.json.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import json
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common.config import QuotingConfig  # noqa: E402
from common.messages import BookSnapshot, Level  # noqa: E402
from common.prices import ONE_DOLLAR  # noqa: E402
from services.executor.diff import diff, express_ladder  # noqa: E402
from services.executor.orders import DesiredOrder, LiveOrder, MarketTokens  # noqa: E402
from strategy.engine import step  # noqa: E402
from strategy.model import EngineInputs, EngineState, MarketInfo  # noqa: E402

BATCH = 15
T0 = 1_800_000_000 * 10**9


def replay(seed: int, markets: int, rate: float, seconds: float,
           churn: str = "relative") -> list[list[tuple[int, BookSnapshot]]]:
    """Per market, a list of (t_ns, book) updates.

    `churn` "relative": an update scales one level's size by 0.8-1.25 (queue adds and
    cancels); "fresh": it redraws the size uniformly in 50-500 contracts (a harsher replay
    for a size-weighted fair value).
    """
    rng = random.Random(seed)
    out = []
    dt = int(1e9 / rate)
    for k in range(markets):
        mid, half = rng.randint(20, 80) * 100, 200
        sizes = [[rng.randint(50, 500) * 100 for _ in range(5)] for _ in range(2)]
        seq: list[tuple[int, BookSnapshot]] = []
        for i in range(int(rate * seconds)):
            r = rng.random()
            if r < 0.005:
                mid = min(8500, max(1500, mid + rng.choice((-100, 100))))
            elif r < 0.01:
                half = 500 - half  # the spread toggles between 4c and 6c
            side, lvl = rng.randrange(2), min(4, int(rng.expovariate(0.6)))
            if churn == "fresh":
                sizes[side][lvl] = rng.randint(50, 500) * 100
            else:
                sizes[side][lvl] = max(100, int(sizes[side][lvl] * rng.uniform(0.8, 1.25)))
            bids = tuple(Level(mid - half + 100 - 100 * (j + 1), sizes[0][j]) for j in range(5))
            asks = tuple(Level(mid + half - 100 + 100 * (j + 1), sizes[1][j]) for j in range(5))
            t = i * dt + k * 7919 % dt
            seq.append((t, BookSnapshot(venue="polymarket", market=f"m{k}", seq=i, ts_recv_ns=t,
                                        ts_venue_ms=t // 10**6, tick=100, bids=bids, asks=asks)))
        out.append(seq)
    return out


@dataclass
class Maker:
    """One market's executor as the venue sees it."""

    mode: str  # "ours", "cancel_replace_decisions", "cancel_replace_every_update"
    tokens: MarketTokens
    rtt_ns: int
    belief: list[LiveOrder] = field(default_factory=list)
    venue: dict[tuple[str, int], int] = field(default_factory=dict)
    busy_until: int = 0
    queued: list[DesiredOrder] | None = None
    calls: int = 0
    order_actions: int = 0
    ids: itertools.count = field(default_factory=itertools.count)

    def act(self, desired: list[DesiredOrder], t: int, events: list[tuple[int, int, str, object]],
            counter: itertools.count) -> None:
        if t < self.busy_until:
            self.queued = desired  # conflated: only the newest ladder waits
            return
        if self.mode == "ours":
            actions = diff(desired, self.belief)
            cancel_ids, place = set(actions.cancels), list(actions.placements)
        else:
            cancel_ids, place = {o.order_id for o in self.belief}, list(desired)
        cancelled = [o for o in self.belief if o.order_id in cancel_ids]
        kept = [o for o in self.belief if o.order_id not in cancel_ids]
        half = self.rtt_ns // 2
        place_at = t
        if cancelled:
            self.calls += 1
            self.order_actions += len(cancelled)
            heapq.heappush(events, (t + half, next(counter), "gone", [(o.token, o.price) for o in cancelled]))
            place_at = t + self.rtt_ns
        if place:
            self.calls += -(-len(place) // BATCH)
            self.order_actions += len(place)
            heapq.heappush(events, (place_at + half, next(counter), "live", [(d.token, d.price, d.size) for d in place]))
        self.belief = kept + [LiveOrder(order_id=f"o{next(self.ids)}", market=d.market, token=d.token,
                                        outcome=d.outcome, side="BUY", price=d.price, size=d.size)
                              for d in place]
        self.busy_until = place_at + (self.rtt_ns if place else 0)
        if self.queued is not None or self.busy_until > t:
            heapq.heappush(events, (self.busy_until, next(counter), "free", None))

    def at_top(self, book: BookSnapshot) -> tuple[bool, bool]:
        yes = [p for (tok, p), s in self.venue.items() if tok == self.tokens.yes_token and s > 0]
        no = [p for (tok, p), s in self.venue.items() if tok == self.tokens.no_token and s > 0]
        bid_top = bool(yes) and bool(book.bids) and max(yes) >= book.bids[0].price
        ask_top = bool(no) and bool(book.asks) and ONE_DOLLAR - max(no) <= book.asks[0].price
        return bid_top, ask_top


def run_market(mode: str, updates: list[tuple[int, BookSnapshot]], k: int, rtt_ns: int,
               params: QuotingConfig, end_ns: int) -> tuple[int, int, float]:
    tokens = MarketTokens(market=f"m{k}", venue_market=f"0x{k:x}", yes_token=f"{2 * k + 10}",
                          no_token=f"{2 * k + 11}", tick=100, min_size=500)
    maker = Maker(mode, tokens, rtt_ns)
    market = MarketInfo(resolves_at_ns=T0 + 10**9 * 86_400 * 30)
    state = EngineState()
    counter = itertools.count()
    events: list[tuple[int, int, str, object]] = [(t, next(counter), "book", b) for t, b in updates]
    heapq.heapify(events)
    book: BookSnapshot | None = None
    last_t, top_ns = 0, 0.0
    while events:
        t, _, kind, payload = heapq.heappop(events)
        if t > end_ns:
            break
        if book is not None:
            bid_top, ask_top = maker.at_top(book)
            top_ns += (t - last_t) * (bid_top + ask_top) / 2
        last_t = t
        if kind == "book":
            assert isinstance(payload, BookSnapshot)
            book = payload
            state, d = step(state, EngineInputs(book=book), params, market, T0 + t)
            if mode == "cancel_replace_every_update" or d.send:
                maker.act(express_ladder(tokens, d.bids, d.asks)[0], t, events, counter)
        elif kind == "gone":
            for key in payload:  # type: ignore[union-attr]
                maker.venue.pop(key, None)
        elif kind == "live":
            for tok, price, size in payload:  # type: ignore[union-attr]
                maker.venue[(tok, price)] = size
        elif kind == "free" and maker.queued is not None and t >= maker.busy_until:
            queued, maker.queued = maker.queued, None
            maker.act(queued, t, events, counter)
    first = updates[0][0]
    return maker.calls, maker.order_actions, top_ns / max(1, end_ns - first)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--markets", type=int, default=20)
    p.add_argument("--rate", type=float, default=10, help="book updates per second per market")
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--rtt-ms", type=float, default=20)
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--churn", choices=["relative", "fresh"], default="relative")
    p.add_argument("--levels", type=int, default=1, help="orders per side (QuotingConfig.max_orders)")
    a = p.parse_args()
    print(f"requote replay: {a.markets} markets x {a.rate:g} updates/s x {a.seconds:g}s, rtt {a.rtt_ms:g} ms, "
          f"seed {a.seed}, size churn {a.churn}, {a.levels} level(s) per side", flush=True)
    books = replay(a.seed, a.markets, a.rate, a.seconds, a.churn)
    params = QuotingConfig(max_orders=a.levels)
    end_ns = int(a.seconds * 1e9)
    minutes = a.seconds / 60
    res: dict[str, dict[str, float]] = {}
    for mode in ("ours", "cancel_replace_every_update", "cancel_replace_decisions"):
        calls = actions = 0
        tops = []
        for k, updates in enumerate(books):
            c, n, top = run_market(mode, updates, k, int(a.rtt_ms * 1e6), params, end_ns)
            calls, actions = calls + c, actions + n
            tops.append(top)
        res[mode] = {"calls_per_min": round(calls / minutes, 1), "order_actions_per_min": round(actions / minutes, 1),
                     "time_at_top": round(sum(tops) / len(tops), 4)}
        print(f"  {mode:30s} {calls / minutes:9,.0f} calls/min  {actions / minutes:9,.0f} orders placed+cancelled/min"
              f"  time at top {res[mode]['time_at_top']:.1%}", flush=True)
    ours, base = res["ours"], res["cancel_replace_every_update"]
    result = {
        "calls_ours": ours["calls_per_min"], "calls_cancel_replace": base["calls_per_min"],
        "reduction": round(1 - ours["calls_per_min"] / base["calls_per_min"], 4),
        "time_at_top_ours": ours["time_at_top"], "time_at_top_cancel_replace": base["time_at_top"],
        "order_actions_reduction": round(1 - ours["order_actions_per_min"] / base["order_actions_per_min"], 4),
        "reduction_vs_cancel_replace_on_our_decisions": round(
            1 - ours["calls_per_min"] / res["cancel_replace_decisions"]["calls_per_min"], 4),
        "unit": "venue HTTP requests per minute", "modes": res, "markets": a.markets,
        "updates_per_sec_per_market": a.rate, "seconds": a.seconds, "rtt_ms": a.rtt_ms, "seed": a.seed,
        "churn": a.churn, "levels": a.levels,
    }
    print(f"  reduction {result['reduction']:.1%} in calls ({result['order_actions_reduction']:.1%} in order actions), "
          f"time at top {ours['time_at_top']:.1%} vs {base['time_at_top']:.1%}")
    out = ROOT / "bench" / "results" / "requote.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
