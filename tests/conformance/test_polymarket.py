"""py-clob-client-v2 1.2.1, unchanged, against the Polymarket simulator: one test per call.

`pytest -v` on this module prints the conformance table (call -> works with the official
client). It covers every call our Polymarket adapters make (create_or_derive_api_key,
post_orders, cancel_orders, cancel_market_orders, cancel_all, get_open_orders,
post_heartbeat, get_trades, get_balance_allowance, get_raw_rewards_for_market,
are_orders_scoring) and the public reads. Nothing here
imports our adapters' wire code: the official client is the only Polymarket client.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from py_clob_client_v2.client import ClobClient
from py_clob_client_v2.clob_types import (
    AssetType,
    BalanceAllowanceParams,
    BookParams,
    MarketOrderArgs,
    OpenOrderParams,
    OrderArgs,
    OrderMarketCancelParams,
    OrderPayload,
    OrderScoringParams,
    OrdersScoringParams,
    OrderType,
    PostOrdersV2Args,
    TradeParams,
)

from tests.conformance.polymarket_support import (
    CID,
    CID2,
    NO,
    NO2,
    OPTS,
    YES,
    YES2,
    Venue,
    opened_venue,
)
from tests.support.wait import eventually


@pytest.fixture(scope="module")
def venue() -> Iterator[Venue]:
    with opened_venue() as opened:
        yield opened


def rest(client: ClobClient, token: str, price: float, side: str = "BUY",
         size: float = 10) -> str:
    """Post one post-only GTC order that rests; return its id."""
    signed = client.create_order(OrderArgs(token_id=token, price=price, size=size, side=side),
                                 OPTS)
    resp = client.post_order(signed, OrderType.GTC, post_only=True)
    assert resp["success"] is True and resp["status"] == "live", resp
    return str(resp["orderID"])


def funder(client: ClobClient) -> str:
    return str(client.builder.funder)


# --- public reads ------------------------------------------------------------------------


def get_ok(v: Venue) -> None:
    assert v.public.get_ok() == "OK"


def get_server_time(v: Venue) -> None:
    assert abs(int(v.public.get_server_time()) - time.time()) < 5


def get_version(v: Venue) -> None:
    assert v.public.get_version() == 2


def get_markets(v: Venue) -> None:
    page = v.public.get_markets()
    assert {m["condition_id"] for m in page["data"]} >= {CID, CID2}
    assert page["next_cursor"] == "LTE="


def get_market(v: Venue) -> None:
    market = v.public.get_market(CID)
    assert market["condition_id"] == CID
    assert [t["token_id"] for t in market["tokens"]] == [YES, NO]


def get_clob_market_info(v: Venue) -> None:
    info = v.public.get_clob_market_info(CID2)
    assert [t["t"] for t in info["t"]] == [YES2, NO2] and info["mts"] == 0.01


def get_order_book(v: Venue) -> None:
    book = v.public.get_order_book(YES)
    assert book["market"] == CID and book["asset_id"] == YES and book["tick_size"] == "0.01"
    assert book["bids"] and book["asks"]
    assert v.public.get_order_book_hash(book) == book["hash"]


def get_order_books(v: Venue) -> None:
    books = v.public.get_order_books([BookParams(token_id=YES), BookParams(token_id=NO2)])
    assert [b["asset_id"] for b in books] == [YES, NO2]


def get_tick_size(v: Venue) -> None:
    assert ClobClient(v.sim.url, chain_id=137).get_tick_size(YES) == "0.01"


def get_neg_risk(v: Venue) -> None:
    assert ClobClient(v.sim.url, chain_id=137).get_neg_risk(YES) is False


def get_fee_rate_bps(v: Venue) -> None:
    assert ClobClient(v.sim.url, chain_id=137).get_fee_rate_bps(YES) == 0


def get_midpoint(v: Venue) -> None:
    assert v.public.get_midpoint(YES2)["mid"] == "0.5"


def get_midpoints(v: Venue) -> None:
    assert v.public.get_midpoints([BookParams(token_id=YES2), BookParams(token_id=NO2)]) == {
        YES2: "0.5", NO2: "0.5"}


def get_price(v: Venue) -> None:
    assert v.public.get_price(YES2, "BUY") == {"price": 0.46}
    assert v.public.get_price(YES2, "SELL") == {"price": 0.54}


def get_prices(v: Venue) -> None:
    got = v.public.get_prices([BookParams(token_id=YES2, side="BUY"),
                               BookParams(token_id=YES2, side="SELL")])
    assert got == {YES2: {"BUY": 0.46, "SELL": 0.54}}


def get_spread(v: Venue) -> None:
    assert v.public.get_spread(YES2) == {"spread": "0.08"}


def get_spreads(v: Venue) -> None:
    assert v.public.get_spreads([BookParams(token_id=NO2)]) == {NO2: "0.08"}


def get_last_trade_price(v: Venue) -> None:
    assert v.public.get_last_trade_price(YES2) == {"price": "0.5", "side": ""}


def get_last_trades_prices(v: Venue) -> None:
    got = v.public.get_last_trades_prices([BookParams(token_id=YES2)])
    assert got == [{"token_id": YES2, "price": "0.5", "side": ""}]


# --- keys --------------------------------------------------------------------------------


def create_and_derive_api_key(v: Venue) -> None:
    client = ClobClient(v.sim.url, chain_id=137, key=v.maker.signer.private_key)
    created, derived = client.create_api_key(), client.derive_api_key()
    assert created == derived == v.maker.creds
    assert len(created.api_key) == 36


def create_or_derive_api_key(v: Venue) -> None:
    client = ClobClient(v.sim.url, chain_id=137, key=v.taker.signer.private_key)
    assert client.create_or_derive_api_key() == v.taker.creds


def get_api_keys(v: Venue) -> None:
    assert v.maker.creds.api_key in v.maker.get_api_keys()["apiKeys"]


# --- orders ------------------------------------------------------------------------------


def post_order(v: Venue) -> None:
    oid = rest(v.maker, YES, 0.41)
    try:
        order = v.maker.get_order(oid)
        assert (order["status"], Decimal(order["price"]), Decimal(order["original_size"])) == (
            "LIVE", Decimal("0.41"), 10)
        assert order["maker_address"] == funder(v.maker) and order["owner"] == v.maker.creds.api_key
    finally:
        v.maker.cancel_all()


def create_and_post_order(v: Venue) -> None:
    expires_s = int(time.time()) + 60 + 600  # the venue keeps a GTD order until expiry - 60 s
    resp = v.maker.create_and_post_order(
        OrderArgs(token_id=NO, price=0.42, size=5, side="BUY", expiration=expires_s), OPTS,
        OrderType.GTD)
    try:
        assert resp["success"] is True and resp["status"] == "live", resp
        assert v.maker.get_order(resp["orderID"])["expiration"] == str(expires_s)
    finally:
        v.maker.cancel_all()


def post_orders(v: Venue) -> None:
    signed = [v.maker.create_order(OrderArgs(token_id=YES, price=p, size=5, side="BUY"), OPTS)
              for p in (0.30, 0.31, 0.32)]
    resp = v.maker.post_orders([PostOrdersV2Args(order=o) for o in signed], post_only=True)
    try:
        assert [r["status"] for r in resp] == ["live"] * 3
        assert len({r["orderID"] for r in resp}) == 3
    finally:
        v.maker.cancel_all()


def create_and_post_market_order(v: Venue) -> None:
    resp = v.taker.create_and_post_market_order(
        MarketOrderArgs(token_id=YES2, amount=5.4, side="BUY", price=0.54), OPTS, OrderType.FOK)
    assert resp["success"] is True and resp["status"] == "matched", resp
    assert Decimal(resp["takingAmount"]) == 10 and resp["transactionsHashes"]


def get_open_orders(v: Venue) -> None:
    ids = {rest(v.maker, YES, 0.33), rest(v.maker, NO2, 0.34)}
    try:
        rows = v.maker.get_open_orders(OpenOrderParams(market=CID))
        assert {r["id"] for r in rows} == ids - {r["id"] for r in v.maker.get_open_orders(
            OpenOrderParams(market=CID2))}
        assert {r["id"] for r in v.maker.get_open_orders()} == ids
    finally:
        v.maker.cancel_all()


def get_order(v: Venue) -> None:
    oid = rest(v.maker, NO, 0.35)
    try:
        assert v.maker.get_order(oid)["id"] == oid
    finally:
        v.maker.cancel_all()


def cancel_order(v: Venue) -> None:
    oid = rest(v.maker, YES, 0.36)
    assert v.maker.cancel_order(OrderPayload(orderID=oid)) == {"canceled": [oid],
                                                                "not_canceled": {}}
    again = v.maker.cancel_order(OrderPayload(orderID=oid))
    assert again["canceled"] == [] and oid in again["not_canceled"]


def cancel_orders(v: Venue) -> None:
    ids = [rest(v.maker, YES, 0.37), rest(v.maker, YES, 0.38)]
    assert sorted(v.maker.cancel_orders(ids)["canceled"]) == sorted(ids)


def cancel_market_orders(v: Venue) -> None:
    keep, gone = rest(v.maker, YES2, 0.39), rest(v.maker, YES, 0.39)
    try:
        resp = v.maker.cancel_market_orders(OrderMarketCancelParams(market=CID))
        assert resp["canceled"] == [gone]
        assert [r["id"] for r in v.maker.get_open_orders()] == [keep]
    finally:
        v.maker.cancel_all()


def cancel_all(v: Venue) -> None:
    ids = {rest(v.maker, YES, 0.40), rest(v.maker, NO2, 0.40)}
    assert set(v.maker.cancel_all()["canceled"]) == ids
    assert v.maker.get_open_orders() == []


def get_trades(v: Venue) -> None:
    """A BUY NO at 0.52 from the taker fills the maker's BUY YES at 0.48 (one YES ask)."""
    oid = rest(v.maker, YES, 0.48, size=10)
    taken = v.taker.create_order(OrderArgs(token_id=NO, price=0.52, size=10, side="BUY"), OPTS)
    resp = v.taker.post_order(taken, OrderType.FAK)
    assert resp["status"] == "matched" and len(resp["tradeIDs"]) == 1, resp
    (row,) = v.maker.get_trades(TradeParams(id=resp["tradeIDs"][0]))
    assert row["trader_side"] == "MAKER" and row["maker_address"] == funder(v.maker)
    (mine,) = row["maker_orders"]
    assert (mine["order_id"], mine["maker_address"], mine["side"], mine["price"]) == (
        oid, funder(v.maker), "BUY", "0.48")
    assert row["match_time"].isdecimal() and abs(int(row["match_time"]) - time.time()) < 60
    (taker_row,) = v.taker.get_trades(TradeParams(id=resp["tradeIDs"][0], market=CID))
    assert taker_row["trader_side"] == "TAKER" and taker_row["taker_order_id"] == resp["orderID"]


