"""Kalshi order groups end to end: the real adapter against the simulator over HTTP and
its websocket. A burst of fills trips the group on the venue; the adapter sees the trip
through the official fields (`is_auto_cancel_enabled`, the `order_group_updates` channel),
resets it a window later through `PUT .../reset`, and quoting resumes."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from common.config import parse
from common.errors import VenueError
from common.kalshi_auth import KalshiSigner, new_private_pem
from services.executor.__main__ import market_tokens
from services.executor.adapter import Placed, Rejected
from services.executor.kalshi import KalshiExecution
from services.executor.kalshi_groups import (
    WINDOW_MS, OrderGroup, limit_contracts, reset_due, tripped,
)
from services.executor.orders import DesiredOrder
from tests.support.sim import SimThread
from tests.support.kalshi_sim import TICKER, kalshi_config

YES = f"{TICKER}:yes"


@pytest.fixture
def sim() -> Iterator[SimThread]:
    s = SimThread(kalshi_config()).start()
    yield s
    s.stop()


def adapter_for(sim: SimThread, extra: str = "") -> KalshiExecution:
    cfg = parse(f"""
[quoting]
size = 1
max_inventory = 5
[venues.kalshi]
rest_url = "{sim.url}/trade-api/v2"
ws_url = "ws://127.0.0.1:{sim.port}/trade-api/ws/v2"
{extra}
[[markets]]
id = "fed"
venue = "kalshi"
venue_market = "{TICKER}"
min_size = 1
""")
    signer = KalshiSigner.from_pem(str(uuid.uuid4()), new_private_pem())
    httpx.post(f"{sim.url}/_sim/kalshi/keys", json={
        "key_id": signer.key_id, "public_key_pem": signer.public_pem().decode()}).raise_for_status()
    return KalshiExecution(cfg, market_tokens(cfg, "kalshi"), signer=signer)


def bid(price: int, size: int) -> DesiredOrder:
    return DesiredOrder(market="fed", token=YES, outcome="YES", price=price, size=size)


class Sink:
    async def on_fill(self, fill: object) -> None:
        return None

    async def on_order(self, update: object) -> None:
        return None

    def is_ours(self, order_id: str) -> bool:
        return True


@pytest.mark.parametrize(("setting", "inventories", "contracts"), [
    (None, [500.0], 500), (None, [120.5], 121), (None, [], 0), (0.0, [500.0], 0),
    (30.0, [500.0], 30), (0.2, [500.0], 1), (None, [5e7], 1_000_000),
])
def test_the_limit_is_sized_from_max_inventory(setting: float | None, inventories: list[float],
                                               contracts: int) -> None:
    assert limit_contracts(setting, inventories) == contracts


def test_trip_and_reset_decisions() -> None:
    assert tripped({"is_auto_cancel_enabled": True, "orders": []})
    assert not tripped({"is_auto_cancel_enabled": False, "orders": []})
    assert not tripped({"status": "triggered"})  # our old simulator's field is not Kalshi's
    assert not reset_due(None, 10**9)
    assert not reset_due(1_000, 1_000 + WINDOW_MS - 1) and reset_due(1_000, 1_000 + WINDOW_MS)


def test_a_tripped_group_is_detected_reset_and_quoting_resumes(sim: SimThread) -> None:
    async def main() -> None:
        ad, taker = adapter_for(sim), adapter_for(sim, "order_group_contracts = 0")
        try:
            await ad.start()
            await taker.start()
            group = ad.groups.of("fed")
            assert group is not None and group.contracts == 5 and group.id
            assert taker.groups.of("fed") is None and taker.groups.id_for("fed") == ""
            listed = (await ad.http.request("GET", "/portfolio/order_groups")).json()["order_groups"]
            assert listed == [{"id": group.id, "contracts_limit_fp": "5.00",
                               "is_auto_cancel_enabled": False, "exchange_index": 0}]
            stream = asyncio.create_task(ad.run_user_stream(Sink()))
            await asyncio.sleep(0.3)  # subscribed
            report = await ad.place([bid(4900, 1000), bid(4800, 1000)])
            assert all(isinstance(r, Placed) for r in report.results)
            assert await ad.groups.keep(time.time_ns() // 1_000_000) == 0  # not tripped

            hit = await taker.http.request("POST", "/portfolio/events/orders", write=True, body={
                "ticker": TICKER, "side": "ask", "price": "0.4900", "count": "6",
                "time_in_force": "immediate_or_cancel", "self_trade_prevention_type": "maker"})
            assert hit.status_code == 201 and hit.json()["fill_count"] == "6.00"  # 6 > 5 in 15 s
            # the venue tripped it: every order of the group is gone, new ones are refused
            assert await ad.open_orders() == []
            [refused] = (await ad.place([bid(4500, 100)])).results
            assert isinstance(refused, Rejected) and "order_group" in refused.reason
            # the websocket told the adapter at once, with the engine's time
            deadline = time.monotonic() + 5
            while group.tripped_at_ms is None and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            tripped_at = group.tripped_at_ms
            assert tripped_at is not None
            # within the window: seen as tripped through REST, not reset yet
            assert await group.keep(tripped_at + WINDOW_MS - 1_000) is False
            view = (await ad.http.request("GET", f"/portfolio/order_groups/{group.id}")).json()
            assert view["is_auto_cancel_enabled"] is True and set(view) == {
                "is_auto_cancel_enabled", "contracts_limit_fp", "orders", "exchange_index"}
            # a window later: reset through the official endpoint, and quoting resumes
            assert await ad.groups.keep(tripped_at + WINDOW_MS) == 1  # one list read
            assert group.resets == 1 and group.tripped_at_ms is None
            [again] = (await ad.place([bid(4500, 100)])).results
            assert isinstance(again, Placed)
            assert [o.order_id for o in await ad.open_orders()] == [again.order_id]
            stream.cancel()
            with pytest.raises(asyncio.CancelledError):
                await stream
            await ad.cancel_all()
        finally:
            await ad.close()
            await taker.close()

    asyncio.run(main())


def test_the_rest_poll_alone_detects_a_trip_and_a_deleted_group_is_recreated(
        sim: SimThread) -> None:
    async def main() -> None:
        ad = adapter_for(sim)
        try:
            await ad.start()
            group = ad.groups.of("fed")
            assert group is not None
            first = group.id
            put = await ad.http.request("PUT", f"/portfolio/order_groups/{first}/trigger", write=True)
            assert put.status_code == 200
            now = time.time_ns() // 1_000_000
            assert await ad.groups.keep(now) == 0 and group.tripped_at_ms == now
            assert await ad.groups.keep(now + WINDOW_MS) == 1
            gone = await ad.http.request("DELETE", f"/portfolio/order_groups/{first}", write=True)
            assert gone.status_code == 200
            assert await ad.groups.keep(now + 2 * WINDOW_MS) == 0  # not in the list: created
            assert group.id and group.id != first
            [placed] = (await ad.place([bid(4500, 100)])).results
            assert isinstance(placed, Placed)
            await ad.cancel_all()
        finally:
            await ad.close()

    asyncio.run(main())


@pytest.mark.parametrize("body", [b"<html>bad gateway</html>", b"[1, 2]", b"null"])
def test_a_reply_that_is_not_an_object_is_an_ambiguous_venue_error(body: bytes) -> None:
    """Not a crash of the executor's heartbeat loop (issue 15: nothing a venue sends can
    crash us); the loop logs a VenueError and tries again."""
    async def request(method: str, path: str, **_: object) -> httpx.Response:
        return httpx.Response(200, content=body)

    group = OrderGroup(request, contracts=10, write_cost=10)
    with pytest.raises(VenueError) as info:
        asyncio.run(group.create())
    assert not info.value.definitive and "not a JSON object" in str(info.value)
    group.id = "g1"
    with pytest.raises(VenueError):
        asyncio.run(group.keep(now_ms=1))


OTHER = "KXRAIN-26DEC-T1"


def two_markets(extra_markets: str) -> str:
    return f"""
