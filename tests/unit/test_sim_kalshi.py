"""The simulator's Kalshi trade API v2 (REST + websocket), driven over real HTTP and websockets
with real RSA-PSS signatures (common/kalshi_auth.py)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from common.kalshi_auth import KalshiSigner, new_private_pem
from tests.support.kalshi_sim import BASE, TICKER, Client, kalshi_config, order
from tests.support.sim import SimThread
from tests.support.wait import eventually


@pytest.fixture(scope="module")
def sim() -> Iterator[SimThread]:
    s = SimThread(kalshi_config()).start()
    yield s
    s.stop()


@pytest.fixture()
def client(sim: SimThread) -> Iterator[Client]:
    c = Client(sim)
    yield c
    c.close()


def test_signatures_are_checked_both_ways(client: Client) -> None:
    assert client.call("GET", "/markets").status_code == 200
    path = BASE + "/portfolio/balance"
    good = client.signer.headers("GET", path)
    assert client.http.get(path, headers=good).status_code == 200
    bad = dict(good, **{"KALSHI-ACCESS-SIGNATURE": client.signer.sign(good[
        "KALSHI-ACCESS-TIMESTAMP"], "GET", BASE + "/portfolio/fills")})
    assert client.http.get(path, headers=bad).status_code == 401
    stale_ts = str(int(good["KALSHI-ACCESS-TIMESTAMP"]) - 60_000)
    stale = dict(good, **{"KALSHI-ACCESS-TIMESTAMP": stale_ts,
                          "KALSHI-ACCESS-SIGNATURE": client.signer.sign(stale_ts, "GET", path)})
    r = client.http.get(path, headers=stale)
    assert r.status_code == 401 and r.json()["error"]["code"] == "authentication_error"
    other = KalshiSigner.from_pem(client.signer.key_id, new_private_pem())
    assert client.http.get(path, headers=other.headers("GET", path)).status_code == 401


def test_book_is_bids_only_and_orders_rest(client: Client) -> None:
    book = eventually(lambda: (b := client.call("GET", f"/markets/{TICKER}/orderbook").json()[
        "orderbook_fp"])["yes_dollars"] and b)
    best_yes = max(float(p) for p, _ in book["yes_dollars"])
    best_no = max(float(p) for p, _ in book["no_dollars"])
    assert best_yes + best_no < 1.0  # YES ask = 1 - best NO bid lies above the YES bid
    bid = order("bid", "0.3000")
    r = client.call("POST", "/portfolio/events/orders", bid)
    assert r.status_code == 201, r.text
    oid = r.json()["order_id"]
    assert r.json()["client_order_id"] == bid["client_order_id"]
    dup = client.call("POST", "/portfolio/events/orders", bid)
    assert dup.status_code == 409
    cross = client.call("POST", "/portfolio/events/orders", order("bid", "0.9000"))
    assert cross.status_code == 400 and cross.json()["error"]["code"] == "post_only_cross"
    off = client.call("POST", "/portfolio/events/orders", order("bid", "0.3050"))
    assert off.status_code == 400
    resting = client.call("GET", "/portfolio/orders", status="resting").json()["orders"]
    assert [o["order_id"] for o in resting] == [oid]
    assert resting[0]["book_side"] == "bid" and resting[0]["remaining_count_fp"] == "5.00"
    r = client.call("DELETE", f"/portfolio/events/orders/{oid}")
    assert r.status_code == 200 and r.json()["reduced_by"] == "5.00"
    assert client.call("DELETE", f"/portfolio/events/orders/{oid}").json()["reduced_by"] == "0.00"
    assert client.call("DELETE", f"/portfolio/events/orders/{uuid.uuid4()}").status_code == 404


def test_batches_amend_decrease_and_legacy(client: Client) -> None:
    r = client.call("POST", "/portfolio/events/orders/batched", {"orders": [
        order("bid", "0.2000"), order("ask", "0.8000"), order("bid", "0.9900")]})
    assert r.status_code == 201
    rows = r.json()["orders"]
    assert rows[0]["order_id"] and rows[1]["order_id"]
    assert rows[2]["error"]["code"] == "post_only_cross"
    ask = client.call("GET", f"/portfolio/orders/{rows[1]['order_id']}").json()["order"]
    assert ask["outcome_side"] == "no" and ask["no_price_dollars"] == "0.2000"
    r = client.call("POST", f"/portfolio/events/orders/{rows[0]['order_id']}/amend",
                    {"ticker": TICKER, "side": "bid", "price": "0.2100", "count": "7"})
    assert r.status_code == 200 and r.json()["remaining_count"] == "7.00"
    r = client.call("POST", f"/portfolio/events/orders/{rows[0]['order_id']}/decrease",
                    {"reduce_to": "3"})
    assert r.json()["remaining_count"] == "3.00"
    legacy = client.call("POST", "/portfolio/orders", {
        "ticker": TICKER, "side": "no", "action": "buy", "no_price": 15, "count": 2,
        "post_only": True, "client_order_id": str(uuid.uuid4())})
    assert legacy.status_code == 201 and legacy.json()["order"]["yes_price_dollars"] == "0.8500"
    r = client.call("DELETE", "/portfolio/events/orders/batched", {"orders": [
        {"order_id": rows[0]["order_id"]}, {"order_id": str(uuid.uuid4())}]})
    out = r.json()["orders"]
    assert out[0]["reduced_by"] == "3.00" and out[1]["error"]["code"] == "not_found"
    cancel_all = client.call("DELETE", "/portfolio/events/orders")
    assert cancel_all.status_code == 204 and cancel_all.content == b""  # the spec: 204, no body
    assert client.call("GET", "/portfolio/orders", status="resting").json()["orders"] == []


def ws_headers(client: Client) -> dict[str, str]:
    return client.signer.headers("GET", "/trade-api/ws/v2")


def test_websocket_needs_auth_and_sequences_book_deltas(client: Client, sim: SimThread) -> None:
    url = f"ws://127.0.0.1:{sim.port}/trade-api/ws/v2"
    with pytest.raises(InvalidStatus) as info:
        connect(url, open_timeout=5).close()
    assert info.value.response.status_code == 401
    with connect(url, additional_headers=ws_headers(client), open_timeout=5) as ws:
        ws.send(json.dumps({"id": 1, "cmd": "subscribe", "params": {
            "channels": ["orderbook_delta"], "market_ticker": TICKER}}))
        sub = json.loads(ws.recv(5))
        assert sub["type"] == "subscribed"
        snap = json.loads(ws.recv(5))
        assert snap["type"] == "orderbook_snapshot" and snap["seq"] == 1
        for price in ("0.1000", "0.0900", "0.0800"):
            client.call("POST", "/portfolio/events/orders", order("bid", price))
        seqs = []
        deadline = time.monotonic() + 5
        while len(seqs) < 3 and time.monotonic() < deadline:
            msg = json.loads(ws.recv(5))
            if msg["type"] == "orderbook_delta":
                seqs.append(msg["seq"])
        assert seqs == [2, 3, 4]
        httpx.post(f"{sim.url}/_sim/fault", json={"kind": "seq_gap"})
        client.call("POST", "/portfolio/events/orders", order("bid", "0.1100"))
        client.call("POST", "/portfolio/events/orders", order("bid", "0.1200"))
        while True:
            msg = json.loads(ws.recv(5))
            if msg["type"] == "orderbook_delta":
                assert msg["seq"] > seqs[-1] + 1  # one delta was skipped: a gap
                break
    client.call("DELETE", "/portfolio/events/orders")


def test_fill_channel_and_fills_endpoint(client: Client, sim: SimThread) -> None:
    taker = Client(sim)
    try:
        url = f"ws://127.0.0.1:{sim.port}/trade-api/ws/v2"
        with connect(url, additional_headers=ws_headers(client), open_timeout=5) as ws:
            ws.send(json.dumps({"id": 7, "cmd": "subscribe", "params": {"channels": ["fill"]}}))
            assert json.loads(ws.recv(5))["type"] == "subscribed"
            mine = client.call("POST", "/portfolio/events/orders", order("bid", "0.4900", "4"))
            assert mine.status_code == 201, mine.text
            r = taker.call("POST", "/portfolio/events/orders", {
                "ticker": TICKER, "side": "ask", "price": "0.4900", "count": "4",
                "time_in_force": "immediate_or_cancel", "self_trade_prevention_type": "maker"})
            assert r.status_code == 201 and r.json()["fill_count"] == "4.00"
            fill = json.loads(ws.recv(5))
            assert fill["type"] == "fill"
            body = fill["msg"]
            assert body["order_id"] == mine.json()["order_id"] and body["count_fp"] == "4.00"
            assert body["side"] == "yes" and body["yes_price_dollars"] == "0.4900"
            assert body["is_taker"] is False and body["post_position_fp"] == "4.00"
        rest = client.call("GET", "/portfolio/fills").json()["fills"]
        assert [f["trade_id"] for f in rest] == [body["trade_id"]]
        pos = client.call("GET", "/portfolio/positions").json()["market_positions"]
        assert pos == [] or pos[0]["position_fp"] == "4.00"
        assert pos and pos[0]["ticker"] == TICKER
    finally:
        taker.close()


def test_market_data_is_public_and_the_portfolio_is_not(sim: SimThread) -> None:
    """Kalshi serves markets and order books unsigned; a portfolio read needs a signature."""
    with httpx.Client(base_url=sim.url) as http:
        for path in ("/markets", f"/markets/{TICKER}", f"/markets/{TICKER}/orderbook",
                     "/exchange/status", "/events/KXFED-26DEC", "/series/KXFED"):
            assert http.get(BASE + path).status_code == 200, path
        market = http.get(f"{BASE}/markets/{TICKER}").json()["market"]
        for field in ("yes_sub_title", "created_time", "updated_time", "open_time", "close_time",
                      "latest_expiration_time", "settlement_timer_seconds", "rules_primary"):
            assert field in market, field
        r = http.get(BASE + "/portfolio/balance")
        assert r.status_code == 401 and r.json()["error"]["code"] == "authentication_error"


def test_an_immediate_or_cancel_order_reports_its_fill_price_not_its_limit(
        client: Client, sim: SimThread) -> None:
    maker = Client(sim)
    try:
        for price in ("0.4800", "0.4700"):  # above the background makers' bids
            r = maker.call("POST", "/portfolio/events/orders", order("bid", price, "2"))
            assert r.status_code == 201, r.text
        r = client.call("POST", "/portfolio/events/orders", order(
            "ask", "0.4600", "3", post_only=False, time_in_force="immediate_or_cancel"))
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["fill_count"] == "3.00" and body["remaining_count"] == "0.00"
        assert body["average_fill_price"] == "0.4767"  # (2 x 0.48 + 1 x 0.47) / 3, limit 0.46
        got = client.call("GET", f"/portfolio/orders/{body['order_id']}").json()["order"]
        assert got["status"] == "executed"
        assert (got["taker_fill_cost_dollars"], got["maker_fill_cost_dollars"]) == (
            "1.5700", "0.0000")  # NO bought at 0.52 twice and 0.53 once
        first_maker = maker.call("GET", "/portfolio/orders").json()["orders"][-1]
        assert first_maker["maker_fill_cost_dollars"] == "0.9600"  # 2 YES at 0.48
    finally:
        maker.call("DELETE", "/portfolio/events/orders")
        maker.close()
