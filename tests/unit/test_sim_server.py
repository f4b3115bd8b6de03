"""The venue simulator end to end, driven by the real py_clob_client_v2 SDK and websockets.

The server runs on uvloop in a background thread on an ephemeral loopback port; the
SDK's blocking calls run in the test thread, exactly as an adapter would use them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_utils import keccak
from py_clob_client_v2.client import ClobClient
from py_clob_client_v2.clob_types import (
    ApiCreds,
    CreateOrderOptions,
    OpenOrderParams,
    OrderArgs,
    OrderPayload,
    OrderType,
    PostOrdersV2Args,
    TradeParams,
)
from py_clob_client_v2.exceptions import PolyApiException
from websockets.sync.client import connect

from tests.support.fixtures import StartSim
from tests.support.polymarket_sim import CID, NO, OPTS, YES, new_client, sim_config
from tests.support.sim import SimThread
from tests.support.wait import eventually


@pytest.fixture(scope="module")
def quiet() -> Iterator[SimThread]:
    sim = SimThread(sim_config()).start()
    yield sim
    sim.stop()


def test_api_keys_are_deterministic_and_l1_verified(quiet: SimThread) -> None:
    key = "0x" + keccak(text="pmm-deterministic").hex()
    client = ClobClient(quiet.url, chain_id=137, key=key)
    created = client.create_api_key()
    derived = client.derive_api_key()
    assert created == derived
    assert len(created.api_key) == 36
    assert client.get_version() == 2
    # an L1 signature by one key with another key's address is refused
    other = Account.create()
    r = httpx.post(f"{quiet.url}/auth/api-key", headers={
        "POLY_ADDRESS": other.address, "POLY_SIGNATURE": "0x" + "11" * 65,
        "POLY_TIMESTAMP": str(int(time.time())), "POLY_NONCE": "0",
    })
    assert r.status_code == 401


def test_post_only_order_rests_and_is_listed(quiet: SimThread) -> None:
    client = new_client(quiet)
    signed = client.create_order(OrderArgs(token_id=YES, price=0.47, size=10, side="BUY"), OPTS)
    resp = client.post_order(signed, OrderType.GTC, post_only=True)
    assert resp["success"] is True and resp["status"] == "live"
    oid = resp["orderID"]
    assert oid.startswith("0x") and len(oid) == 66
    orders = client.get_open_orders(OpenOrderParams(market=CID))
    assert [(o["id"], o["price"], o["side"], o["outcome"]) for o in orders] == [
        (oid, "0.47", "BUY", "Yes")
    ]
    assert client.get_order(oid)["status"] == "LIVE"
    book = client.get_order_book(YES)
    assert book["bids"][-1] == {"price": "0.47", "size": "10.00"}  # best level last
    assert client.get_order_book_hash(dict(book)) == book["hash"]
    # the duplicate of the same signed order is refused
    with pytest.raises(PolyApiException) as info:
        client.post_order(signed, OrderType.GTC, post_only=True)
    assert info.value.status_code == 400
    assert info.value.error_msg == {"error": f"order {oid} is invalid. Duplicated."}
    assert client.cancel_order(OrderPayload(orderID=oid)) == {"canceled": [oid], "not_canceled": {}}
    again = client.cancel_order(OrderPayload(orderID=oid))
    assert again["canceled"] == [] and oid in again["not_canceled"]
    acct = quiet.state()["accounts"][client.get_address()]
    assert acct["open_orders"] == [] and acct["collateral"] == "1000"


def test_rejects_post_only_cross_off_tick_and_small(quiet: SimThread) -> None:
    client = new_client(quiet)
    crossing = client.create_order(OrderArgs(token_id=YES, price=0.55, size=10, side="BUY"), OPTS)
    with pytest.raises(PolyApiException) as info:
        client.post_order(crossing, OrderType.GTC, post_only=True)
    assert info.value.error_msg == {"error": "invalid post-only order: order crosses book"}
    # the SDK refuses a finer tick than /tick-size reports, so sign with its builder directly
    fine_tick = CreateOrderOptions(tick_size="0.001", neg_risk=False)
    off_tick = client.builder.build_order(
        OrderArgs(token_id=YES, price=0.455, size=10, side="BUY"), fine_tick)
    with pytest.raises(PolyApiException) as info:
        client.post_order(off_tick)
    assert "Price (0.455) breaks minimum tick size rule: 0.01" in info.value.error_msg["error"]
    small = client.create_order(OrderArgs(token_id=YES, price=0.45, size=4, side="BUY"), OPTS)
    with pytest.raises(PolyApiException) as info:
        client.post_order(small)
    assert "Size (4) lower than the minimum: 5" in info.value.error_msg["error"]


def test_wrong_secret_is_unauthorized(quiet: SimThread) -> None:
    client = new_client(quiet)
    good = client.creds
    client.set_api_creds(ApiCreds(good.api_key, "c2VjcmV0LXRoYXQtaXMtd3Jvbmc=", good.api_passphrase))
    with pytest.raises(PolyApiException) as info:
        client.get_open_orders()
    assert info.value.status_code == 401
    assert info.value.error_msg == {"error": "Unauthorized/Invalid api key"}


def test_batch_cancel_all_and_batch_limit(quiet: SimThread) -> None:
    client = new_client(quiet)
    args = [
        PostOrdersV2Args(order=client.create_order(
            OrderArgs(token_id=tok, price=p, size=5, side="BUY"), OPTS))
        for tok, p in ((YES, 0.40), (YES, 0.41), (NO, 0.40), (YES, 0.9999 - 0.0099))
    ]
    results = client.post_orders(args, post_only=True)
    assert [r["success"] for r in results] == [True, True, True, False]
    assert "tick size" in results[3]["errorMsg"] or "crosses book" in results[3]["errorMsg"]
    assert len(client.get_open_orders()) == 3
    canceled = client.cancel_all()
    assert sorted(canceled["canceled"]) == sorted(r["orderID"] for r in results[:3])
    assert client.get_open_orders() == []
    too_many = [args[0]] * 16
    with pytest.raises(PolyApiException) as info:
        client.post_orders(too_many)
    assert info.value.error_msg == {"error": "Too many orders in payload: 16, max allowed: 15"}


def _recv_until(ws: Any, pred: Callable[[Any], bool], timeout: float = 5.0) -> list[Any]:
    """Collect websocket messages (arrays flattened) until one satisfies pred."""
    seen: list[Any] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            raw = ws.recv(timeout=max(0.01, deadline - time.monotonic()))
        except TimeoutError:
            break
        items = json.loads(raw) if raw not in ("PONG",) else [raw]
        for item in items if isinstance(items, list) else [items]:
            seen.append(item)
            if pred(item):
                return seen
    raise AssertionError(f"no matching websocket message; got {seen[-5:]}")


def test_cross_account_fill_with_user_and_market_channels(quiet: SimThread) -> None:
    maker, taker = new_client(quiet), new_client(quiet)
    ws_base = f"ws://127.0.0.1:{quiet.port}/ws"
    with connect(ws_base + "/user") as user_ws, connect(ws_base + "/market") as market_ws:
        creds = maker.creds
        user_ws.send(json.dumps({"type": "user", "markets": [CID], "auth": {
            "apiKey": creds.api_key, "secret": creds.api_secret,
            "passphrase": creds.api_passphrase}}))
        market_ws.send(json.dumps({"type": "market", "assets_ids": [YES, NO]}))
        books = json.loads(market_ws.recv(timeout=5))
        assert [b["event_type"] for b in books] == ["book", "book"]
        by_asset = {b["asset_id"]: b for b in books}
        yes_best_bid = by_asset[YES]["bids"][-1]["price"]
        no_best_ask = by_asset[NO]["asks"][-1]["price"]
        assert round(1 - float(yes_best_bid), 4) == float(no_best_ask)  # mirror books
        market_ws.send("PING")
        _recv_until(market_ws, lambda m: m == "PONG")

        # maker rests BUY NO at 0.49 (an ask on YES at 0.51), post-only
        signed = maker.create_order(OrderArgs(token_id=NO, price=0.49, size=20, side="BUY"), OPTS)
        oid = maker.post_order(signed, OrderType.GTC, post_only=True)["orderID"]
        _recv_until(user_ws, lambda m: m.get("type") == "PLACEMENT" and m["id"] == oid)
        _recv_until(market_ws, lambda m: m.get("event_type") == "price_change" and any(
            c["asset_id"] == YES and c["price"] == "0.51" and c["size"] == "20.00"
            and c["best_ask"] == "0.51" for c in m["price_changes"]))

        # taker lifts it with BUY YES at 0.52: fills at the maker's 0.51 (cross-token mint)
        take = taker.create_order(OrderArgs(token_id=YES, price=0.52, size=8, side="BUY"), OPTS)
        resp = taker.post_order(take)
        assert resp["status"] == "matched" and len(resp["transactionsHashes"]) == 1
        trade_id = resp["tradeIDs"][0]
        seen = _recv_until(user_ws, lambda m: m.get("event_type") == "trade")
        update = next(m for m in seen if m.get("type") == "UPDATE")
        assert update["size_matched"] == "8.00" and update["id"] == oid
        trade = seen[-1]
        assert (trade["id"], trade["status"], trade["trader_side"]) == (trade_id, "MATCHED", "MAKER")
        assert trade["maker_orders"][0] | {} == trade["maker_orders"][0]
        mine = trade["maker_orders"][0]
        assert (mine["order_id"], mine["matched_amount"], mine["price"], mine["side"],
                mine["asset_id"], mine["outcome"]) == (oid, "8.00", "0.49", "BUY", NO, "No")
        statuses = [trade["status"]]
        for status in ("MINED", "CONFIRMED"):
            msgs = _recv_until(user_ws, lambda m, s=status: m.get("status") == s)
            assert msgs[-1]["id"] == trade_id
            statuses.append(msgs[-1]["status"])
        assert statuses == ["MATCHED", "MINED", "CONFIRMED"]
        _recv_until(market_ws, lambda m: m.get("event_type") == "last_trade_price"
                    and m["asset_id"] == YES and m["price"] == "0.51")

    taker_trades = taker.get_trades(TradeParams(market=CID))
    assert [(t["id"], t["trader_side"], t["price"], t["size"]) for t in taker_trades] == [
        (trade_id, "TAKER", "0.51", "8.00")]
    assert taker_trades[0]["status"] == "CONFIRMED" and taker_trades[0]["transaction_hash"]
    state = quiet.state()["accounts"]
    assert state[taker.get_address()]["positions"] == {YES: "8.00"}
    assert state[taker.get_address()]["collateral"] == "995.92"
    assert state[maker.get_address()]["positions"] == {NO: "8.00"}
    (fill,) = state[maker.get_address()]["fills"]
    assert (fill["role"], fill["price"], fill["side"], fill["outcome"]) == ("MAKER", "0.49", "BUY", "No")
    (open_order,) = state[maker.get_address()]["open_orders"]
    assert open_order["size_matched"] == "8.00"
    maker.cancel_all()


def test_heartbeat_chain_and_dead_mans_switch(quiet: SimThread) -> None:
    client = new_client(quiet)
    signed = client.create_order(OrderArgs(token_id=YES, price=0.42, size=5, side="BUY"), OPTS)
    oid = client.post_order(signed, post_only=True)["orderID"]
    first = client.post_heartbeat("")["heartbeat_id"]
    second = client.post_heartbeat(first)["heartbeat_id"]
    with pytest.raises(PolyApiException) as info:
        client.post_heartbeat(first)
    assert info.value.status_code == 400
    assert info.value.error_msg == {"error": "Invalid Heartbeat ID", "heartbeat_id": second}
    assert client.get_open_orders(OpenOrderParams(id=oid))  # still live
    eventually(lambda: client.get_open_orders() == [], timeout=5)  # 1.5 s timeout in config
    assert client.get_order(oid)["status"] == "CANCELED"


def test_synthetic_flow_fills_a_resting_order(start_sim: StartSim) -> None:
    sim = start_sim(sim_config(noise_rate_hz=40.0, noise_size=10.0))
    client = new_client(sim)
    signed = client.create_order(OrderArgs(token_id=YES, price=0.5, size=5, side="BUY"), OPTS)
    oid = client.post_order(signed, post_only=True)["orderID"]
    eventually(lambda: client.get_order(oid)["size_matched"] != "0.00", timeout=10)
    trades = client.get_trades()
    assert trades and all(t["trader_side"] == "MAKER" for t in trades)
    assert trades[0]["maker_orders"][0]["order_id"] == oid
    last = httpx.get(f"{sim.url}/last-trade-price", params={"token_id": YES}).json()
    assert last["price"] != ""


def test_malformed_messages_are_refused_and_counted(quiet: SimThread) -> None:
    client = new_client(quiet)
    body = '{"order": {"salt": "not a number"}}'
    from py_clob_client_v2.clob_types import RequestArgs
    from py_clob_client_v2.headers.headers import create_level_2_headers

    headers = create_level_2_headers(
        client.signer, client.creds,
        RequestArgs(method="POST", request_path="/order", serialized_body=body),
    )
    r = httpx.post(f"{quiet.url}/order", headers=headers, content=body)
    assert r.status_code == 400 and r.json()["error"].startswith("Invalid order payload")
    with connect(f"ws://127.0.0.1:{quiet.port}/ws/market") as ws:
        ws.send("{not json")
        assert json.loads(ws.recv(timeout=5)) == {
            "error": "invalid message: expected a JSON object"}
        ws.send(json.dumps({"type": "market", "assets_ids": "oops"}))
        assert "error" in json.loads(ws.recv(timeout=5))
        ws.send(json.dumps({"type": "market", "assets_ids": [YES]}))
        (book,) = json.loads(ws.recv(timeout=5))
        assert book["asset_id"] == YES
    with connect(f"ws://127.0.0.1:{quiet.port}/ws/user") as ws:
        ws.send(json.dumps({"type": "user", "auth": {"apiKey": "x", "secret": "y",
                                                     "passphrase": "z"}}))
        assert json.loads(ws.recv(timeout=5)) == {"error": "Unauthorized/Invalid api key"}
    malformed = httpx.get(f"{quiet.url}/_sim/health").json()["malformed"]
    assert malformed["rest_order"] >= 1 and malformed["ws_market"] >= 2
    assert malformed["ws_user_auth"] >= 1
