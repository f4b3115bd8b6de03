"""The real Kalshi adapter (httpx + RSA-PSS) against the venue simulator on loopback."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from common.config import parse
from common.kalshi_auth import KalshiSigner, new_private_pem
from common.messages import Fill
from services.executor.__main__ import market_tokens
from services.executor.adapter import InFlight, OrderUpdate, Placed, Rejected
from services.executor.kalshi import KalshiExecution
from services.executor.orders import DesiredOrder
from tests.support.kalshi_sim import TICKER, kalshi_config
from tests.support.sim import SimThread


@pytest.fixture(scope="module")
def sim() -> Iterator[SimThread]:
    s = SimThread(kalshi_config()).start()
    yield s
    s.stop()


class Sink:
    def __init__(self) -> None:
        self.fills: dict[tuple[str, str], Fill] = {}

    async def on_fill(self, fill: Fill) -> None:
        self.fills[(fill.trade_id, fill.order_id)] = fill

    async def on_order(self, update: OrderUpdate) -> None:
        return None

    def is_ours(self, order_id: str) -> bool:
        return True


def adapter_for(sim: SimThread) -> tuple[KalshiExecution, KalshiSigner]:
    cfg = parse(f"""
[venues.kalshi]
rest_url = "{sim.url}/trade-api/v2"
ws_url = "ws://127.0.0.1:{sim.port}/trade-api/ws/v2"
[[markets]]
id = "fed"
venue = "kalshi"
venue_market = "{TICKER}"
min_size = 1
""")
    signer = KalshiSigner.from_pem(str(uuid.uuid4()), new_private_pem())
    httpx.post(f"{sim.url}/_sim/kalshi/keys", json={
        "key_id": signer.key_id, "public_key_pem": signer.public_pem().decode()}).raise_for_status()
    return KalshiExecution(cfg, market_tokens(cfg, "kalshi"), signer=signer), signer


def want(token: str, outcome: str, price: int, size: int = 500) -> DesiredOrder:
    return DesiredOrder(market="fed", token=token, outcome=outcome, price=price,  # type: ignore[arg-type]
                        size=size)


def test_place_list_cancel_and_reject(sim: SimThread) -> None:
    async def main() -> None:
        ad, _ = adapter_for(sim)
        try:
            await ad.start()
            yes, no = f"{TICKER}:yes", f"{TICKER}:no"
            report = await ad.place([want(yes, "YES", 3000), want(no, "NO", 3000),
                                     want(yes, "YES", 9900)])
            assert [type(r) for r in report.results] == [Placed, Placed, Rejected]
            assert "post_only_cross" in report.results[2].reason  # type: ignore[union-attr]
            live = {o.order_id: o for o in await ad.open_orders()}
            assert set(live) == {r.order_id for r in report.results[:2]}  # type: ignore[union-attr]
            no_order = live[report.results[1].order_id]  # type: ignore[union-attr]
            assert (no_order.token, no_order.price, no_order.size) == (no, 3000, 500)
            out = await ad.cancel([report.results[0].order_id, str(uuid.uuid4())])  # type: ignore[union-attr]
            assert len(out.gone) == 2 and not out.failed
            out = await ad.cancel_all()
            assert out.everything and await ad.open_orders() == []
            assert max(ad.http.sign_ns) < 50_000_000
            print(f"kalshi request signing: median {sorted(ad.http.sign_ns)[len(ad.http.sign_ns) // 2] / 1e3:.0f} us")
        finally:
            await ad.close()

    asyncio.run(main())


def test_faults_429_backs_off_and_5xx_is_ambiguous(sim: SimThread) -> None:
    async def main() -> None:
        ad, _ = adapter_for(sim)
        try:
            await ad.start()
            yes = f"{TICKER}:yes"
            httpx.post(f"{sim.url}/_sim/fault", json={"kind": "http_429", "count": 1})
            out = await ad.cancel_all()  # retried after the back-off
            assert out.everything and ad.http.write.rate_limited == 1
            httpx.post(f"{sim.url}/_sim/fault", json={"kind": "http_500_after"})
            report = await ad.place([want(yes, "YES", 2000)])
            assert isinstance(report.results[0], InFlight)  # it did rest: reconcile finds it
            assert [o.price for o in await ad.open_orders()] == [2000]
            await ad.cancel_all()
        finally:
            await ad.close()

    asyncio.run(main())


def test_fill_channel_and_recovery_apply_each_fill_once(sim: SimThread) -> None:
    async def main() -> None:
        ad, _ = adapter_for(sim)
        taker, tsign = adapter_for(sim)
        sink = Sink()
        try:
            await ad.start()
            yes = f"{TICKER}:yes"
            [res] = (await ad.place([want(yes, "YES", 4800, 400)])).results
            assert isinstance(res, Placed)
            stream = asyncio.create_task(ad.run_user_stream(sink))
            await asyncio.sleep(0.5)
            resp = await taker.http.request("POST", "/portfolio/events/orders", write=True, cost=10, body={
                "ticker": TICKER, "side": "ask", "price": "0.4800", "count": "4",
                "time_in_force": "immediate_or_cancel", "self_trade_prevention_type": "maker"})
            assert resp.status_code == 201, resp.text
            deadline = time.monotonic() + 5
            while not sink.fills and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            [fill] = sink.fills.values()
            assert (fill.order_id, fill.outcome, fill.side, fill.price, fill.size) == (
                res.order_id, "YES", "BUY", 4800, 400)
            httpx.post(f"{sim.url}/_sim/fault", json={"kind": "drop_ws"})
            await asyncio.sleep(2.0)  # reconnect + REST recovery: same fill, still one entry
            assert len(sink.fills) == 1
            stream.cancel()
            with pytest.raises(asyncio.CancelledError):
                await stream
        finally:
            await ad.close()
            await taker.close()

    asyncio.run(main())
