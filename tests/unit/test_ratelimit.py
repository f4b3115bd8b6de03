"""The venue token bucket: never spends past its budget, keeps a reserve for cancels."""

from __future__ import annotations

import asyncio

from hypothesis import given
from hypothesis import strategies as st

from services.executor.ratelimit import CANCEL_RESERVE, TokenBucket


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