def post_heartbeat(v: Venue) -> None:
    first = v.taker.post_heartbeat("")["heartbeat_id"]
    second = v.taker.post_heartbeat(first)["heartbeat_id"]
    assert second and second != first


def get_balance_allowance(v: Venue) -> None:
    cash = v.maker.get_balance_allowance(BalanceAllowanceParams(asset_type=AssetType.COLLATERAL))
    assert int(cash["balance"]) > 0 and cash["allowances"]
    held = v.maker.get_balance_allowance(
        BalanceAllowanceParams(asset_type=AssetType.CONDITIONAL, token_id=YES2))
    assert held["balance"] == "0"


def update_balance_allowance(v: Venue) -> None:
    resp = v.maker.update_balance_allowance(
        BalanceAllowanceParams(asset_type=AssetType.COLLATERAL))
    assert int(resp["balance"]) > 0


# --- liquidity rewards ------------------------------------------------------------------------


def get_current_rewards(v: Venue) -> None:
    rows = v.public.get_current_rewards()
    assert {r["condition_id"] for r in rows} >= {CID, CID2}
    assert all(r["rewards_max_spread"] > 0 and r["rewards_config"] for r in rows)


def get_raw_rewards_for_market(v: Venue) -> None:
    (row,) = v.public.get_raw_rewards_for_market(CID)
    assert row["condition_id"] == CID and [t["token_id"] for t in row["tokens"]] == [YES, NO]
    assert row["rewards_config"][0]["rate_per_day"] > 0