[[markets]]
id = "fed"
venue = "kalshi"
venue_market = "{TICKER}"
tick = 0.01
min_size = 1
sim_start_probability = 0.5
[[markets]]
id = "rain"
venue = "kalshi"
venue_market = "{OTHER}"
tick = 0.01
min_size = 1
sim_start_probability = 0.5
{extra_markets}"""


def test_one_market_run_over_pauses_that_market_only() -> None:
    """A group per market: six contracts through fed's limit of five trip fed's group; the
    order resting on rain stays, and rain takes new orders."""
    sim = SimThread(parse(f"""
[sim]
seed = 5
kalshi_auth_window_ms = 5000
[sim.flow]
volatility = 0.0
jump_probability = 0.0
noise_rate_hz = 0.0
informed_rate_hz = 0.0
maker_levels = 3
maker_half_spread = 0.04
step_ms = 50
compete_hz = 0.0
{two_markets("")}""")).start()

    def adapter(extra: str = "") -> KalshiExecution:
        cfg = parse(f"""
[quoting]
size = 1
max_inventory = 5
[venues.kalshi]
rest_url = "{sim.url}/trade-api/v2"
ws_url = "ws://127.0.0.1:{sim.port}/trade-api/ws/v2"
{extra}
{two_markets("")}""")
        signer = KalshiSigner.from_pem(str(uuid.uuid4()), new_private_pem())
        httpx.post(f"{sim.url}/_sim/kalshi/keys", json={
            "key_id": signer.key_id, "public_key_pem": signer.public_pem().decode(),
        }).raise_for_status()
        return KalshiExecution(cfg, market_tokens(cfg, "kalshi"), signer=signer)

    async def main() -> None:
        ad, taker = adapter(), adapter("order_group_contracts = 0")
        try:
            await ad.start()
            await taker.start()
            fed, rain = ad.groups.of("fed"), ad.groups.of("rain")
            assert fed is not None and rain is not None and fed.id and rain.id != fed.id
            rain_bid = DesiredOrder(market="rain", token=f"{OTHER}:yes", outcome="YES",
                                    price=4800, size=100)
            report = await ad.place([bid(4900, 1000), rain_bid])
            assert all(isinstance(r, Placed) for r in report.results)
            hit = await taker.http.request("POST", "/portfolio/events/orders", write=True, body={
                "ticker": TICKER, "side": "ask", "price": "0.4900", "count": "6",
                "time_in_force": "immediate_or_cancel", "self_trade_prevention_type": "maker"})
            assert hit.status_code == 201 and hit.json()["fill_count"] == "6.00"
            resting = await ad.open_orders()
            assert [o.venue_market for o in resting] == [OTHER]  # fed's pulled, rain's stays
            [refused, placed] = (await ad.place([bid(4500, 100), rain_bid])).results
            assert isinstance(refused, Rejected) and isinstance(placed, Placed)
            assert await ad.groups.keep(time.time_ns() // 1_000_000) == 0
            assert fed.tripped_at_ms is not None and rain.tripped_at_ms is None
            await ad.cancel_all()
        finally:
            await ad.close()
            await taker.close()

    try:
        asyncio.run(main())
    finally:
        sim.stop()
