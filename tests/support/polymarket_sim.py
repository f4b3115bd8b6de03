"""One Polymarket market on the simulator, driven by the official py_clob_client_v2 SDK.

The simulator tests of the Polymarket API share this market (its condition id and tokens), its
configuration and a fresh signed client per account.
"""

from __future__ import annotations

import time

from eth_utils import keccak
from py_clob_client_v2.client import ClobClient
from py_clob_client_v2.clob_types import PartialCreateOrderOptions

from common.config import Config, parse
from tests.support.sim import SimThread

CID = "0x" + "ab" * 32
YES = "1111111111111111111111111111111111111111111111111111111111111111111111111"
NO = "2222222222222222222222222222222222222222222222222222222222222222222222222"
OPTS = PartialCreateOrderOptions(tick_size="0.01", neg_risk=False)


def sim_config(**flow: object) -> Config:
    """The simulator with market m1 (CID) and a quiet order flow; `flow` overrides [sim.flow]."""
    flow_defaults = {
        "volatility": 0.0, "jump_probability": 0.0, "noise_rate_hz": 0.0,
        "informed_rate_hz": 0.0, "maker_levels": 3, "maker_half_spread": 0.04,
        "step_ms": 50, "compete_hz": 0.0,
    } | flow
    flow_toml = "\n".join(f"{k} = {v}" for k, v in flow_defaults.items())
    return parse(f"""
[sim]
seed = 11
heartbeat_timeout_ms = 1500
trade_confirm_ms = 300
start_balance_usd = 1000
[sim.flow]
{flow_toml}
[[markets]]
id = "m1"
venue = "polymarket"
venue_market = "{CID}"
yes_token = "{YES}"
no_token = "{NO}"
tick = 0.01
min_size = 5
sim_start_probability = 0.5
""")


_key_counter = iter(range(1, 10_000))


def new_client(sim: SimThread) -> ClobClient:
    """A client for a new account (a fresh key), with its API credentials derived."""
    seed = next(_key_counter)
    print(f"account key seed {seed}")
    key = "0x" + keccak(text=f"pmm-test-{seed}-{time.time_ns()}").hex()
    client = ClobClient(sim.url, chain_id=137, key=key)
    client.set_api_creds(client.create_or_derive_api_key())
    return client