def are_orders_scoring(v: Venue) -> None:
    """An order 1 cent under the mid and over the min size scores; one far away does not."""
    mid = Decimal(v.public.get_midpoint(YES)["mid"])
    near = rest(v.maker, YES, float((mid - Decimal("0.01")).quantize(Decimal("0.01"))), size=25)
    far = rest(v.maker, YES, 0.02, size=25)
    try:
        assert v.maker.are_orders_scoring(OrdersScoringParams(orderIds=[near, far])) == {
            near: True, far: False}
        assert v.maker.is_order_scoring(OrderScoringParams(orderId=near)) == {"scoring": True}
        assert v.maker.is_order_scoring(OrderScoringParams(orderId=far)) == {"scoring": False}
    finally:
        v.maker.cancel_orders([near, far])


# --- the exchange contract's wallet kinds ---------------------------------------------------


def post_order_poly_proxy(v: Venue) -> None:
    oid = rest(v.proxy, YES2, 0.43)
    try:
        assert v.proxy.get_order(oid)["maker_address"] == funder(v.proxy)
        assert funder(v.proxy) != v.proxy.get_address()
    finally:
        v.proxy.cancel_all()


def post_order_poly_gnosis_safe(v: Venue) -> None:
    """The Safe's orders and fills are booked to the Safe, and its balance is the Safe's."""
    oid = rest(v.safe, YES2, 0.47, size=5)
    sold = v.taker.create_order(OrderArgs(token_id=NO2, price=0.53, size=5, side="BUY"), OPTS)
    resp = v.taker.post_order(sold, OrderType.FAK)
    assert resp["status"] == "matched", resp
    (row,) = eventually(lambda: v.safe.get_trades(TradeParams(id=resp["tradeIDs"][0])),
                        what="the Safe's trade")
    assert row["maker_orders"][0]["order_id"] == oid
    assert row["maker_orders"][0]["maker_address"] == funder(v.safe) != v.safe_signer
    held = v.safe.get_balance_allowance(
        BalanceAllowanceParams(asset_type=AssetType.CONDITIONAL, token_id=YES2))
    assert held["balance"] == "5000000"
    positions = v.sim.state()["accounts"][funder(v.safe)]["positions"]
    assert {k: Decimal(n) for k, n in positions.items()} == {YES2: 5}


CALLS: list[Callable[[Venue], Any]] = [
    get_ok, get_server_time, get_version, get_markets, get_market, get_clob_market_info,
    get_order_book, get_order_books, get_tick_size, get_neg_risk, get_fee_rate_bps,
    get_midpoint, get_midpoints, get_price, get_prices, get_spread, get_spreads,
    get_last_trade_price, get_last_trades_prices, create_and_derive_api_key,
    create_or_derive_api_key, get_api_keys, post_order, create_and_post_order, post_orders,
    get_open_orders, get_order, cancel_order, cancel_orders, cancel_market_orders, cancel_all,
    get_trades, post_heartbeat, get_balance_allowance, update_balance_allowance,
    post_order_poly_proxy, post_order_poly_gnosis_safe, create_and_post_market_order,
    get_current_rewards, get_raw_rewards_for_market, are_orders_scoring,
]


@pytest.mark.parametrize("call", CALLS, ids=[c.__name__ for c in CALLS])
def test_official_client(venue: Venue, call: Callable[[Venue], Any]) -> None:
    call(venue)
