"""Coverage-guided fuzzing (atheris/libFuzzer) of every venue decoder.

    python bench/fuzz.py [--runs N] [--targets a,b] [--no-record]   all targets, N inputs each
    python bench/fuzz.py --child TARGET --runs N OUT.json  (internal: one libFuzzer run)

Each target is fuzzed in its own process (libFuzzer exits the process when it is done
or finds a crash), seeded with recorded venue payloads and hostile numbers, and with a
dictionary of the tokens that broke us ("inf", "1e999999", ...). A crash is any
exception a decoder lets out except VenueDataError where the decoder's contract is to
raise it. Prints, per target: inputs tried, crashes, and the slowest input (CPU time);
writes bench/results/fuzz.json for a full run unless --no-record (the test suite's short
run must not replace the benchmark's figure).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGETS = ("polymarket_market", "polymarket_user", "polymarket_rest", "kalshi_market",
           "kalshi_user", "kalshi_rest", "listings")
CANARY = "canary"
"""Not a decoder: the pre-issue-15 price parse (catches only InvalidOperation), which the
fuzzer must crash on "inf", proving that the harness finds what it is there to find."""
TOKENS = ["inf", "-inf", "NaN", "Infinity", "1e999999", "1e-999999", "1E+99", "1e30", "-0.5",
          "1.5", "\\xd9\\xa3", "1_0", "[1]", "{}", "null", "true", "18446744073709551616"]
YES, NO, TICKER = "111", "222", "KXFED-T4"

SEEDS: dict[str, list[Any]] = {
    "polymarket_market": [
        {"event_type": "book", "asset_id": YES, "bids": [{"price": "0.48", "size": "100"}],
         "asks": [{"price": "0.52", "size": "5"}], "timestamp": "1703875200000",
         "tick_size": "0.01", "min_order_size": "5"},
        [{"event_type": "price_change", "timestamp": "1703875200000", "price_changes": [
            {"asset_id": YES, "price": "0.5", "size": "10", "side": "BUY"}]}],
        {"event_type": "last_trade_price", "asset_id": NO, "price": "0.4", "size": "3",
         "side": "SELL", "timestamp": "1703875200000"},
        {"event_type": "tick_size_change", "asset_id": YES, "new_tick_size": "0.001"},
    ],
    "polymarket_user": [
        {"event_type": "trade", "type": "TRADE", "id": "t1", "asset_id": YES, "side": "BUY",
         "size": "10", "price": "0.5", "status": "MATCHED", "taker_order_id": "0xour",
         "owner": "me", "trader_side": "TAKER", "fee_rate_bps": "100",
         "timestamp": "1703875200000", "match_time": "1703875200", "maker_orders": [
             {"order_id": "0xour", "asset_id": NO, "matched_amount": "5", "price": "0.5",
              "side": "BUY", "owner": "me"}]},
        {"event_type": "order", "id": "0xour", "asset_id": YES, "side": "SELL", "price": "0.6",
         "original_size": "10", "size_matched": "2", "type": "UPDATE"},
    ],
    "polymarket_rest": [
        [{"id": "0xour", "asset_id": YES, "side": "BUY", "price": "0.6", "original_size": "200",
          "size_matched": "0", "status": "LIVE"}],
    ],
    "kalshi_market": [
        {"type": "orderbook_snapshot", "sid": 3, "seq": 1, "msg": {
            "market_ticker": TICKER, "yes_dollars_fp": [["0.4500", "120.00"]],
            "no_dollars_fp": [["0.5300", "200.00"]]}},
        {"type": "orderbook_delta", "sid": 3, "seq": 2, "msg": {
            "market_ticker": TICKER, "price_dollars": "0.4500", "delta_fp": "-20.00",
            "side": "yes", "ts_ms": 1703875200000}},
        {"type": "trade", "sid": 9, "msg": {"market_ticker": TICKER, "taker_side": "no",
                                            "yes_price_dollars": "0.45", "count_fp": "3.00",
                                            "ts": 1703875200}},
    ],
    "kalshi_user": [
        {"type": "fill", "sid": 1, "msg": {
            "trade_id": "t1", "order_id": "o1", "market_ticker": TICKER, "side": "yes",
            "action": "buy", "yes_price_dollars": "0.45", "count_fp": "3.00",
            "fee_cost": "0.02", "ts": 1703875200}},
    ],
    "kalshi_rest": [
        {"orders": [{"order_id": "o1", "ticker": TICKER, "outcome_side": "no",
                     "action": "buy", "yes_price_dollars": "0.45", "remaining_count_fp": "3.00",
                     "fill_count_fp": "0.00"}], "cursor": ""},
        {"fills": [{"trade_id": "t1", "order_id": "o1", "ticker": TICKER, "side": "yes",
                    "action": "sell", "yes_price_dollars": "0.45", "count_fp": "1.00"}]},
        {"market_positions": [{"ticker": TICKER, "position_fp": "-3.00"}]},
    ],
    CANARY: [{"price": "0.5"}],
    "listings": [
        {"gamma": [{"conditionId": "0xdd", "clobTokenIds": json.dumps([YES, NO]),
                    "volume24hr": 1000, "liquidityNum": "50", "spread": 0.02,
                    "oneDayPriceChange": 0.01, "endDate": "2027-01-01T00:00:00Z"}],
         "kalshi": {"markets": [{"ticker": TICKER, "yes_bid_dollars": "0.45",
                                 "yes_ask_dollars": "0.47", "volume_24h_fp": "100.00",
                                 "price_ranges": [{"start": "0", "end": "1", "step": "0.01"}]}]}},
    ],
}


def _decoders() -> dict[str, Callable[[bytes], None]]:
    """The decoders under test, imported under atheris' coverage instrumentation."""
    import atheris

    with atheris.instrument_imports(include=["common", "services"]):
        from common.config import parse
        from common.errors import VenueDataError
        from common.scanner import from_gamma, from_kalshi
        from common.venues.kalshi import fill_from_wire
        from common.wire_numbers import pips
        from services.executor import polymarket_rest
        from services.executor.kalshi_user import KalshiUserChannel
        from services.executor.kalshi_wire import page_rows, venue_order
        from services.executor.orders import MarketTokens
        from services.executor.polymarket_user import Identity, UserChannel
        from services.ingest.kalshi import KalshiFeed
        from services.ingest.kalshi_grid import tick_of
        from services.ingest.polymarket import PolymarketFeed

    import httpx
    import msgspec

    cfg = parse(f"""
[[markets]]
id = "m1"
venue = "polymarket"
venue_market = "0xdd"
yes_token = "{YES}"
no_token = "{NO}"

[[markets]]
id = "fed"
venue = "kalshi"
venue_market = "{TICKER}"
""")
    loop = asyncio.new_event_loop()

    class Sink:
        async def on_fill(self, fill: Any, *, settled: bool = True) -> None: ...
        async def on_fill_failed(self, fill: Any) -> None: ...
        async def on_order(self, update: Any) -> None: ...
        def is_ours(self, order_id: str) -> bool:
            return order_id == "0xour"

    sink = Sink()
    assets: dict[str, Any] = {YES: ("m1", "YES"), NO: ("m1", "NO")}

    def pm_user(data: bytes) -> None:
        channel = UserChannel("ws://unused", auth={}, condition_ids=[],
                              me=Identity(api_key="me"), assets=assets)
        loop.run_until_complete(channel.dispatch(data, 1, sink))

    def pm_rest(data: bytes) -> None:
        try:
            rows = msgspec.json.decode(data)
        except (msgspec.DecodeError, UnicodeDecodeError):  # what httpx's .json() refuses
            return
        async def fetch(after_s: int) -> list[Any]:
            return rows if isinstance(rows, list) else [rows]
        channel = UserChannel("ws://unused", auth={}, condition_ids=[],
                              me=Identity(api_key="me"), assets=assets, fetch_trades=fetch)
        loop.run_until_complete(channel.recover(sink))  # trade rows
        for row in rows if isinstance(rows, list) else [rows]:  # open-order rows
            try:
                order = polymarket_rest.open_order(row)
                pips(order.price)
                polymarket_rest.remaining(order)
            except VenueDataError:
                pass

    def kalshi_market(data: bytes) -> None:
        feed = KalshiFeed(cfg, None)
        feed.subscribe_messages()
        feed.parse(json.dumps(SEEDS["kalshi_market"][0]))
        feed.parse(data)

    tokens = {TICKER: MarketTokens(market="fed", venue_market=TICKER, yes_token=YES,
                                   no_token=NO, tick=100, min_size=100)}

    def kalshi_user(data: bytes) -> None:
        channel = KalshiUserChannel("ws://unused", signer=None,  # type: ignore[arg-type]
                                    by_ticker=tokens, fetch_fills=None)  # type: ignore[arg-type]
        loop.run_until_complete(channel.dispatch(data, 1, sink))

    def kalshi_rest(data: bytes) -> None:
        resp = httpx.Response(200, content=data)
        for key in ("orders", "fills", "market_positions"):
            try:
                rows, _ = page_rows(resp, key, set())
                for row in rows:
                    try:
                        if key == "orders":
                            venue_order(row)
                        elif key == "fills":
                            fill_from_wire(row, "fed", 1)
                    except VenueDataError:
                        pass
            except VenueDataError:
                pass

    def listings(data: bytes) -> None:
        try:
            doc = msgspec.json.decode(data)
        except (msgspec.DecodeError, UnicodeDecodeError):  # what httpx's .json() refuses
            return
        if not isinstance(doc, dict):
            return
        from_gamma(doc.get("gamma"))
        from_kalshi(doc.get("kalshi"))
        markets = doc.get("kalshi", {}).get("markets") if isinstance(doc.get("kalshi"), dict) \
            else None
        for market in markets if isinstance(markets, list) else []:
            try:
                tick_of(market)
            except VenueDataError:
                pass

    @atheris.instrument_func  # lives here, outside the instrumented imports
    def canary(data: bytes) -> None:
        from decimal import Decimal, InvalidOperation

        try:
            doc = msgspec.json.decode(data)
        except (msgspec.DecodeError, UnicodeDecodeError):
            return
        if isinstance(doc, dict) and isinstance(doc.get("price"), str):
            try:
                int(Decimal(doc["price"]) * 10_000)
            except InvalidOperation:
                pass

    return {CANARY: canary,
            "polymarket_market": lambda data: PolymarketFeed(cfg).parse(data) and None,
            "polymarket_user": pm_user, "polymarket_rest": pm_rest,
            "kalshi_market": kalshi_market, "kalshi_user": kalshi_user,
            "kalshi_rest": kalshi_rest, "listings": listings}


