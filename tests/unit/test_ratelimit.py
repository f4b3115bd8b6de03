"""The venue token bucket: never spends past its budget, keeps a reserve for cancels."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from eth_account import Account
from hypothesis import given
from hypothesis import strategies as st

from common.config import parse
from common.kalshi_auth import KalshiSigner, new_private_pem
from services.executor.__main__ import market_tokens
from services.executor.adapter import InFlight, Rejected
from services.executor.kalshi import KalshiExecution
from services.executor.orders import DesiredOrder
from services.executor.polymarket import PolymarketExecution
from services.executor.ratelimit import (
    CANCEL_RESERVE,
    Prepaid,
    TokenBucket,
    placement_batch,
    retry_after_s,
)
from tests.support.sim import SimThread


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


steps = st.lists(st.tuples(st.floats(0, 0.5), st.integers(1, 40), st.booleans()),
                 max_size=60)


@given(steps)
def test_spending_never_exceeds_the_refill_plus_capacity(ops: list[tuple[float, int, bool]]) -> None:
    clock = Clock()
    bucket = TokenBucket(100.0, 200.0, clock=clock)
    spent = 0.0
    for dt, cost, urgent in ops:
        clock.t += dt
        before = bucket.tokens
        wait = bucket.try_take(cost, urgent=urgent)
        if wait > 0:
            assert bucket.tokens >= before - 1e-9, "a refused take spent tokens"
        else:
            spent += cost
            floor = 0.0 if urgent else 200.0 * CANCEL_RESERVE
            assert bucket.tokens >= floor - 1e-9, "a placement ate into the cancel reserve"
    assert spent <= 200.0 + 100.0 * clock.t + 1e-6


def test_a_refused_take_says_how_long_until_it_is_affordable() -> None:
    clock = Clock()
    bucket = TokenBucket(100.0, 200.0, clock=clock)
    assert bucket.try_take(150) == 0  # down to the 50-token reserve
    wait = bucket.try_take(20)
    assert abs(wait - 0.2) < 1e-9
    clock.t += wait
    assert bucket.try_take(20) == 0
    assert bucket.try_take(40, urgent=True) == 0  # cancels may spend the reserve


def test_nothing_costs_nothing_and_a_429_blocks_everyone() -> None:
    clock = Clock()
    bucket = TokenBucket(100.0, 200.0, clock=clock)
    assert asyncio.run(bucket.take(0)) == 0
    pause = bucket.limited()
    assert pause > 0 and bucket.try_take(1, urgent=True) >= pause - 1e-9
    clock.t += pause + 0.02
    assert bucket.try_take(1, urgent=True) == 0


requests = st.lists(st.tuples(st.sampled_from("ab"), st.integers(1, 30)), max_size=12)


@given(st.integers(1, 60), requests)
def test_a_reservation_pays_for_exactly_what_it_covers(reserved: int,
                                                       reqs: list[tuple[str, int]]) -> None:
    """Market a reserves; its requests (in any number and split) pay the bucket only beyond
    the reservation, b's requests never touch a's credit, and no credit is created."""
    clock = Clock()
    bucket = TokenBucket(1.0, 1_000.0, clock=clock)  # no refill to speak of: counts are exact
    prepaid = Prepaid(bucket, urgent=True)
    assert prepaid.reserve("a", reserved) == 0
    owed = {"a": 0.0, "b": 0.0}
    cost = {"a": 0, "b": 0}
    for market, c in reqs:
        owed[market] += prepaid.owed(market, c)
        cost[market] += c
    assert owed["b"] == cost["b"]
    assert owed["a"] == max(0, cost["a"] - reserved)
    assert prepaid.credit("a") == max(0, reserved - cost["a"])
    assert prepaid.credit("b") == 0


def test_a_refused_reservation_takes_nothing_and_a_new_one_replaces_the_old() -> None:
    clock = Clock()
    bucket = TokenBucket(10.0, 20.0, clock=clock)
    prepaid = Prepaid(bucket)  # placements: 5 of the 20 tokens are the cancel reserve
    assert prepaid.reserve("a", 10) == 0 and bucket.tokens == 10
    assert prepaid.reserve("a", 10) > 0  # 10 left, 5 of them reserved for cancels
    assert bucket.tokens == 10 and prepaid.credit("a") == 10
    clock.t += 1.0  # +10 tokens
    assert prepaid.reserve("a", 4) == 0
    assert prepaid.credit("a") == 4  # the unspent 10 are not carried over
    assert prepaid.owed("a", 10) == 6


def test_a_placement_dearer_than_the_room_above_the_reserve_waits_for_a_full_bucket() -> None:
    clock = Clock()
    bucket = TokenBucket(100.0, 100.0, clock=clock)  # Kalshi Basic write: 100 tokens, 1 s
    assert bucket.try_take(100) == 0, "a full bucket pays a whole-capacity batch"
    assert bucket.tokens == 0, "and is charged all of it, as the venue charges"
    clock.t += 0.5
    assert bucket.try_take(100) == pytest.approx(0.5)
    assert placement_batch(20, 100.0, 10) == 7  # 75 tokens above the cancel reserve
    assert placement_batch(20, 600.0, 10) == 20
    assert placement_batch(15, 1.0, 10) == 1


def test_a_429_pauses_for_the_venues_retry_after_when_it_sends_one() -> None:
    clock = Clock()
    bucket = TokenBucket(40.0, 60.0, clock=clock)
    assert bucket.limited(2.0) == 2.0
    assert bucket.try_take(1, urgent=True) == pytest.approx(2.0)
    clock.t += 2.0
    assert bucket.limited() == pytest.approx(0.2)  # none sent: the doubling pause goes on
    assert [retry_after_s(v) for v in ("1", "0.5", "", None, "soon", "-1", "inf")] == [
        1.0, 0.5, None, None, None, None, None]


# --- the adapters under a burst past the venue's limit, over real HTTP ----------------------

CID = "0x" + "ef" * 32
YES = "5" * 70
NO = "6" * 70
TICKER = "KXBURST-26DEC-T1"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimThread]:
    s = SimThread(parse(f"""
