"""One Kalshi market on the simulator, and a minimal client that signs like the real API wants
(RSA-PSS, common/kalshi_auth.py)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from common.config import Config, parse
from common.kalshi_auth import KalshiSigner, new_private_pem
from tests.support.sim import SimThread

TICKER = "KXFED-26DEC-T4.00"
BASE = "/trade-api/v2"


def kalshi_config() -> Config:
    """The simulator with market fed (TICKER) and a quiet order flow."""
    return parse(f"""
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
[[markets]]
id = "fed"
venue = "kalshi"
venue_market = "{TICKER}"
tick = 0.01
min_size = 1
sim_start_probability = 0.5
""")


class Client:
    """A minimal signed Kalshi client for tests: registers a fresh key with the simulator."""

    def __init__(self, sim: SimThread) -> None:
        self.signer = KalshiSigner.from_pem(str(uuid.uuid4()), new_private_pem())
        self.sim = sim
        r = httpx.post(f"{sim.url}/_sim/kalshi/keys", json={
            "key_id": self.signer.key_id, "public_key_pem": self.signer.public_pem().decode()})
        assert r.status_code == 200, r.text
        self.http = httpx.Client(base_url=sim.url)

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> httpx.Response:
        headers = self.signer.headers(method, BASE + path)
        return self.http.request(method, BASE + path, json=body, params=params or None,
                                 headers=headers)

    def close(self) -> None:
        self.http.close()


def order(side: str, price: str, count: str = "5", **extra: Any) -> dict[str, Any]:
    """A post-only good-till-cancelled order body on TICKER."""
    return {"ticker": TICKER, "side": side, "price": price, "count": count,
            "time_in_force": "good_till_canceled", "post_only": True,
            "self_trade_prevention_type": "maker", "client_order_id": str(uuid.uuid4()), **extra}