def child(target: str, runs: int, out: Path) -> None:
    """One libFuzzer run over one decoder; stats go to `out` when `runs` inputs are done."""
    import logging

    import atheris

    logging.disable(logging.CRITICAL)  # drop() warns; libFuzzer's speed is the point here
    decode = _decoders()[target]
    stats = {"target": target, "inputs": 0, "slowest_s": 0.0, "slowest_input": ""}

    def one(data: bytes) -> None:
        start = time.thread_time()
        decode(data)  # an escaping exception is a crash: libFuzzer records it and exits
        seconds = time.thread_time() - start
        stats["inputs"] = int(stats["inputs"]) + 1
        if seconds > float(stats["slowest_s"]):
            stats["slowest_s"], stats["slowest_input"] = seconds, data[:200].decode("latin-1")
        if stats["inputs"] == runs:
            out.write_text(json.dumps(stats))

    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        for i, seed in enumerate(SEEDS[target]):
            (corpus / f"seed{i}").write_text(json.dumps(seed))
        dictionary = Path(tmp) / "tokens.dict"
        dictionary.write_text("".join(f'"{t}"\n' for t in TOKENS))
        atheris.Setup([sys.argv[0], f"-runs={runs}", f"-dict={dictionary}", "-seed=20261206",
                       "-max_len=2048", "-rss_limit_mb=1024", "-timeout=5",  # a stall is a crash too
                       str(corpus)], one)
        atheris.Fuzz()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20_000, help="inputs per decoder")
    ap.add_argument("--targets", default=",".join(TARGETS))
    ap.add_argument("--child", choices=(*TARGETS, CANARY))
    ap.add_argument("--no-record", action="store_true",
                    help="do not write bench/results/fuzz.json (short runs, tests)")
    ap.add_argument("out", nargs="?", type=Path)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.runs, args.out)
        return
    results = []
    for target in args.targets.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "stats.json"
            started = time.perf_counter()
            proc = subprocess.run([sys.executable, __file__, "--child", target,
                                   "--runs", str(args.runs), str(out)],
                                  capture_output=True, text=True, cwd=tmp, check=False)
            stats = json.loads(out.read_text()) if out.exists() else {"target": target}
            crashed = proc.returncode != 0 or not out.exists()
            stats.update(crashes=int(crashed), wall_s=round(time.perf_counter() - started, 1))
            if crashed:
                stats["crash_log"] = (proc.stdout + proc.stderr)[-3000:]
        results.append(stats)
        print(f"{target:18} inputs {stats.get('inputs', 0):>7}  crashes {stats['crashes']}  "
              f"slowest {float(stats.get('slowest_s', 0)) * 1e3:7.3f} ms  "
              f"({stats['wall_s']} s)")
        if crashed:
            print(stats["crash_log"], file=sys.stderr)
    if args.targets == ",".join(TARGETS) and not args.no_record:  # the benchmark's figure
        results_dir = ROOT / "bench" / "results"
        results_dir.mkdir(exist_ok=True)
        (results_dir / "fuzz.json").write_text(json.dumps(results, indent=2) + "\n")
    if any(r["crashes"] for r in results):
        sys.exit(1)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
