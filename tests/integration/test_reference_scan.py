"""Issue 5 on the real stack: the reference feed end to end (simulator -> `reference` process ->
md bus -> quoter and control), its kill -9, `pmm status <id>` with the hedge analysis, and
`pmm scan` against the simulator's listings.

One stack (the demo's markets plus its reference demo, and candidate markets) serves the module;
tests run in file order.
"""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Iterator

import httpx
import pytest
import zmq

from common import topics
from common.config import endpoint
from common.messages import MarketData, ReferencePrice
from tests.integration.stack import Stack, running
from tests.support.wait import eventually

pytestmark = pytest.mark.integration

REF_MARKET = "btc-above-100k"
EXTRA = """candidate_markets = 4
[scanner]
min_liquidity_usd = 100
top_n = 1
max_markets = 6
"""


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with running(references=True, extra=EXTRA, seed=5) as s:
        yield s


def reference_prices(stack: Stack, count: int, timeout_s: float = 30.0) -> list[ReferencePrice]:
    """`count` ReferencePrice messages heard by a fresh SUB on the reference md endpoint."""
    import msgspec

    ctx = zmq.Context.instance()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.RCVTIMEO, int(timeout_s * 1000))
    sub.setsockopt(zmq.SUBSCRIBE, topics.reference("BTC-USD"))
    sub.connect(endpoint(stack.cfg, "md", "reference"))
    dec = msgspec.msgpack.Decoder(MarketData)
    out: list[ReferencePrice] = []
    try:
        while len(out) < count:
            topic, payload = sub.recv_multipart()
            msg = dec.decode(payload)
            assert topic == b"ref.BTC-USD|" and isinstance(msg, ReferencePrice)
            out.append(msg)
    finally:
        sub.close()
    return out


