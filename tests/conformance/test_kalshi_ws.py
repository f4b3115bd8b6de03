"""Kalshi's websocket on the simulator, driven with the `websockets` library directly (no
adapter code): subscription semantics and message schemas as Kalshi's AsyncAPI has them
(tests/conformance/schemas/kalshi_ws.json names the docs page of each).

The upgrade is signed here with `cryptography` (RSA-PSS SHA-256 over ts + "GET" + path), as
Kalshi's docs show, so our own signer is not what is tested.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from websockets.sync.client import ClientConnection, connect

from tests.conformance.conftest import KALSHI_TICKER as TICKER
from tests.support.sim import SimThread

SCHEMAS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "schemas" / "kalshi_ws.json").read_text())["messages"]
WS_PATH = "/trade-api/ws/v2"
REST = "/trade-api/v2"


class Key:
    """An RSA key registered at the simulator, signing as Kalshi's docs describe."""

    def __init__(self, sim: SimThread) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.id = str(uuid.uuid4())
        pem = self.key.public_key().public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
        httpx.post(f"{sim.url}/_sim/kalshi/keys",
                   json={"key_id": self.id, "public_key_pem": pem.decode()}).raise_for_status()

    def headers(self, method: str, path: str) -> dict[str, str]:
        ts = str(int(time.time() * 1000))
        sig = self.key.sign((ts + method + path).encode(), padding.PSS(
            mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH),
            hashes.SHA256())
        return {"KALSHI-ACCESS-KEY": self.id, "KALSHI-ACCESS-TIMESTAMP": ts,
                "KALSHI-ACCESS-SIGNATURE": base64.b64encode(sig).decode()}

    def rest(self, sim: SimThread, method: str, path: str, body: Any = None) -> httpx.Response:
        return httpx.request(method, sim.url + REST + path, json=body,
                             headers=self.headers(method, REST + path))


@pytest.fixture
def key(kalshi_sim: SimThread) -> Key:
    return Key(kalshi_sim)


@pytest.fixture
def ws(kalshi_sim: SimThread, key: Key) -> Iterator[ClientConnection]:
    with connect(f"ws://127.0.0.1:{kalshi_sim.port}{WS_PATH}",
                 additional_headers=key.headers("GET", WS_PATH)) as conn:
        yield conn


def send(ws: ClientConnection, cmd_id: int, cmd: str, params: dict[str, Any] | None = None) -> None:
    body: dict[str, Any] = {"id": cmd_id, "cmd": cmd}
    if params is not None:
        body["params"] = params
    ws.send(json.dumps(body))


