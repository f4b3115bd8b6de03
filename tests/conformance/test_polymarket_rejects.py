"""Bad requests get the venue's own answers: status and body, through the official client.

Order rejects are 400 `{"error": ...}` with the texts of Polymarket's error catalogue
(docs "Create order" errors; the CTF exchange's InvalidSignature for a wrong maker);
authentication failures are 401 `Unauthorized/Invalid api key`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from py_clob_client_v2.client import ClobClient
from py_clob_client_v2.clob_types import (
    AssetType,
    BalanceAllowanceParams,
    CreateOrderOptions,
    OrderArgs,
    OrderType,
    RequestArgs,
)
from py_clob_client_v2.config import get_contract_config
from py_clob_client_v2.exceptions import PolyApiException
from py_clob_client_v2.headers.headers import create_level_2_headers
from py_clob_client_v2.order_builder.builder import OrderBuilder

from tests.conformance.polymarket_support import (
    OPTS,
    YES,
    Venue,
    l2_client,
    opened_venue,
    private_key,
)


@pytest.fixture(scope="module")
def venue() -> Iterator[Venue]:
    with opened_venue() as opened:
        yield opened


def post(client: ClobClient, price: float, size: float = 10, *, post_only: bool = True,
         order_type: str = OrderType.GTC, mutate: Callable[[Any], None] | None = None
         ) -> tuple[int | None, Any]:
    """Post one BUY YES; return (status, error body) of the reject, or (200, response)."""
    signed = client.create_order(OrderArgs(token_id=YES, price=price, size=size, side="BUY"),
                                 OPTS)
    if mutate is not None:
        mutate(signed)
    try:
        return 200, client.post_order(signed, order_type, post_only=post_only)
    except PolyApiException as exc:
        return exc.status_code, exc.error_msg


def wrong_signature(v: Venue) -> tuple[int | None, Any]:
    def flip(order: Any) -> None:
        sig = bytearray(bytes.fromhex(order.signature.removeprefix("0x")))
        sig[10] ^= 0xFF
        order.signature = "0x" + sig.hex()
    return post(v.maker, 0.40, mutate=flip)


def wrong_maker_eoa(v: Venue) -> tuple[int | None, Any]:
    """Signature type 0 with a funder that is not the signer: Signatures.sol refuses it."""
    other = l2_client(v.sim.url, private_key("eoa-funder"), signature_type=0,
                      funder=v.safe_signer)
    return post(other, 0.40)


def wrong_maker_safe(v: Venue) -> tuple[int | None, Any]:
    """Signature type 2 naming the signer itself as the Safe."""
    key = private_key("bad-safe")
    client = ClobClient(v.sim.url, chain_id=137, key=key, signature_type=2)
    client.set_api_creds(client.create_or_derive_api_key())
    return post(client, 0.40)


def off_tick_price(v: Venue) -> tuple[int | None, Any]:
    """Signed on a 0.001 grid by the SDK's own order builder (the client refuses it locally)."""
    builder = OrderBuilder(v.maker.signer)
    signed = builder.build_order(OrderArgs(token_id=YES, price=0.405, size=10, side="BUY"),
                                 CreateOrderOptions(tick_size="0.001", neg_risk=False))
    try:
        return 200, v.maker.post_order(signed, OrderType.GTC, post_only=True)
    except PolyApiException as exc:
        return exc.status_code, exc.error_msg


def below_min_size(v: Venue) -> tuple[int | None, Any]:
    return post(v.maker, 0.40, size=4)


def crossing_post_only(v: Venue) -> tuple[int | None, Any]:
    return post(v.maker, 0.60)


def duplicate_order(v: Venue) -> tuple[int | None, Any]:
    signed = v.maker.create_order(OrderArgs(token_id=YES, price=0.39, size=5, side="BUY"), OPTS)
    first = v.maker.post_order(signed, OrderType.GTC, post_only=True)
    assert first["status"] == "live"
    try:
        return 200, v.maker.post_order(signed, OrderType.GTC, post_only=True)
    except PolyApiException as exc:
        return exc.status_code, exc.error_msg
    finally:
        v.maker.cancel_all()


def _l2_get(v: Venue, timestamp: int | None, drop: str = "") -> tuple[int | None, Any]:
    args = RequestArgs(method="GET", request_path="/data/orders")
    headers = create_level_2_headers(v.maker.signer, v.maker.creds, args, timestamp=timestamp)
    headers.pop(drop, None)
    resp = httpx.get(f"{v.sim.url}/data/orders", headers=headers)
    return resp.status_code, json.loads(resp.text)


def stale_l2_timestamp(v: Venue) -> tuple[int | None, Any]:
    return _l2_get(v, int(time.time()) - 600)


def missing_l2_timestamp(v: Venue) -> tuple[int | None, Any]:
    return _l2_get(v, None, drop="POLY_TIMESTAMP")


def unapproved_wallet(v: Venue) -> tuple[int | None, Any]:
    """A wallet whose collateral is not approved for the exchange (`/_sim/approve` with 0,
    as an on-chain approval of 0): its balance-allowance answer says 0 for that spender,
    and the venue refuses its BUY."""
    client = l2_client(v.sim.url, private_key("unapproved"))
    exchange = get_contract_config(137).exchange_v2
    httpx.post(f"{v.sim.url}/_sim/approve", timeout=5, json={
        "address": client.get_address(), "spender": exchange, "amount_usd": 0,
    }).raise_for_status()
    cash = client.get_balance_allowance(BalanceAllowanceParams(asset_type=AssetType.COLLATERAL))
    assert int(cash["balance"]) > 0 and cash["allowances"][exchange] == "0", cash
    return post(client, 0.40)


INVALID_SIGNATURE = (400, {"error": "invalid signature"})
UNAUTHORIZED = (401, {"error": "Unauthorized/Invalid api key"})

CASES: list[tuple[Callable[[Venue], tuple[int | None, Any]], tuple[int, Any]]] = [
    (wrong_signature, INVALID_SIGNATURE),
    (wrong_maker_eoa, INVALID_SIGNATURE),
    (wrong_maker_safe, INVALID_SIGNATURE),
    (off_tick_price, (400, "Price (0.405) breaks minimum tick size rule: 0.01")),
    (below_min_size, (400, "Size (4) lower than the minimum: 5")),
    (crossing_post_only, (400, {"error": "invalid post-only order: order crosses book"})),
    (duplicate_order, (400, "is invalid. Duplicated.")),
    (stale_l2_timestamp, UNAUTHORIZED),
    (missing_l2_timestamp, UNAUTHORIZED),
    (unapproved_wallet, (400, "not enough balance / allowance")),
]


@pytest.mark.parametrize(("case", "expected"), CASES, ids=[c.__name__ for c, _ in CASES])
def test_bad_request_gets_the_venue_answer(
    venue: Venue, case: Callable[[Venue], tuple[int | None, Any]], expected: tuple[int, Any]
) -> None:
    status, body = case(venue)
    want_status, want_body = expected
    assert status == want_status, body
    if isinstance(want_body, str):  # the text names the order id: match the stable part
        assert isinstance(body, dict) and want_body in body["error"], body
    else:
        assert body == want_body
    assert venue.maker.get_open_orders() == []
