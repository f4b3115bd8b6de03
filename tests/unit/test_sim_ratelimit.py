"""The simulator enforces the venues' published rate limits (issue 14): the arithmetic, then
bursts over real HTTP that get the venue's own 429s."""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from eth_utils import keccak
from py_clob_client_v2.client import ClobClient

from common.config import Config, parse
from common.errors import ConfigError
from common.kalshi_auth import KalshiSigner, new_private_pem
from services.venue_sim.ratelimit import (
    SlidingWindow,
    TokenBucket,
    kalshi_cost,
    kalshi_route,
    polymarket_after_cost,
    polymarket_cost,
)
from tests.support.sim import SimThread

CID = "0x" + "cd" * 32
YES = "3" * 70
NO = "4" * 70
TICKER = "KXLIM-26DEC-T1"
BASE = "/trade-api/v2"


# --- arithmetic ----------------------------------------------------------------------------


def test_a_bucket_starts_full_refills_at_its_rate_and_never_holds_more() -> None:
    b = TokenBucket(40, 60)
    assert b.wait_s(60, 0.0) == 0
    b.spend(60, 0.0)
    assert b.wait_s(1, 0.0) == pytest.approx(1 / 40)
    assert b.wait_s(20, 0.25) == pytest.approx(0.25)  # 10 refilled, 10 short
    assert b.refill(100.0) == 60
    assert math.isinf(b.wait_s(61, 100.0)), "a cost above the burst can never succeed"


def test_a_negative_balance_is_kept_only_down_to_its_floor() -> None:
    b = TokenBucket(80, 120)
    b.spend(200, 0.0, floor=-math.inf)
    assert b.tokens == -80 and b.wait_s(1, 0.0) == pytest.approx(81 / 80)
    c = TokenBucket(80, 120)
    c.spend(200, 0.0)
    assert c.tokens == 0


def test_a_sliding_window_admits_its_limit_then_waits_for_the_oldest() -> None:
    w = SlidingWindow(3, 10.0)
    for t in (0.0, 1.0, 2.0):
        assert w.wait_s(t) == 0
        w.admit(t)
    assert w.wait_s(5.0) == pytest.approx(5.0)
    assert w.wait_s(10.0) == 0


@pytest.mark.parametrize(("method", "path", "items", "cost"), [
    ("POST", "/portfolio/events/orders", 1, 10),
    ("POST", "/portfolio/events/orders/batched", 7, 70),
    ("DELETE", "/portfolio/events/orders/batched", 7, 14),
    ("DELETE", "/portfolio/events/orders/abc-123", 1, 2),
    ("DELETE", "/portfolio/orders/abc-123", 1, 2),
    ("POST", "/portfolio/events/orders/abc-123/amend", 1, 10),
    ("GET", "/portfolio/orders", 1, 10),
    ("DELETE", "/portfolio/events/orders", 1, 10),
])
def test_kalshi_costs(method: str, path: str, items: int, cost: int) -> None:
    assert kalshi_cost(method, kalshi_route(method, path), items) == cost


def test_polymarket_costs() -> None:
    assert polymarket_cost("POST", "/orders", [{}] * 15) == 15
    assert polymarket_cost("DELETE", "/orders", ["a", "b"]) == 2
    assert polymarket_cost("POST", "/order", {"order": {}}) == 1
    assert polymarket_after_cost("/cancel-all", {"canceled": ["a", "b", "c"]}) == 3
    assert polymarket_after_cost("/order", {"canceled": ["a"]}) == 0