def until(ws: ClientConnection, want: Any, timeout: float = 5.0) -> dict[str, Any]:
    """The next message for which `want(msg)` holds (others are skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        msg = json.loads(ws.recv(timeout=max(deadline - time.monotonic(), 0.01)))
        if want(msg):
            return msg  # type: ignore[no-any-return]


def reply(ws: ClientConnection, cmd_id: int) -> dict[str, Any]:
    return until(ws, lambda m: m.get("id") == cmd_id)


def check(kind: str, msg: dict[str, Any]) -> None:
    """`msg` carries the envelope and msg fields the AsyncAPI requires, and no others."""
    schema = SCHEMAS[kind]
    assert set(schema["envelope"]) <= set(msg), (kind, msg)
    body = msg.get("msg")
    if "msg_required" in schema:
        assert isinstance(body, dict), (kind, msg)
        missing = set(schema["msg_required"]) - set(body)
        extra = set(body) - set(schema["msg_required"]) - set(schema["msg_optional"])
        assert not missing and not extra, (kind, "missing", missing, "undocumented", extra)
        for name, value in body.items():
            if name.endswith(("_fp", "_dollars")) and not name.endswith("dollars_fp"):
                assert isinstance(value, str) and float(value) == float(value), (name, value)
        if "ts_ms" in body:
            assert isinstance(body["ts_ms"], int)
    if "item_required" in schema:
        assert isinstance(body, list) and all(
            set(schema["item_required"]) == set(item) for item in body), msg


def test_subscribe_twice_list_update_and_unsubscribe(ws: ClientConnection) -> None:
    send(ws, 1, "subscribe", {"channels": ["orderbook_delta"], "market_ticker": TICKER})
    first = reply(ws, 1)
    check("subscribed", first)
    snap = until(ws, lambda m: m.get("type") == "orderbook_snapshot")
    check("orderbook_snapshot", snap)
    assert snap["seq"] == 1 and snap["sid"] == first["msg"]["sid"]
    # code 6 is retired in the current AsyncAPI: a second subscribe is not an error 6
    send(ws, 2, "subscribe", {"channels": ["orderbook_delta"], "market_ticker": TICKER})
    second = reply(ws, 2)
    assert second["type"] == "subscribed" and second["msg"]["sid"] != first["msg"]["sid"]
    send(ws, 3, "subscribe", {"channels": ["trade"], "market_tickers": [TICKER]})
    trade_sid = reply(ws, 3)["msg"]["sid"]
    send(ws, 4, "list_subscriptions")
    listing = reply(ws, 4)
    check("ok_list", listing)
    assert listing["type"] == "ok" and sorted(s["sid"] for s in listing["msg"]) == sorted(
        [first["msg"]["sid"], second["msg"]["sid"], trade_sid])
    send(ws, 5, "update_subscription", {"sid": trade_sid, "action": "delete_markets",
                                        "market_tickers": [TICKER]})
    gone = reply(ws, 5)
    check("ok_update", gone)
    assert gone["type"] == "ok" and gone["msg"]["market_tickers"] == []
    send(ws, 6, "update_subscription", {"sids": [trade_sid], "action": "add_markets",
                                        "market_tickers": [TICKER]})
    assert reply(ws, 6)["msg"]["market_tickers"] == [TICKER]
    send(ws, 7, "update_subscription", {"sid": first["msg"]["sid"], "action": "get_snapshot",
                                        "market_tickers": [TICKER]})
    again = until(ws, lambda m: m.get("type") == "orderbook_snapshot"
                  and m["sid"] == first["msg"]["sid"])
    assert again["seq"] > 1
    send(ws, 8, "unsubscribe", {"sids": [second["msg"]["sid"]]})
    check("unsubscribed", reply(ws, 8))


@pytest.mark.parametrize(("cmd", "params", "code"), [
    ("no_such_command", {}, 5),
    ("subscribe", None, 2),
    ("subscribe", {"market_ticker": TICKER}, 3),
    ("subscribe", {"channels": ["no_such_channel"]}, 8),
    ("subscribe", {"channels": ["orderbook_delta"]}, 14),
    ("subscribe", {"channels": ["trade"], "market_ticker": "NO-SUCH-MARKET"}, 16),
    ("unsubscribe", {}, 4),
    ("unsubscribe", {"sids": [987654]}, 7),
    ("update_subscription", {"sids": [1, 2], "action": "add_markets",
                             "market_tickers": [TICKER]}, 12),
    ("update_subscription", {"sid": 987654, "action": "add_markets",
                             "market_tickers": [TICKER]}, 7),
])
def test_bad_commands_get_the_documented_error_codes(ws: ClientConnection, cmd: str,
                                                     params: dict[str, Any] | None,
                                                     code: int) -> None:
    send(ws, 41, cmd, params)
    err = reply(ws, 41)
    check("error", err)
    assert err["type"] == "error" and err["msg"]["code"] == code


def test_update_needs_a_supported_action(ws: ClientConnection) -> None:
    send(ws, 1, "subscribe", {"channels": ["trade"], "market_tickers": [TICKER]})
    sid = reply(ws, 1)["msg"]["sid"]
    send(ws, 2, "update_subscription", {"sid": sid, "market_tickers": [TICKER]})
    assert reply(ws, 2)["msg"]["code"] == 15
    send(ws, 3, "update_subscription", {"sid": sid, "action": "get_snapshot",
                                        "market_tickers": [TICKER]})
    assert reply(ws, 3)["msg"]["code"] == 13  # snapshots are an orderbook action


def test_trade_fill_delta_ticker_and_order_group_messages(
        kalshi_sim: SimThread, key: Key, ws: ClientConnection) -> None:
    send(ws, 1, "subscribe", {"channels": ["orderbook_delta", "trade", "fill", "ticker",
                                           "order_group_updates"], "market_tickers": [TICKER]})
    for _ in range(5):
        check("subscribed", until(ws, lambda m: m.get("type") == "subscribed"))
    created = key.rest(kalshi_sim, "POST", "/portfolio/order_groups/create",
                       {"contracts_limit_fp": "10"})
    assert created.status_code == 201, created.text
    update = until(ws, lambda m: m.get("type") == "order_group_updates")
    check("order_group_updates", update)
    assert update["msg"]["event_type"] == "created" and update["msg"]["contracts_limit_fp"] == "10.00"
    take = key.rest(kalshi_sim, "POST", "/portfolio/events/orders", {
        "ticker": TICKER, "side": "bid", "price": "0.6000", "count": "1",
        "time_in_force": "immediate_or_cancel", "self_trade_prevention_type": "maker",
        "client_order_id": str(uuid.uuid4())})
    assert take.status_code == 201 and take.json()["fill_count"] == "1.00", take.text
    seen: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + 5
    while len(seen) < 4 and time.monotonic() < deadline:
        msg = until(ws, lambda m: m.get("type") in ("trade", "fill", "orderbook_delta", "ticker"))
        seen.setdefault(msg["type"], msg)
    assert set(seen) == {"trade", "fill", "orderbook_delta", "ticker"}
    for kind, msg in seen.items():
        check(kind, msg)
    assert seen["trade"]["msg"]["taker_outcome_side"] == "yes"
    assert seen["fill"]["msg"]["is_taker"] is True
