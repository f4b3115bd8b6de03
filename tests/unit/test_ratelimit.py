"""The venue token bucket: never spends past its budget, keeps a reserve for cancels."""

from __future__ import annotations

import asyncio

from hypothesis import given
from hypothesis import strategies as st

from services.executor.ratelimit import CANCEL_RESERVE, Prepaid, TokenBucket


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