@pytest.mark.parametrize(("toml", "message"), [
    ('[sim.rate_limits]\npolymarket_tier = "platinum2"', "$.sim.rate_limits.polymarket_tier"),
    ('[sim.rate_limits]\nkalshi_tier = "Basic"', "$.sim.rate_limits.kalshi_tier"),
    ("[sim.rate_limits]\nenable = true", "$.sim.rate_limits"),
])
def test_the_config_is_strict_and_names_the_field(toml: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse(toml)
    assert message in str(err.value)


def test_limits_are_on_by_default() -> None:
    limits = parse("").sim.rate_limits
    assert limits.enabled and limits.polymarket_tier == "standard"
    assert limits.kalshi_tier == "basic"


# --- over HTTP -----------------------------------------------------------------------------


def sim_config() -> Config:
    return parse(f"""
[sim]
seed = 3
[sim.flow]
noise_rate_hz = 0.0
informed_rate_hz = 0.0
maker_levels = 2
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
""")


@pytest.fixture(scope="module")
def sim() -> Iterator[SimThread]:
    s = SimThread(sim_config()).start()
    yield s
    s.stop()


def refused(sim: SimThread) -> dict[str, int]:
    return httpx.get(f"{sim.url}/_sim/rate_limits").json()["refused"]


def poly_client(sim: SimThread) -> ClobClient:
    key = "0x" + keccak(text=f"pmm-limits-{time.time_ns()}").hex()
    client = ClobClient(sim.url, chain_id=137, key=key)
    client.set_api_creds(client.create_or_derive_api_key())
    return client


def delete_orders(client: ClobClient, ids: list[str]) -> httpx.Response:
    body = json.dumps(ids, separators=(",", ":"))
    headers = client._l2_headers("DELETE", "/orders", body=ids, serialized_body=body)
    return httpx.request("DELETE", f"{client.host}/orders", headers=headers, content=body)


def test_polymarket_cancel_burst_past_the_bucket_gets_429_with_the_headers(
        sim: SimThread) -> None:
    client = poly_client(sim)
    before = refused(sim).get("polymarket_signer", 0)
    ok = delete_orders(client, [f"0x{i:064x}" for i in range(120)])  # the whole Standard burst
    assert ok.status_code == 200, ok.text
    assert ok.headers["Poly-RateLimit-Tier"] == "standard"
    assert int(ok.headers["Poly-RateLimit-Remaining"]) <= 1
    t0 = time.time()
    over = delete_orders(client, [f"0x{i:064x}" for i in range(60)])
    assert over.status_code == 429
    assert over.json() == {"error": "Too Many Requests"}
    assert int(over.headers["Retry-After"]) >= 1
    reset = int(over.headers["Poly-RateLimit-Reset"])
    assert t0 + 0.5 <= reset <= t0 + 3  # 60 tokens at 80/s: about 0.75 s away
    assert refused(sim)["polymarket_signer"] == before + 1
    other = poly_client(sim)  # buckets are per signer
    assert delete_orders(other, ["0x" + "00" * 32]).status_code == 200


def test_polymarket_batch_larger_than_the_burst_never_passes(sim: SimThread) -> None:
    client = poly_client(sim)
    r = delete_orders(client, [f"0x{i:064x}" for i in range(121)])
    assert r.status_code == 429 and "Retry-After" in r.headers


def test_a_request_that_fails_authentication_is_not_billed(sim: SimThread) -> None:
    client = poly_client(sim)
    ids = [f"0x{i:064x}" for i in range(100)]
    body = json.dumps(ids, separators=(",", ":"))
    headers = client._l2_headers("DELETE", "/orders", body=ids, serialized_body=body)
    for _ in range(3):
        bad = httpx.request("DELETE", f"{client.host}/orders", content=body,
                            headers=dict(headers, POLY_SIGNATURE="AAAA"))
        assert bad.status_code == 401
    assert delete_orders(client, ids).status_code == 200


class Kalshi:
    def __init__(self, sim: SimThread) -> None:
        self.signer = KalshiSigner.from_pem(str(uuid.uuid4()), new_private_pem())
        r = httpx.post(f"{sim.url}/_sim/kalshi/keys", json={
            "key_id": self.signer.key_id, "public_key_pem": self.signer.public_pem().decode()})
        assert r.status_code == 200, r.text
        self.http = httpx.Client(base_url=sim.url)

    def call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return self.http.request(method, BASE + path, json=body,
                                 headers=self.signer.headers(method, BASE + path))


@pytest.fixture()
def kalshi(sim: SimThread) -> Iterator[Kalshi]:
    k = Kalshi(sim)
    yield k
    k.http.close()


def kalshi_order(price: str) -> dict[str, Any]:
    return {"ticker": TICKER, "side": "bid", "price": price, "count": "1",
            "time_in_force": "good_till_canceled", "post_only": True,
            "self_trade_prevention_type": "maker", "client_order_id": str(uuid.uuid4())}


def test_kalshi_write_burst_past_the_basic_budget_gets_the_documented_429(
        sim: SimThread, kalshi: Kalshi) -> None:
    limits = kalshi.call("GET", "/account/limits").json()
    assert limits == {"usage_tier": "basic", "grants": [],
                      "read": {"refill_rate": 200, "bucket_capacity": 200},
                      "write": {"refill_rate": 100, "bucket_capacity": 100}}
    costs = kalshi.call("GET", "/account/endpoint_costs").json()
    assert costs["default_cost"] == 10
    assert {"method": "DELETE", "path": BASE + "/portfolio/events/orders/batched",
            "cost": 2} in costs["endpoint_costs"]
    too_big = kalshi.call("POST", "/portfolio/events/orders/batched",
                          {"orders": [kalshi_order("0.05")] * 11})  # 110 > 100 tokens
    assert too_big.status_code == 429
    statuses = [kalshi.call("POST", "/portfolio/events/orders", kalshi_order("0.05")).status_code
                for _ in range(15)]
    assert statuses.count(201) >= 10 and statuses[-1] == 429  # 100 tokens, +~1/ms refill
    over = kalshi.call("POST", "/portfolio/events/orders", kalshi_order("0.05"))
    assert over.status_code == 429
    assert over.json() == {"error": "too many requests"}
    assert "Retry-After" not in over.headers
    assert not any(h.lower().startswith("x-ratelimit") for h in over.headers)
    assert kalshi.call("GET", "/portfolio/balance").status_code == 200  # reads: own bucket
    time.sleep(0.15)  # 15 tokens: one cancel-by-id (2) and one order (10) fit
    resting = kalshi.call("GET", "/portfolio/orders?status=resting")
    assert resting.status_code == 200
    placed = [o["order_id"] for o in resting.json()["orders"]]
    assert len(placed) == statuses.count(201), "every 201 rests, no 429 placed anything"
    assert kalshi.call("DELETE", f"/portfolio/events/orders/{placed[0]}").status_code == 200
    assert refused(sim)["kalshi"] >= 3


def test_kalshi_public_data_is_not_billed(sim: SimThread, kalshi: Kalshi) -> None:
    for _ in range(30):  # 30 x 10 tokens > the 200-token read bucket, but unsigned
        assert httpx.get(f"{sim.url}{BASE}/markets/{TICKER}").status_code == 200
    assert kalshi.call("GET", "/portfolio/balance").status_code == 200
