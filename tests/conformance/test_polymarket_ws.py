"""The simulator's Polymarket websocket messages against the official docs' schemas.

The schemas are data (schemas/polymarket_ws.json, each naming its docs page and the
official SDK model). The test speaks to the simulator with the `websockets` library
directly, makes the venue emit every message type, and validates each one received.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import httpx
import pytest
from py_clob_client_v2.clob_types import OrderArgs, OrderType
from websockets.sync.client import ClientConnection, connect

from tests.conformance.polymarket_support import CID2, NO2, OPTS, YES2, Venue, opened_venue

SCHEMAS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "schemas" / "polymarket_ws.json").read_text())["messages"]
MARKET_TYPES = ("book", "price_change", "last_trade_price", "tick_size_change", "best_bid_ask")
USER_TYPES = ("order", "trade")


def _decimal(value: Any) -> bool:
    try:
        return isinstance(value, str) and Decimal(value).is_finite()
    except InvalidOperation:
        return False


def _epoch(value: Any, *, ms: bool) -> bool:
    if not (isinstance(value, str) and value.isdecimal()):
        return False
    return (int(value) >= 10**11) == ms or (not ms and value == "0")


CHECKS = {
    "string": lambda v: isinstance(v, str),
    "digits": lambda v: isinstance(v, str) and v.isdecimal(),
    "condition_id": lambda v: isinstance(v, str) and re.fullmatch(r"0x[0-9a-f]{64}", v) is not None,
    "address": lambda v: isinstance(v, str) and re.fullmatch(r"0x[0-9a-fA-F]{40}", v) is not None,
    "decimal": _decimal,
    "epoch_ms": lambda v: _epoch(v, ms=True),
    "epoch_s": lambda v: _epoch(v, ms=False),
    "side": lambda v: v in ("BUY", "SELL"),
    "bool": lambda v: isinstance(v, bool),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "string_list": lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v),
}


def violations(msg: Any, schema_name: str, path: str = "$") -> list[str]:
    """Every way `msg` breaks the named schema, each with the field's path."""
    schema = SCHEMAS[schema_name]
    if not isinstance(msg, dict):
        return [f"{path}: expected an object"]
    fields = {**schema["optional"], **schema["required"]}
    out = [f"{path}.{k}: missing" for k in schema["required"] if k not in msg]
    out += [f"{path}.{k}: not in the official schema" for k in msg if k not in fields]
    for key, kind in fields.items():
        if key in msg:
            out += _check(msg[key], kind, f"{path}.{key}")
    return out


def _check(value: Any, kind: str, path: str) -> list[str]:
    if kind.startswith("const:"):
        return [] if value == kind[6:] else [f"{path}: {value!r} != {kind[6:]!r}"]
    if kind.startswith("enum:"):
        return [] if value in kind[5:].split("|") else [f"{path}: {value!r} not in {kind[5:]}"]
    if kind.startswith("list:"):
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        return [v for i, item in enumerate(value) for v in violations(item, kind[5:], f"{path}[{i}]")]
    if kind == "levels":
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        return [f"{path}[{i}]: bad level {lv!r}" for i, lv in enumerate(value)
                if not (isinstance(lv, dict) and set(lv) == {"price", "size"}
                        and _decimal(lv["price"]) and _decimal(lv["size"]))]
    return [] if CHECKS[kind](value) else [f"{path}: {value!r} is not {kind}"]


@pytest.mark.parametrize(("msg", "broken"), [
    ({"event_type": "best_bid_ask", "market": CID2, "asset_id": YES2, "best_bid": "0.46",
      "best_ask": "0.54", "spread": "0.08", "timestamp": "1766789469958"}, []),
    ({"event_type": "best_bid_ask", "market": CID2, "asset_id": YES2, "best_bid": "0.46",
      "best_ask": "0.54", "spread": "0.08", "timestamp": "1766789469"},
     ["$.timestamp: '1766789469' is not epoch_ms"]),
    ({"event_type": "best_bid_ask", "market": CID2, "asset_id": YES2, "best_bid": 0.46,
      "best_ask": "0.54", "spread": "0.08", "timestamp": "1766789469958", "extra": 1},
     ["$.extra: not in the official schema", "$.best_bid: 0.46 is not decimal"]),
])
def test_the_validator_catches_what_it_should(msg: dict[str, Any], broken: list[str]) -> None:
    assert violations(msg, "market:best_bid_ask") == broken


@pytest.fixture(scope="module")
def venue() -> Iterator[Venue]:
    with opened_venue() as opened:
        yield opened


def receive_all(ws: ClientConnection, into: dict[str, list[dict[str, Any]]],
                until: tuple[str, ...], timeout_s: float = 10.0) -> None:
    """Read frames (objects or arrays) until every type in `until` was seen."""
    import time

    deadline = time.monotonic() + timeout_s
    while not all(into.get(t) for t in until):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"never received {[t for t in until if not into.get(t)]}"
        try:
            frame = ws.recv(timeout=remaining)
        except TimeoutError:
            continue
        if frame == "PONG":
            continue
        items = json.loads(frame)
        for item in items if isinstance(items, list) else [items]:
            into.setdefault(str(item.get("event_type")), []).append(item)


def test_every_message_type_matches_the_official_schema(venue: Venue) -> None:
    ws_url = venue.sim.url.replace("http://", "ws://") + "/ws"
    market: dict[str, list[dict[str, Any]]] = {}
    user: dict[str, list[dict[str, Any]]] = {}
    creds = venue.maker.creds
    with connect(ws_url + "/market") as mws, connect(ws_url + "/user") as uws:
        mws.send(json.dumps({"type": "market", "assets_ids": [YES2, NO2],
                             "custom_feature_enabled": True}))
        uws.send(json.dumps({"type": "user", "markets": [CID2], "auth": {
            "apiKey": creds.api_key, "secret": creds.api_secret,
            "passphrase": creds.api_passphrase}}))
        receive_all(mws, market, ("book",))
        # a better bid: price_change and best_bid_ask; a crossing taker: trades and prints
        bid = venue.maker.create_order(OrderArgs(token_id=YES2, price=0.49, size=5, side="BUY"),
                                       OPTS)
        venue.maker.post_order(bid, OrderType.GTC, post_only=True)
        hit = venue.taker.create_order(OrderArgs(token_id=NO2, price=0.51, size=5, side="BUY"),
                                       OPTS)
        assert venue.taker.post_order(hit, OrderType.FAK)["status"] == "matched"
        httpx.post(f"{venue.sim.url}/_sim/fault",
                   json={"kind": "tick_size_change", "market": CID2, "tick": 0.001})
        receive_all(mws, market, MARKET_TYPES)
        receive_all(uws, user, USER_TYPES)
    assert market["best_bid_ask"][0]["best_bid"] in ("0.49", "0.51")  # YES or NO side first
    bad = [v for kind in MARKET_TYPES for msg in market[kind]
           for v in violations(msg, f"market:{kind}")]
    bad += [v for kind in USER_TYPES for msg in user[kind] for v in violations(msg, f"user:{kind}")]
    assert bad == []
    (trade, *_) = user["trade"]
    assert trade["maker_orders"][0]["maker_address"] == str(venue.maker.builder.funder)