def metric(stack: Stack, name: str, market: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{stack.exporter_port}/metrics", timeout=5).text
    m = re.search(rf'^{name}\{{[^}}]*market="{market}"[^}}]*\}} ([0-9.e+-]+)$', text, re.M)
    return float(m.group(1)) if m else 0.0


def test_reference_prices_reach_a_bus_subscriber(stack: Stack) -> None:
    # The simulator can take seconds to listen on a loaded host; the feed reconnects meanwhile.
    eventually(lambda: httpx.get(f"http://127.0.0.1:{stack.sim_port}/ok", timeout=2).status_code == 200,
               timeout=60, what="the simulator answers")
    prices = reference_prices(stack, 5)
    assert all(p.feed == "BTC-USD" and 50_000 < p.price < 200_000 for p in prices)
    assert prices[-1].ts_ns >= prices[0].ts_ns


def test_the_quoter_steps_on_reference_moves_and_control_shows_it(stack: Stack) -> None:
    eventually(lambda: metric(stack, "pmm_quoter_reference_price", REF_MARKET) > 50_000,
               timeout=40, what="the quoter holds a reference price")
    eventually(lambda: metric(stack, "pmm_quoter_reference_steps_total", REF_MARKET) >= 3,
               timeout=40, what="the quoter stepped the market on reference moves")
    doc = eventually(lambda: (d := stack.status_cli())["markets"][-1]["reference"] and d,
                     timeout=20, what="control shows the reference")
    ref = next(m for m in doc["markets"] if m["id"] == REF_MARKET)
    assert ref["reference_feed"] == "BTC-USD" and 50_000 < ref["reference"] < 200_000
    assert "reference" in doc["processes"] and doc["processes"]["reference"]["alive"]
    eventually(lambda: stack.open_orders_by_market()[REF_MARKET] > 0, timeout=30,
               what="the reference market is quoted")


def test_status_of_one_market_shows_the_reference_and_the_hedge_analysis(stack: Stack) -> None:
    text = stack.pmm("status", REF_MARKET).stdout
    assert re.search(r"reference BTC-USD: [0-9,]+\.[0-9]{2}", text), text
    assert "hedge analysis:" in text
    # A market with a position gets the full comparison once it has one.
    def positioned() -> dict | None:
        return next((m for m in stack.status()["markets"] if m["net_position"]), None)

    m = eventually(positioned, timeout=60, what="a position on some market")
    detail = stack.pmm("status", m["id"]).stdout
    assert "close  worst case" in detail and "hedge  worst case" in detail
    assert "recommendation:" in detail
    doc = json.loads(stack.pmm("status", m["id"], "--json").stdout)["markets"][0]
    if doc["hedge"]:  # the position may have gone flat in between
        assert doc["hedge"]["recommendation"] in ("hold", "close", "hedge")
        assert doc["hedge"]["hold_worst_usd"] <= doc["hedge"]["close_pnl_usd"]


def test_kill_9_of_the_reference_process_is_survived(stack: Stack) -> None:
    before = stack.processes()["reference"]
    steps = metric(stack, "pmm_quoter_reference_steps_total", REF_MARKET)
    os.kill(int(before["pid"]), signal.SIGKILL)
    after = eventually(lambda: (p := stack.processes()["reference"])["statename"] == "RUNNING"
                       and p["pid"] != before["pid"] and p, timeout=20,
                       what="supervisord restarted the reference process")
    assert after["pid"] != before["pid"]
    assert reference_prices(stack, 3)
    eventually(lambda: metric(stack, "pmm_quoter_reference_steps_total", REF_MARKET) > steps + 2,
               timeout=20, what="the quoter steps on the restarted feed")
    assert all(i["statename"] in ("RUNNING", "STOPPED") for i in stack.processes().values())


def test_scan_rejects_bad_values_naming_the_flag(stack: Stack) -> None:
    bad = stack.pmm("scan", "--top", "0", check=False)
    assert bad.returncode == 2 and "--top 0" in bad.stderr and ">= 1" in bad.stderr


def test_scan_proposes_candidates_from_the_simulator_and_starts_the_top_one(stack: Stack) -> None:
    rows = json.loads(stack.pmm("scan", "--json").stdout)
    running = {m.venue_market for m in stack.cfg.markets}
    assert len(rows) == len(running) + 4
    assert all(r["excluded"] == "already running" for r in rows if r["venue_market"] in running)
    proposed = [r for r in rows if r["proposed"]]
    assert len(proposed) == 1 and proposed[0]["venue_market"] not in running
    assert proposed[0]["score"] == max(r["score"] for r in rows if not r["excluded"])
    table = stack.pmm("scan").stdout
    assert "PROPOSED" in table and "already running" in table and "reward$/d" in table
    # the simulator's reward programme ([sim.rewards] daily_usd 100) reaches the ranking
    assert {r["reward_usd_per_day"] for r in rows} == {100.0}
    assert all(r["components"]["reward"] == 1.0 for r in rows)

    # Scores move with the live books, so the top one now may differ from the one above.
    started = stack.pmm("scan", "--start", timeout=180)
    found = re.findall(r"^added (\S+) \(polymarket (0x[0-9a-f]+)\)$", started.stderr, re.M)
    assert len(found) == 1, started.stderr
    market_id, venue_market = found[0]
    # Liquidity too is read from the live books: a market under the minimum in the first
    # scan may be over it now, so the started one is any listed market not already running.
    candidates = {r["venue_market"] for r in rows if r["venue_market"] not in running}
    assert venue_market in candidates, (venue_market, rows)
    listed = json.loads(stack.pmm("list", "--json").stdout)
    added = [m for m in listed if m["venue_market"] == venue_market]
    assert len(added) == 1 and added[0]["id"] == market_id
    eventually(lambda: any(m["id"] == added[0]["id"] and m["book_bid"] for m in stack.status()["markets"]),
               timeout=90, what="the started market has a book in status")
    # max_markets = 6 and 6 now run: a further scan proposes nothing.
    again = json.loads(stack.pmm("scan", "--json").stdout)
    assert not any(r["proposed"] for r in again)
