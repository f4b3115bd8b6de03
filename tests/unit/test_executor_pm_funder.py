"""The Polymarket adapter trading for a Gnosis Safe funder against the simulator.

The venue books orders and fills to the maker (the Safe), so the funder address is what
appears on the wire; the adapter must see its orders and recognise its fills by it.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import msgspec
from eth_account import Account
from eth_utils import keccak
from py_clob_client_v2.client import ClobClient
from py_clob_client_v2.clob_types import OrderArgs, OrderType, PartialCreateOrderOptions

from common.config import Config, parse
from common.messages import Level
from common.venues.polymarket import TradeMsg
from services.executor.__main__ import market_tokens
from services.executor.adapter import Placed
from services.executor.diff import express_ladder
from services.executor.polymarket import PolymarketExecution
from services.executor.polymarket_fills import Identity, fills_from_trade
from services.venue_sim.wallets import safe_wallet
from tests.support.fixtures import StartSim
from tests.support.sim import SimThread

CID = "0x" + "5a" * 32
YES = "1" * 70
NO = "2" * 70
MARKET = f"""
[[markets]]
id = "m"
venue = "polymarket"
venue_market = "{CID}"
yes_token = "{YES}"
no_token = "{NO}"
tick = 0.01
min_size = 5
sim_start_probability = 0.5
"""


def config(extra: str) -> Config:
    return parse(extra + """
[sim.flow]
noise_rate_hz = 0
informed_rate_hz = 0
volatility = 0.0
jump_probability = 0.0
""" + MARKET)


def test_safe_funder_orders_and_fills_are_matched_by_address(start_sim: StartSim) -> None:
    key = "0x" + keccak(text="pmm-safe-adapter").hex()
    safe = safe_wallet(Account.from_key(key).address)
    sim = start_sim(config("[sim]\nseed = 3\nstart_balance_usd = 1000\n"))
    cfg = config(f"""
[venues.polymarket]
rest_url = "{sim.url}"
ws_url = "{sim.url.replace('http', 'ws')}/ws"
signature_type = 2
funder = "{safe}"
""")
    asyncio.run(_trade(cfg, key, safe, sim))


async def _trade(cfg: Config, key: str, safe: str, sim: SimThread) -> None:
    (tokens,) = market_tokens(cfg, "polymarket")
    with ThreadPoolExecutor(2) as pool:
        venue = PolymarketExecution(cfg, [tokens], private_key=key, pool=pool)
        await venue.start()
        assert venue.address == safe
        desired, _ = express_ladder(tokens, [Level(4800, 1000)], [])
        report = await venue.place(desired)
        (placed,) = report.results
        assert isinstance(placed, Placed), placed
        assert [o.order_id for o in await venue.open_orders()] == [placed.order_id]
        assert [o["id"] for o in sim.state()["accounts"][safe]["open_orders"]] == [
            placed.order_id]
        taker = ClobClient(sim.url, chain_id=137, key="0x" + keccak(text="pmm-taker").hex())
        taker.set_api_creds(taker.create_or_derive_api_key())
        hit = taker.create_order(OrderArgs(token_id=NO, price=0.52, size=10, side="BUY"),
                                 PartialCreateOrderOptions(tick_size="0.01", neg_risk=False))
        assert taker.post_order(hit, OrderType.FAK)["status"] == "matched"
        (row,) = await venue.fetch_trades(0)
        # recognised by the funder address alone: another API key, an unknown order id
        stranger = Identity(api_key="not-our-key", address=safe)
        (fill,) = fills_from_trade(msgspec.convert(row, TradeMsg, strict=False), me=stranger, assets={YES: ("m", "YES"), NO: ("m", "NO")},
                                   known_order=lambda _: False, ts_recv_ns=1)
        assert (fill.order_id, fill.side, fill.price, fill.size) == (
            placed.order_id, "BUY", 4800, 1000)
        positions = await venue.positions()
        assert positions[0].position_yes == 1000
