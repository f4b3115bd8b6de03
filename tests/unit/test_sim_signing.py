"""Signed-order decoding, hashing and key derivation of the venue simulator, pinned to the SDK."""

from __future__ import annotations

import time

import msgspec
import pytest
from eth_account import Account
from eth_utils import keccak
from py_clob_client_v2.clob_types import (
    ApiCreds,
    CreateOrderOptions,
    MarketOrderArgs,
    OrderArgs,
    RequestArgs,
)
from py_clob_client_v2.headers.headers import create_level_1_headers, create_level_2_headers
from py_clob_client_v2.order_builder.builder import OrderBuilder
from py_clob_client_v2.order_utils.exchange_order_builder_v2 import ExchangeOrderBuilderV2
from py_clob_client_v2.order_utils.model.order_data_v2 import order_to_json_v2
from py_clob_client_v2.signer import Signer

from common.config import SimFlowConfig
from services.venue_sim.accounts import AuthFailed, Heartbeats, KeyStore
from services.venue_sim.engine import Engine, OrderRejected, SimMarket, Traded
from services.venue_sim.flow import Flow
from services.venue_sim.signing import (
    EXCHANGE_V2,
    NEG_RISK_EXCHANGE_V2,
    SendOrder,
    checked_hash,
    order_hash,
    price_and_size,
)

KEY = "0x" + keccak(text="pmm-signing-test").hex()
TOKEN = "71321045679252212594626385532706912750332728571942532289631379312455583992563"


def sdk_order(price: float, size: float, side: str, *, neg_risk: bool = False,
              tick: str = "0.01") -> SendOrder:
    builder = OrderBuilder(Signer(KEY, 137))
    signed = builder.build_order(OrderArgs(token_id=TOKEN, price=price, size=size, side=side),
                                 CreateOrderOptions(tick_size=tick, neg_risk=neg_risk))
    return msgspec.convert(order_to_json_v2(signed, "owner", "GTC"), SendOrder)


@pytest.mark.parametrize("neg_risk", [False, True])
def test_order_hash_equals_the_sdk_typed_data_hash(neg_risk: bool) -> None:
    send = sdk_order(0.57, 12.5, "SELL", neg_risk=neg_risk)
    contract = NEG_RISK_EXCHANGE_V2 if neg_risk else EXCHANGE_V2
    sdk = ExchangeOrderBuilderV2(contract, 137, Signer(KEY, 137))
    typed = sdk.build_order_typed_data(_as_sdk_order(send))
    assert "0x" + order_hash(send.order, neg_risk=neg_risk).hex() == sdk.build_order_hash(typed)
    assert checked_hash(send.order, neg_risk=neg_risk, verify=True) == sdk.build_order_hash(typed)
    # the wrong exchange (neg-risk flag) gives another digest, so recovery finds another signer
    with pytest.raises(OrderRejected, match="invalid signature"):
        checked_hash(send.order, neg_risk=not neg_risk, verify=True)


def _as_sdk_order(send: SendOrder):  # type: ignore[no-untyped-def]
    from py_clob_client_v2.order_utils.model.order_data_v2 import OrderV2

    o = send.order
    return OrderV2(
        salt=str(o.salt), maker=o.maker, signer=o.signer, tokenId=o.tokenId,
        makerAmount=o.makerAmount, takerAmount=o.takerAmount, side=0 if o.side == "BUY" else 1,
        signatureType=o.signatureType, timestamp=o.timestamp, metadata=o.metadata,
        builder=o.builder, expiration=o.expiration,
    )


