"""Signed CLOB V2 orders as the SDK sends them: decode, hash (EIP-712), verify, convert.

The hash is computed by hand (fixed-width ABI words + keccak), which is what
py_clob_client_v2's ExchangeOrderBuilderV2.build_order_hash computes through
eth_account's typed-data encoder, only several times faster; a unit test pins the two
together. Recovery uses eth_account (coincurve backend when installed).
"""

from __future__ import annotations

from typing import Literal

import msgspec
from eth_account import Account
from eth_utils import keccak

from common.prices import PRICE_SCALE
from services.venue_sim.model import EXCHANGE_V2, NEG_RISK_EXCHANGE_V2, OrderRejected
from services.venue_sim.wallets import (
    EOA,
    POLY_1271,
    POLY_GNOSIS_SAFE,
    POLY_PROXY,
    maker_allowed,
)

__all__ = [
    "AMOUNT_SCALE", "CHAIN_ID", "EXCHANGE_V2", "INVALID_SIGNATURE", "NEG_RISK_EXCHANGE_V2",
    "SHARES_PER_CENTI", "SendOrder", "SignedOrder", "checked_hash", "order_hash", "price_and_size",
    "send_order_decoder",
]

CHAIN_ID = 137
AMOUNT_SCALE = 1_000_000
"""Signed amounts carry 6 decimals (pUSD and conditional tokens)."""
SHARES_PER_CENTI = AMOUNT_SCALE // 100
INVALID_SIGNATURE = "invalid signature"
"""The venue's answer to a bad signature and to a maker the signer may not sign for."""

_ORDER_TYPE_HASH = keccak(
    text=(
        "Order(uint256 salt,address maker,address signer,uint256 tokenId,"
        "uint256 makerAmount,uint256 takerAmount,uint8 side,uint8 signatureType,"
        "uint256 timestamp,bytes32 metadata,bytes32 builder)"
    )
)
_DOMAIN_TYPE_HASH = keccak(
    text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)


class SignedOrder(msgspec.Struct, kw_only=True):
    salt: int
    maker: str
    signer: str
    tokenId: str
    makerAmount: str
    takerAmount: str
    side: Literal["BUY", "SELL"]
    signatureType: int = 0
    timestamp: str = "0"
    expiration: str = "0"
    metadata: str = "0x" + "0" * 64
    builder: str = "0x" + "0" * 64
    signature: str


class SendOrder(msgspec.Struct, kw_only=True):
    order: SignedOrder
    owner: str
    orderType: Literal["GTC", "GTD", "FOK", "FAK"] = "GTC"
    postOnly: bool = False
    deferExec: bool = False


send_order_decoder = msgspec.json.Decoder(SendOrder)
send_orders_decoder = msgspec.json.Decoder(list[SendOrder])


def _domain_separator(contract: str) -> bytes:
    return keccak(
        _DOMAIN_TYPE_HASH
        + keccak(text="Polymarket CTF Exchange")
        + keccak(text="2")
        + CHAIN_ID.to_bytes(32, "big")
        + _address_word(contract)
    )


def _address_word(address: str) -> bytes:
    raw = bytes.fromhex(address[2:] if address.startswith(("0x", "0X")) else address)
    if len(raw) != 20:
        raise ValueError(f"not an address: {address!r}")
    return bytes(12) + raw


def _uint_word(value: int) -> bytes:
    if value < 0 or value >= 1 << 256:
        raise ValueError("uint256 out of range")
    return value.to_bytes(32, "big")


def _bytes32_word(text: str) -> bytes:
    raw = bytes.fromhex(text[2:] if text.startswith("0x") else text)
    if len(raw) > 32:
        raise ValueError("bytes32 too long")
    return raw.rjust(32, b"\0")


DOMAINS = {False: _domain_separator(EXCHANGE_V2), True: _domain_separator(NEG_RISK_EXCHANGE_V2)}


def order_hash(order: SignedOrder, *, neg_risk: bool) -> bytes:
    """The EIP-712 digest of a V2 order: what the venue returns as orderID."""
    struct = keccak(
        _ORDER_TYPE_HASH
        + _uint_word(order.salt)
        + _address_word(order.maker)
        + _address_word(order.signer)
        + _uint_word(int(order.tokenId))
        + _uint_word(int(order.makerAmount))
        + _uint_word(int(order.takerAmount))
        + _uint_word(0 if order.side == "BUY" else 1)
        + _uint_word(order.signatureType)
        + _uint_word(int(order.timestamp))
        + _bytes32_word(order.metadata)
        + _bytes32_word(order.builder)
    )
    return keccak(b"\x19\x01" + DOMAINS[neg_risk] + struct)


def checked_hash(order: SignedOrder, *, neg_risk: bool, verify: bool) -> str:
    """Return the order id; raise OrderRejected if the payload or the signature is bad.

    The exchange contract's wallet rule (wallets.maker_allowed) is always checked; the
    ECDSA recovery only when `verify`. Both failures get the venue's one answer,
    400 `invalid signature`, as the contract reverts InvalidSignature for either.
    """
    try:
        digest = order_hash(order, neg_risk=neg_risk)
    except ValueError as exc:
        raise OrderRejected(f"Invalid order payload: {exc}") from exc
    order_id = "0x" + digest.hex()
    if order.signatureType == POLY_1271:
        raise OrderRejected("Invalid order payload: POLY_1271 signatures are not simulated")
    if order.signatureType not in (EOA, POLY_PROXY, POLY_GNOSIS_SAFE):
        raise OrderRejected("Invalid order payload: unknown signatureType")
    if not maker_allowed(order.signer, order.maker, order.signatureType):
        raise OrderRejected(INVALID_SIGNATURE)
    if verify:
        try:
            sig = bytes.fromhex(order.signature.removeprefix("0x"))
            recovered = Account._recover_hash(digest, signature=sig)
        except Exception as exc:  # eth_keys raises several unrelated types on bad input
            raise OrderRejected(INVALID_SIGNATURE) from exc
        if recovered.lower() != order.signer.lower():
            raise OrderRejected(INVALID_SIGNATURE)
    return order_id


def price_and_size(order: SignedOrder, order_type: str) -> tuple[int, int]:
    """Pips and centi-contracts from the signed amounts.

    BUY: price = maker / taker, size = taker; SELL: price = taker / maker, size = maker.
    Limit orders must be exact; marketable FOK/FAK orders (whose amounts the SDK rounds
    from a dollar amount) get the nearest pip and whole centi-contracts.
    """
    try:
        maker, taker = int(order.makerAmount), int(order.takerAmount)
    except ValueError as exc:
        raise OrderRejected("Invalid order payload: amounts must be integers") from exc
    shares, usd = (taker, maker) if order.side == "BUY" else (maker, taker)
    if shares <= 0 or usd <= 0:
        raise OrderRejected("Invalid order payload: amounts must be positive")
    num = usd * PRICE_SCALE
    if num % shares == 0 and shares % SHARES_PER_CENTI == 0:
        return num // shares, shares // SHARES_PER_CENTI
    if order_type in ("FOK", "FAK"):
        return (2 * num + shares) // (2 * shares), shares // SHARES_PER_CENTI
    price = format(usd / shares, ".6f").rstrip("0")
    raise OrderRejected(
        f"Invalid order payload: amounts imply price {price} and size "
        f"{shares / AMOUNT_SCALE}, which are not on the 0.0001 / 0.01 grid"
    )
