"""SdkCalls' answer to a 401: one key re-derivation per burst, no more often than the interval."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from py_clob_client_v2.exceptions import PolyApiException

from services.executor.polymarket_sdk import REAUTH_MIN_INTERVAL_S, SdkCalls


def refused() -> None:
    raise PolyApiException(httpx.Response(401, json={"error": "Unauthorized/Invalid api key"}))


def test_a_burst_of_401s_derives_the_key_once_and_waits_the_interval() -> None:
    asyncio.run(_burst())


async def _burst() -> None:
    now = [100.0]
    derived: list[float] = []

    async def derive() -> None:
        derived.append(now[0])

    with ThreadPoolExecutor(4) as pool:
        sdk = SdkCalls(pool, reauthenticate=derive, clock=lambda: now[0])
        answers = await asyncio.gather(*(sdk.call("x", refused) for _ in range(4)),
                                       return_exceptions=True)
        assert all(isinstance(a, PolyApiException) for a in answers)  # the fault fired
        assert sdk.key_refused
        await asyncio.gather(*(sdk.call("x", int) for _ in range(4)))
        assert derived == [100.0]  # once, whichever call of the burst saw the flag first
        with pytest.raises(PolyApiException):  # the new key refused too: no re-derive yet
            await sdk.call("x", refused)
        await sdk.call("x", int)
        assert derived == [100.0] and sdk.key_refused
        now[0] += REAUTH_MIN_INTERVAL_S
        await sdk.call("x", int)
        assert derived == [100.0, 100.0 + REAUTH_MIN_INTERVAL_S]


def test_a_failed_derivation_is_logged_and_asked_again_later(caplog: pytest.LogCaptureFixture) -> None:
    asyncio.run(_failing(caplog))


async def _failing(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    tries: list[float] = []

    async def derive() -> None:
        tries.append(now[0])
        raise RuntimeError("L1 auth refused")

    with ThreadPoolExecutor(1) as pool:
        sdk = SdkCalls(pool, reauthenticate=derive, clock=lambda: now[0])
        with pytest.raises(PolyApiException):
            await sdk.call("x", refused)
        assert await sdk.call("x", lambda: 7) == 7  # the call itself still runs
        assert tries == [0.0] and sdk.key_refused
        assert "re-derivation failed" in caplog.text and "clock" in caplog.text
        now[0] = REAUTH_MIN_INTERVAL_S
        await sdk.call("x", int)
        assert tries == [0.0, REAUTH_MIN_INTERVAL_S]


def test_a_401_to_a_call_sent_under_the_old_key_asks_for_nothing() -> None:
    asyncio.run(_stale_401())


async def _stale_401() -> None:
    derived: list[int] = []

    async def derive() -> None:
        derived.append(1)

    with ThreadPoolExecutor(1) as pool:
        sdk = SdkCalls(pool, reauthenticate=derive, clock=lambda: 0.0)
        with pytest.raises(PolyApiException):
            await sdk.call("x", refused)
        assert await sdk.reauthenticate(force=True) and sdk.key_gen == 1
        sdk.note_refused(PolyApiException(httpx.Response(401, json={})), gen=0)  # in flight
        assert not sdk.key_refused and derived == [1]
        sdk.note_refused(PolyApiException(httpx.Response(401, json={})), gen=1)
        assert sdk.key_refused
