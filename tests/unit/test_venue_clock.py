"""VenueClock: our estimate of a venue's clock from the Date of its answers, and the
simulator's clock_skew fault that makes a venue's clock read off ours."""

from __future__ import annotations

import asyncio
from email.utils import formatdate, parsedate_to_datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from common.venue_clock import VenueClock
from services.venue_sim.kalshi_ws import WS_PATH
from tests.support.fixtures import StartSim
from tests.support.kalshi_sim import Client, kalshi_config


def date(ms: int) -> str:
    return formatdate(ms / 1000, usegmt=True)


def test_a_clock_in_step_stays_at_zero_and_a_skewed_one_is_followed() -> None:
    now = [1_800_000_000_250]
    clock = VenueClock("test", wall=lambda: now[0])
    for rtt in (0, 40, 300):  # in step: the Date's second contains our time
        clock.observe_date(date(now[0]), now[0] - rtt, now[0])
        assert clock.offset_ms == 0
    clock.observe_date(date(now[0] + 45_000), now[0] - 40, now[0])  # the venue is 45 s ahead
    assert clock.offset_ms == 0, "one reading moved the clock 45 s"
    clock.observe_date(date(now[0] + 49_000), now[0] - 40, now[0])  # a stray one disagrees
    assert clock.offset_ms == 0
    now[0] += 300
    clock.observe_date(date(now[0] + 49_000), now[0] - 40, now[0])  # confirmed
    assert abs(clock.offset_ms - 49_000) <= 520 + 40
    now[0] += 10_000
    clock.observe_date(date(now[0] + 45_000), now[0] - 40, now[0])
    clock.observe_date(date(now[0] + 45_000), now[0] - 40, now[0])
    assert abs(clock.offset_ms - 45_000) <= 520 + 40
    assert abs(clock.now_ms() - (now[0] + 45_000)) <= 560
    adopted = clock.offset_ms
    now[0] += 10_000
    clock.observe_date(date(now[0] + 45_000), now[0] - 40, now[0])
    assert clock.offset_ms == adopted  # consistent: no jitter
    for _ in range(2):  # fixed: back in step
        clock.observe_date(date(now[0]), now[0] - 40, now[0])
    assert abs(clock.offset_ms) <= 560


@given(st.text(max_size=80) | st.from_regex(r"[A-Z][a-z]{2}, \d{1,2} [A-Z][a-z]{2} \d{4} "
                                             r"\d\d:\d\d:\d\d [A-Z]{2,4}", fullmatch=True))
def test_any_header_text_is_read_or_ignored_never_raised(header: str) -> None:
    clock = VenueClock("test", wall=lambda: 1_800_000_000_000)
    clock.observe_date(header, 1_799_999_999_000, 1_800_000_000_000)
    if clock.offset_ms:  # only a date that parses, with a zone, may move the clock
        assert parsedate_to_datetime(header).tzinfo is not None


def test_a_skewed_kalshi_refuses_once_then_takes_venue_time(start_sim: StartSim) -> None:
    sim = start_sim(kalshi_config())  # Kalshi auth window 5 s
    client = Client(sim)
    client.signer.clock.watch(client.http)
    try:
        assert client.call("GET", "/portfolio/balance").status_code == 200
        assert client.signer.clock.offset_ms == 0
        fault = httpx.post(f"{sim.url}/_sim/fault", json={"kind": "clock_skew", "ms": -20_000})
        assert fault.json()["skew_ms"] == -20_000
        for _ in range(2):  # the fault fired; the second refusal confirms the first
            assert client.call("GET", "/portfolio/balance").status_code == 401
        assert abs(client.signer.clock.offset_ms + 20_000) <= 1_500
        assert client.call("GET", "/portfolio/balance").status_code == 200
    finally:
        client.close()


def test_a_refused_kalshi_websocket_dates_the_clock(start_sim: StartSim) -> None:
    sim = start_sim(kalshi_config())
    client = Client(sim)
    httpx.post(f"{sim.url}/_sim/fault", json={"kind": "clock_skew", "ms": 30_000})
    url = f"ws://127.0.0.1:{sim.port}{WS_PATH}"

    async def attempt() -> None:
        async with connect(url, additional_headers=client.signer.headers("GET", WS_PATH)):
            pass

    try:
        with pytest.raises(InvalidStatus) as refused:
            asyncio.run(attempt())
        assert refused.value.response.status_code == 401
        client.signer.clock.observe_rejection(refused.value)
        assert client.signer.clock.offset_ms == 0  # one reading: not yet
        with pytest.raises(InvalidStatus) as again:
            asyncio.run(attempt())
        client.signer.clock.observe_rejection(again.value)
        assert abs(client.signer.clock.offset_ms - 30_000) <= 1_500
        asyncio.run(attempt())  # accepted now
    finally:
        client.close()
