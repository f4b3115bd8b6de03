"""Fixtures of the Polymarket conformance suite: a quiet simulated venue and official clients.

Every client here is py-clob-client-v2 exactly as installed (no subclass, no patch), one per
wallet kind the exchange contract knows: an EOA (signature type 0), a Polymarket proxy wallet
(type 1) and a Polymarket Gnosis Safe (type 2), each with its funder set as a real user would.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass

from eth_account import Account
from eth_utils import keccak
from py_clob_client_v2.client import ClobClient
from py_clob_client_v2.clob_types import PartialCreateOrderOptions

from common.config import Config, parse
from services.venue_sim.wallets import proxy_wallet, safe_wallet
from tests.support.sim import SimThread
from tests.support.wait import eventually

CID = "0x" + "c0" * 32
YES = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
NO = "52114319501245915516055106046884209969926127482827954674443846427813813222426"
CID2 = "0x" + "c1" * 32
YES2 = "65818619657568813474341868652308942079804919287380422192892211131408793125422"
NO2 = "86366076304153652201713126200538373994702803233695533981746898961753912700602"
OPTS = PartialCreateOrderOptions(tick_size="0.01", neg_risk=False)
HOST_CHAIN_ID = 137


def conformance_config() -> Config:
    """Two markets with background makers 0.46/0.54 around 0.5 and no random flow."""
    markets = "".join(f"""
[[markets]]
id = "{name}"
venue = "polymarket"
venue_market = "{cid}"
yes_token = "{yes}"
no_token = "{no}"
tick = 0.01
min_size = 5
sim_start_probability = 0.5
""" for name, cid, yes, no in (("m1", CID, YES, NO), ("m2", CID2, YES2, NO2)))
    return parse(f"""
[sim]
seed = 14
heartbeat_timeout_ms = 3000
trade_confirm_ms = 200
start_balance_usd = 1000
[sim.flow]
volatility = 0.0
jump_probability = 0.0
noise_rate_hz = 0.0
informed_rate_hz = 0.0
maker_levels = 3
maker_half_spread = 0.04
step_ms = 50
compete_hz = 0.0
{markets}""")


def private_key(label: str) -> str:
    """A fresh private key per run; its label and time go in the test output."""
    seed = f"pmm-conformance-{label}-{time.time_ns()}"
    print(f"key seed {seed}")
    return "0x" + keccak(text=seed).hex()


def l2_client(url: str, key: str, *, signature_type: int = 0, funder: str | None = None
              ) -> ClobClient:
    client = ClobClient(url, chain_id=HOST_CHAIN_ID, key=key, signature_type=signature_type,
                        funder=funder)
    client.set_api_creds(client.create_or_derive_api_key())
    return client


@dataclass
class Venue:
    """The simulator and the official clients that trade on it."""

    sim: SimThread
    public: ClobClient
    maker: ClobClient
    taker: ClobClient
    proxy: ClobClient
    safe: ClobClient
    safe_signer: str


@contextlib.contextmanager
def opened_venue() -> Iterator[Venue]:
    """Start a simulator and open the clients; stop it on exit (a fixture wraps this)."""
    sim = SimThread(conformance_config()).start()
    try:
        eventually(lambda: all(m["best_bid"] == "0.46" and m["best_ask"] == "0.54"
                               for m in sim.state()["markets"].values()),
                   what="background makers quote 0.46 / 0.54 on every market")
        proxy_key, safe_key = private_key("proxy"), private_key("safe")
        proxy_signer = Account.from_key(proxy_key).address
        safe_signer = Account.from_key(safe_key).address
        yield Venue(
            sim=sim,
            public=ClobClient(sim.url, chain_id=HOST_CHAIN_ID),
            maker=l2_client(sim.url, private_key("maker")),
            taker=l2_client(sim.url, private_key("taker")),
            proxy=l2_client(sim.url, proxy_key, signature_type=1,
                            funder=proxy_wallet(proxy_signer)),
            safe=l2_client(sim.url, safe_key, signature_type=2, funder=safe_wallet(safe_signer)),
            safe_signer=safe_signer,
        )
    finally:
        sim.stop()