def test_tampered_amounts_fail_signature_check() -> None:
    send = sdk_order(0.4, 10, "BUY")
    forged = msgspec.structs.replace(send.order, makerAmount=str(int(send.order.makerAmount) // 2))
    with pytest.raises(OrderRejected, match="invalid signature"):
        checked_hash(forged, neg_risk=False, verify=True)
    checked_hash(forged, neg_risk=False, verify=False)  # verification off: accepted


@pytest.mark.parametrize(
    ("price", "size", "side", "tick", "expected"),
    [
        (0.57, 12.5, "BUY", "0.01", (5700, 1250)),
        (0.57, 12.5, "SELL", "0.01", (5700, 1250)),
        (0.035, 100, "BUY", "0.001", (350, 10_000)),
        (0.01, 5, "SELL", "0.01", (100, 500)),
        (0.99, 123.45, "BUY", "0.01", (9900, 12_345)),
    ],
)
def test_amounts_convert_back_to_exact_price_and_size(
    price: float, size: float, side: str, tick: str, expected: tuple[int, int]
) -> None:
    assert price_and_size(sdk_order(price, size, side, tick=tick).order, "GTC") == expected


def test_market_order_amounts_round_to_nearest_pip() -> None:
    builder = OrderBuilder(Signer(KEY, 137))
    signed = builder.build_market_order(
        MarketOrderArgs(token_id=TOKEN, amount=10, side="BUY", price=0.55),
        CreateOrderOptions(tick_size="0.01", neg_risk=False),
    )
    send = msgspec.convert(order_to_json_v2(signed, "owner", "FOK"), SendOrder)
    assert price_and_size(send.order, "FOK") == (5500, 1818)
    with pytest.raises(OrderRejected, match="not on the 0.0001 / 0.01 grid"):
        price_and_size(send.order, "GTC")


def test_l1_and_l2_headers_from_the_sdk_verify() -> None:
    keys = KeyStore(seed=3)
    signer = Signer(KEY, 137)
    now = int(time.time())
    address, nonce = keys.verify_l1(create_level_1_headers(signer, nonce=4, timestamp=now), now)
    assert (address, nonce) == (signer.address(), 4)
    key = keys.derive(address, nonce)
    assert keys.derive(address, nonce) == key and KeyStore(seed=3).derive(address, 4) == key
    assert KeyStore(seed=4).derive(address, 4).secret != key.secret
    creds = ApiCreds(key.api_key, key.secret, key.passphrase)
    body = '{"orderID":"0xabc","note":"it\'s"}'
    args = RequestArgs(method="DELETE", request_path="/order", body=None, serialized_body=body)
    headers = create_level_2_headers(signer, creds, args, timestamp=now)
    assert keys.verify_l2(headers, "DELETE", "/order", body, now) == key
    for bad in (
        ("DELETE", "/order", body, now + 31),  # outside the 30 s window
        ("POST", "/order", body, now),
        ("DELETE", "/orders", body, now),
        ("DELETE", "/order", body + " ", now),
    ):
        with pytest.raises(AuthFailed):
            keys.verify_l2(headers, *bad)
    other = Account.create()
    with pytest.raises(AuthFailed):
        keys.verify_l1(create_level_1_headers(signer, timestamp=now) | {
            "POLY_ADDRESS": other.address}, now)


def test_heartbeat_chain() -> None:
    hb = Heartbeats(timeout_ms=1000, seed=1)
    ok, first = hb.beat("a", "", 0)
    assert ok
    assert hb.beat("a", "wrong", 10) == (False, first)
    ok, second = hb.beat("a", first, 500)
    assert ok and second != first
    assert hb.expired(1499) == []
    assert hb.expired(1500) == ["a"]
    assert hb.beat("a", "anything", 2000)[0]  # a lapsed chain starts afresh


def _run_flow(seed: int, steps: int) -> tuple[dict, list]:
    market = SimMarket(condition_id="c", yes_token="y", no_token="n", tick=100, min_size=500,
                       start_probability=0.4)
    engine = Engine([market], clock_ms=lambda: 0, id_seed=seed)
    flow = Flow(engine, SimFlowConfig(noise_rate_hz=20, informed_rate_hz=5, step_ms=100), seed)
    for _ in range(steps):
        flow.step()
    trades = [(e.trade.id, e.trade.yes_price, e.trade.size)
              for e in engine.drain() if isinstance(e, Traded)]
    return dict(flow.true_p), [engine.depth("c"), engine.last_trade.get("c"), trades]


def test_flow_is_reproducible_for_a_seed_and_keeps_a_two_sided_book() -> None:
    a, b, c = _run_flow(5, 300), _run_flow(5, 300), _run_flow(6, 300)
    assert a == b
    assert a != c
    (bids, asks), last, trades = a[1]
    assert 3 <= len(bids) <= 5 and 3 <= len(asks) <= 5 and bids[0][0] < asks[0][0]
    assert last is not None and len(trades) > 100  # noise and informed traders traded
