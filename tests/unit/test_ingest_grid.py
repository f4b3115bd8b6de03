"""Kalshi price grids: parsing price_ranges, reading them from the simulator's REST API
after a tick change, the watcher reacting to the executor's rejections, and the ingest
actor republishing the book with the new tick."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import httpx
import msgspec
import pytest

from common import bus, topics
from common.config import Config, endpoint, parse
from common.kalshi_auth import KalshiSigner, new_private_pem
from common.messages import BookSnapshot, MarketData, OrderEvent
from services.ingest.grid import GridWatcher, suggests_grid_change
from services.ingest.kalshi import KalshiFeed
from services.ingest.kalshi_grid import KalshiGrid, tick_of
from services.ingest.process import IngestActor
from tests.support.fixtures import StartSim
from tests.support.kalshi_feed import subscribed
from tests.support.kalshi_sim import TICKER, kalshi_config
from tests.support.wait import eventually_async


def grid_config(run_dir: Path, rest_url: str = "http://127.0.0.1:1/trade-api/v2") -> Config:
    return parse(f"""
[stack]
run_dir = "{run_dir}"
[venues.kalshi]
rest_url = "{rest_url}"
[ingest]
grid_refresh_ms = 3600000
[[markets]]
id = "fed"
venue = "kalshi"
venue_market = "KXFED-T4"
min_size = 1
""")


def test_tick_is_the_coarsest_step_of_the_price_ranges() -> None:
    def rng(*steps: str) -> dict[str, object]:
        return {"price_ranges": [{"start": "0", "end": "1", "step": s} for s in steps]}

    assert tick_of(rng("0.0200")) == 200
    assert tick_of(rng("0.001", "0.01", "0.001")) == 100  # tapered: 0.01 is valid everywhere
    assert tick_of({"price_level_structure": "deci_cent"}) == 10
    for bad in (rng("0"), rng("x"), {"ticker": "T"}, {"price_ranges": [{"start": "0"}]}):
        with pytest.raises(ValueError):
            tick_of(bad)


def test_kalshi_grid_reads_a_tick_change_from_the_simulator(tmp_path: Path, start_sim: StartSim) -> None:
    sim = start_sim(kalshi_config())
    signer = KalshiSigner.from_pem(str(uuid.uuid4()), new_private_pem())
    r = httpx.post(f"{sim.url}/_sim/kalshi/keys", json={
        "key_id": signer.key_id, "public_key_pem": signer.public_pem().decode()})
    assert r.status_code == 200, r.text
    cfg = grid_config(tmp_path, f"{sim.url}/trade-api/v2")

    async def read() -> tuple[dict[str, int], int]:
        grid = KalshiGrid(cfg, signer)
        try:
            return await grid.ticks([TICKER])
        finally:
            await grid.close()

    assert asyncio.run(read()) == ({TICKER: 100}, 0)
    r = httpx.post(f"{sim.url}/_sim/fault", json={"kind": "tick_size_change",
                                                  "market": TICKER, "tick": 0.02})
    assert r.status_code == 200, r.text
    assert asyncio.run(read()) == ({TICKER: 200}, 0)


class FakeGrid:
    """A GridSource whose ticks the test sets; counts reads."""

    def __init__(self) -> None:
        self.tick = 100
        self.reads: list[list[str]] = []

    async def ticks(self, tickers: Sequence[str]) -> tuple[dict[str, int], int]:
        self.reads.append(list(tickers))
        return {t: self.tick for t in tickers}, 0

    async def close(self) -> None:
        pass


def rejected(reason: str) -> OrderEvent:
    return OrderEvent(venue="kalshi", market="fed", order_id="", status="rejected",
                      outcome="YES", side="BUY", price=4700, size=100, ts_ns=0, reason=reason)


def test_only_rejections_that_may_be_about_the_price_grid_count() -> None:
    assert suggests_grid_change(rejected("invalid_order: Price (0.47) breaks minimum tick size"))
    assert not suggests_grid_change(rejected("post_only_cross: post only order would cross"))
    assert not suggests_grid_change(rejected("insufficient_balance: insufficient balance"))


def test_watcher_reads_the_grid_after_a_rejection(tmp_path: Path) -> None:
    asyncio.run(_watcher(grid_config(tmp_path)))


async def _watcher(cfg: Config) -> None:
    source = FakeGrid()
    applied: list[dict[str, int]] = []

    async def apply(ticks: dict[str, int]) -> None:
        applied.append(ticks)

    watcher = GridWatcher(cfg, "kalshi", source, {"fed": "KXFED-T4"}, apply)
    events = bus.pub(endpoint(cfg, "events", "kalshi"))
    enc = msgspec.msgpack.Encoder()
    run = asyncio.create_task(watcher.run())
    try:
        watcher.request()  # as on (re)subscribe
        await eventually_async(lambda: applied == [{"fed": 100}])
        await asyncio.sleep(0.3)  # the watcher's SUB is connected
        await events.send_multipart([topics.events("kalshi", "fed"),
                                     enc.encode(rejected("post_only_cross: would cross"))])
        await asyncio.sleep(0.4)
        assert len(source.reads) == 1
        source.tick = 200
        t0 = time.monotonic()
        await events.send_multipart([topics.events("kalshi", "fed"),
                                     enc.encode(rejected("invalid_order: breaks tick size"))])
        await eventually_async(lambda: applied[-1] == {"fed": 200})
        assert source.reads == [["KXFED-T4"], ["KXFED-T4"]] and time.monotonic() - t0 < 1.0
    finally:
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)
        events.close(linger=0)


def test_a_new_grid_republishes_the_book_with_its_tick(tmp_path: Path) -> None:
    asyncio.run(_republish(grid_config(tmp_path)))


async def _republish(cfg: Config) -> None:
    feed = KalshiFeed(cfg, None)
    actor = IngestActor(cfg, feed)
    md = bus.sub([endpoint(cfg, "md", "kalshi")], [topics.md("kalshi", "fed")])
    codec: bus.Codec[MarketData] = bus.Codec(MarketData, process="t", channel="md")
    books: list[BookSnapshot] = []

    async def reader() -> None:
        while True:
            msg = codec.decode((await md.recv_multipart())[1])
            if isinstance(msg, BookSnapshot):
                books.append(msg)

    task = asyncio.create_task(reader())
    try:
        await asyncio.sleep(0.2)
        subscribed(feed)
        await actor.on_frame(snapshot_frame(), time.monotonic_ns())
        await eventually_async(lambda: len(books) == 1)
        await actor.apply_ticks({"fed": 100})  # unchanged: nothing is published
        await actor.apply_ticks({"fed": 200})
        await eventually_async(lambda: len(books) == 2)
        assert books[0].tick == 100 and books[1].tick == 200
        assert books[1].bids == books[0].bids and books[1].seq == books[0].seq + 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        md.close(linger=0)
        actor._sock.close(linger=0)  # run() would close it; this test never runs the actor


def snapshot_frame() -> str:
    """A one-level orderbook_snapshot on sid 3 (the sid `subscribed` acknowledged)."""
    return json.dumps({"type": "orderbook_snapshot", "sid": 3, "seq": 1, "msg": {
        "market_ticker": "KXFED-T4", "yes_dollars_fp": [["0.4500", "120.00"]],
        "no_dollars_fp": [["0.5300", "200.00"]]}})
