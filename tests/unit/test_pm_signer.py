"""The fast Polymarket signer against py-clob-client-v2's own builder, byte for byte.

Every comparison is with the installed SDK (no fakes): the EIP-712 core over arbitrary
amounts, and the whole price/size path through the SDK's OrderBuilder for on-tick prices,
both sides, neg-risk and every signature type.
"""

from __future__ import annotations

import dataclasses
import os
import random

import pytest
from eth_account import Account
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from py_clob_client_v2.clob_types import CreateOrderOptions, OrderArgsV2
from py_clob_client_v2.config import get_contract_config
from py_clob_client_v2.order_builder.builder import OrderBuilder
from py_clob_client_v2.order_utils.exchange_order_builder_v2 import ExchangeOrderBuilderV2
from py_clob_client_v2.order_utils.model.order_data_v2 import OrderDataV2
from py_clob_client_v2.order_utils.model.side import Side
from py_clob_client_v2.order_utils.model.signature_type_v2 import SignatureTypeV2
from py_clob_client_v2.signer import Signer

from common.prices import price_to_str, size_to_str
from services.executor import pm_signer
from services.executor.pm_signer import OrderSigner, order_amounts

SEED = int(os.environ.get("PMM_TEST_SEED", "9"))
_rng = random.Random(SEED)
KEYS = ["0x" + _rng.randbytes(32).hex() for _ in range(3)]
FUNDERS = [Account.from_key(_rng.randbytes(32)).address for _ in range(2)]
CHAIN = 137
CONTRACTS = get_contract_config(CHAIN)
TICKS = {1000: "0.1", 100: "0.01", 50: "0.005", 25: "0.0025", 10: "0.001", 1: "0.0001"}
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_ours: dict[tuple[str, int, str], OrderSigner] = {}


def ours(key: str, sig_type: int, funder: str) -> OrderSigner:
    k = (key, sig_type, funder)
    if k not in _ours:
        _ours[k] = OrderSigner(key, chain_id=CHAIN, signature_type=sig_type, funder=funder)
    return _ours[k]


def sdk_builder(key: str, sig_type: int, funder: str) -> OrderBuilder:
    return OrderBuilder(Signer(key, CHAIN), SignatureTypeV2(sig_type), funder or None)


@SETTINGS
@given(
    key=st.sampled_from(KEYS),
    sig_type=st.sampled_from([0, 1, 2, 3]),
    funder_i=st.integers(0, len(FUNDERS)),
    neg_risk=st.booleans(),
    side=st.sampled_from([Side.BUY, Side.SELL]),
    token=st.integers(0, 2**256 - 1),
    maker_amount=st.integers(0, 2**128),
    taker_amount=st.integers(0, 2**128),
    salt=st.integers(0, 2**64),
    timestamp_ms=st.integers(0, 2**48),
)
def test_core_identical_to_sdk_exchange_builder(
    key: str, sig_type: int, funder_i: int, neg_risk: bool, side: Side, token: int,
    maker_amount: int, taker_amount: int, salt: int, timestamp_ms: int,
) -> None:
    funder = FUNDERS[funder_i] if funder_i < len(FUNDERS) else ""
    if sig_type == 3:
        funder = funder or FUNDERS[0]  # POLY_1271 signs for a contract wallet
    signer = ours(key, sig_type, funder)
    contract = CONTRACTS.neg_risk_exchange_v2 if neg_risk else CONTRACTS.exchange_v2
    sdk = ExchangeOrderBuilderV2(contract, CHAIN, Signer(key, CHAIN), generate_salt=lambda: str(salt))
    want = sdk.build_signed_order(OrderDataV2(
        maker=signer.maker, tokenId=str(token), makerAmount=str(maker_amount),
        takerAmount=str(taker_amount), side=side, signer=signer.signer,
        signatureType=SignatureTypeV2(sig_type), timestamp=str(timestamp_ms),
    ))
    got = signer.sign_amounts(str(token), maker_amount, taker_amount, side, neg_risk=neg_risk,
                              salt=salt, timestamp_ms=timestamp_ms)
    assert dataclasses.asdict(got) == dataclasses.asdict(want)
    assert got.signature == want.signature
    assert signer.order_hash(got, neg_risk=neg_risk) == sdk.build_order_hash(
        sdk.build_order_typed_data(want))


def _sdk_order(key: str, sig_type: int, funder: str, token: str, price: int, size: int,
               side: str, tick: int, neg_risk: bool) -> object:
    args = OrderArgsV2(token_id=token, price=float(price_to_str(price)),
                       size=float(size_to_str(size)), side=side)
    return sdk_builder(key, sig_type, funder).build_order(
        args, CreateOrderOptions(tick_size=TICKS[tick], neg_risk=neg_risk))  # type: ignore[arg-type]