[sim]
seed = 9
[sim.flow]
noise_rate_hz = 0.0
informed_rate_hz = 0.0
maker_levels = 0
[[markets]]
id = "pm"
venue = "polymarket"
venue_market = "{CID}"
yes_token = "{YES}"
no_token = "{NO}"
tick = 0.01
min_size = 5
[[markets]]
id = "k"
venue = "kalshi"
venue_market = "{TICKER}"
tick = 0.01
min_size = 1
""")).start()
    yield s
    s.stop()


def ladder(market: str, yes: str, no: str, levels: int, size: int) -> list[DesiredOrder]:
    return [DesiredOrder(market=market, token=token, outcome=outcome,  # type: ignore[arg-type]
                         price=100 * (i + 1), size=size)
            for token, outcome in ((yes, "YES"), (no, "NO")) for i in range(levels)]


async def place_until_all_rest(adapter: Any, desired: list[DesiredOrder]) -> int:
    """Place what is not placed yet until everything is, as the executor's next ladder does;
    return the 429s met. A 429 is definitive: its orders are simply placed again."""
    pending, limited = list(desired), 0
    for _ in range(50):
        report = await adapter.place(pending)
        assert not [r for r in report.results if isinstance(r, InFlight)]
        refused = [r for r in report.results if isinstance(r, Rejected)]
        assert all("429" in r.reason or "too many" in r.reason.lower() for r in refused), refused
        limited += bool(refused)
        pending = [r.request for r in refused]
        if not pending:
            return limited
    raise AssertionError("orders still refused after 50 rounds")


def resting(sim: SimThread, account: str) -> list[tuple[str, str]]:
    orders = sim.state()["accounts"][account]["open_orders"]
    return sorted((o["asset_id"], o["price"]) for o in orders)


def test_polymarket_burst_past_the_signer_bucket_ends_with_each_order_resting_once(
        sim: SimThread) -> None:
    cfg = parse(f"""
[venues.polymarket]
rest_url = "{sim.url}"
ws_url = "ws://127.0.0.1:{sim.port}/ws"
order_tokens_per_s = 1000   # deliberately above the venue's Standard tier (40/s, burst 60)
order_burst = 1000
[[markets]]
id = "pm"
venue = "polymarket"
venue_market = "{CID}"
yes_token = "{YES}"
no_token = "{NO}"
tick = 0.01
min_size = 5
""")
    desired = ladder("pm", YES, NO, 45, 500)  # 90 orders in 6 batches: 30 past the burst

    async def main() -> tuple[int, float]:
        with ThreadPoolExecutor(4) as pool:
            ad = PolymarketExecution(cfg, market_tokens(cfg, "polymarket"),
                                     private_key=Account.create().key.hex(), pool=pool)
            await ad.start()
            t0 = time.monotonic()
            limited = await place_until_all_rest(ad, desired)
            assert ad._orders_bucket.rate_limited >= 1, "the venue's limit was never met"
            return limited, time.monotonic() - t0

    limited, took_s = asyncio.run(main())
    assert limited >= 1 and took_s >= 1.0, "the 429's Retry-After (1 s) was not honoured"
    (account,) = [a for a, v in sim.state()["accounts"].items()
                  if {o["asset_id"] for o in v["open_orders"]} & {YES}]
    want = sorted((d.token, f"{d.price / 10_000:g}") for d in desired)
    assert resting(sim, account) == want, "an order was lost or doubled"


def test_kalshi_burst_past_the_write_bucket_ends_with_each_order_resting_once(
        sim: SimThread) -> None:
    cfg = parse(f"""
[venues.kalshi]
rest_url = "{sim.url}/trade-api/v2"
ws_url = "ws://127.0.0.1:{sim.port}/trade-api/ws/v2"
write_tokens_per_s = 400   # deliberately above the venue's Basic tier (100/s, 100 held)
max_batch = 5
order_group_contracts = 0
[[markets]]
id = "k"
venue = "kalshi"
venue_market = "{TICKER}"
min_size = 1
""")
    assert KalshiExecution(cfg, market_tokens(cfg, "kalshi"),
                           signer=KalshiSigner.from_pem("x", new_private_pem())).batch_size == 5
    signer = KalshiSigner.from_pem(str(uuid.uuid4()), new_private_pem())
    httpx.post(f"{sim.url}/_sim/kalshi/keys", json={
        "key_id": signer.key_id, "public_key_pem": signer.public_pem().decode()}
    ).raise_for_status()
    yes, no = f"{TICKER}:yes", f"{TICKER}:no"
    desired = ladder("k", yes, no, 20, 100)  # 40 orders, 400 tokens, in 8 batches at once

    async def main() -> int:
        ad = KalshiExecution(cfg, market_tokens(cfg, "kalshi"), signer=signer)
        try:
            await ad.start()
            limited = await place_until_all_rest(ad, desired)
            assert ad.http.write.rate_limited >= 1, "the venue's limit was never met"
            return limited
        finally:
            await ad.close()

    assert asyncio.run(main()) >= 1
    account = next(a for a, v in sim.state()["accounts"].items()
                   if {o["asset_id"] for o in v["open_orders"]} & {yes, no})
    want = sorted((d.token, f"{d.price / 10_000:g}") for d in desired)
    assert resting(sim, account) == want, "an order was lost or doubled"