def _sdk_truncates(size: int) -> bool:
    """The SDK's float round_down(size, 2) loses a centi-contract for this size."""
    import math

    return math.floor(float(size_to_str(size)) * 100) != size


@SETTINGS
@given(
    data=st.data(),
    key=st.sampled_from(KEYS),
    sig_type=st.sampled_from([0, 1, 2]),
    with_funder=st.booleans(),
    neg_risk=st.booleans(),
    side=st.sampled_from(["BUY", "SELL"]),
    tick=st.sampled_from(sorted(TICKS)),
    token=st.integers(1, 2**256 - 1),
    size=st.integers(1, 10_000_000),
)
def test_full_path_identical_to_sdk_order_builder(
    data: st.DataObject, key: str, sig_type: int, with_funder: bool, neg_risk: bool, side: str,
    tick: int, token: int, size: int,
) -> None:
    assume(not _sdk_truncates(size))
    price = data.draw(st.integers(1, 10_000 // tick - 1)) * tick
    funder = FUNDERS[0] if with_funder else ""
    want = _sdk_order(key, sig_type, funder, str(token), price, size, side, tick, neg_risk)
    got = ours(key, sig_type, funder).sign(
        str(token), price, size, side, tick=tick, neg_risk=neg_risk,  # type: ignore[arg-type]
        salt=int(want.salt), timestamp_ms=int(want.timestamp),  # type: ignore[attr-defined]
    )
    assert dataclasses.asdict(got) == dataclasses.asdict(want)  # type: ignore[call-overload]


@pytest.mark.parametrize("size", [29, 57, 58, 113, 6407, 6421])
@pytest.mark.parametrize("side", ["BUY", "SELL"])
def test_sdk_float_truncation_is_the_only_difference(size: int, side: str) -> None:
    """Where the SDK's float maths loses a centi-contract, ours keeps the size asked for."""
    assert _sdk_truncates(size), f"the SDK handles size {size} exactly on this platform"
    key, token, price = KEYS[0], str(10**40 + 7), 4700
    want = _sdk_order(key, 0, "", token, price, size, side, 100, False)
    exact = ours(key, 0, "").sign(token, price, size, side, tick=100,  # type: ignore[arg-type]
                                  neg_risk=False, salt=int(want.salt),  # type: ignore[attr-defined]
                                  timestamp_ms=int(want.timestamp))  # type: ignore[attr-defined]
    assert (int(exact.makerAmount), int(exact.takerAmount)) == order_amounts(price, size, side)  # type: ignore[arg-type]
    one_less = ours(key, 0, "").sign(token, price, size - 1, side, tick=100,  # type: ignore[arg-type]
                                     neg_risk=False, salt=int(want.salt),  # type: ignore[attr-defined]
                                     timestamp_ms=int(want.timestamp))  # type: ignore[attr-defined]
    assert dataclasses.asdict(one_less) == dataclasses.asdict(want)  # type: ignore[call-overload]


def test_signature_recovers_to_the_signer() -> None:
    signer = ours(KEYS[1], 0, "")
    order = signer.sign(str(10**30), 5100, 5000, "BUY", tick=100, neg_risk=True)
    digest = bytes.fromhex(signer.order_hash(order, neg_risk=True)[2:])
    recovered = Account._recover_hash(digest, signature=bytes.fromhex(order.signature[2:]))
    assert recovered == signer.address == order.signer == order.maker


def test_salt_and_timestamp_come_from_injected_rng_and_clock() -> None:
    def make() -> OrderSigner:
        return OrderSigner(KEYS[0], chain_id=CHAIN, rng=random.Random(5),
                           clock_ns=lambda: 1_800_000_000_123_456_789)

    a = make().sign("12345", 4000, 1000, "BUY", tick=100, neg_risk=False)
    b = make().sign("12345", 4000, 1000, "BUY", tick=100, neg_risk=False)
    assert a == b
    assert a.timestamp == "1800000000123"
    assert 0 <= int(a.salt) < 1_800_000_000_123


@pytest.mark.parametrize(("price", "size", "tick"), [
    (0, 100, 100), (10_000, 100, 100), (4550, 100, 100), (9950, 100, 100), (5000, 0, 100),
    (5000, -5, 100), (5000, 100, 7),
])
def test_invalid_orders_are_refused_before_signing(price: int, size: int, tick: int) -> None:
    with pytest.raises(ValueError):
        ours(KEYS[0], 0, "").sign("1", price, size, "BUY", tick=tick, neg_risk=False)


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="signature_type"):
        OrderSigner(KEYS[0], chain_id=CHAIN, signature_type=4)
    with pytest.raises(ValueError, match="address"):
        OrderSigner(KEYS[0], chain_id=CHAIN, funder="0x1234")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_fast_keccak_matches_pycryptodome(data: bytes) -> None:
    assert pm_signer.keccak256(data) == pm_signer._keccak_fallback()(data)
