"""Fast Polymarket CTF Exchange V2 order signing: EIP-712 by hand over libsecp256k1.

py-clob-client-v2 signs an order by building a typed-data dict, re-parsing it through
eth_account's generic EIP-712 encoder and signing through eth_keys: ~650 us per order
here. The V2 order has one fixed shape, so this module precomputes everything constant
(type hash, domain separators, the signer's address words) and per order does only
two keccaks over fixed-layout bytes and one recoverable ECDSA signature with coincurve
(the same libsecp256k1 RFC 6979 signer eth_keys uses when coincurve is installed), so
signatures are byte-identical to the SDK's for the same salt and timestamp.

Amounts are computed exactly from integer pips and centi-contracts. The SDK goes
through floats and `floor(size * 100) / 100`, which truncates about 5% of two-decimal
sizes by one centi-contract (0.29 -> 0.28, 1.13 -> 1.12); for every other order the
amounts, and so the signatures, are identical. See tests/unit/test_pm_signer.py.

Pure: no I/O, no globals beyond immutable constants; the clock and the salt RNG are
injected. Thread-safe (the executor signs from a thread pool).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Literal

from coincurve import PrivateKey
from eth_account import Account
from py_clob_client_v2.config import get_contract_config
from py_clob_client_v2.order_utils.model.order_data_v2 import SignedOrderV2
from py_clob_client_v2.order_utils.model.side import Side
from py_clob_client_v2.order_utils.model.signature_type_v2 import SignatureTypeV2

from common.prices import ONE_DOLLAR

__all__ = [
    "DOMAIN_NAME", "DOMAIN_TYPE_STRING", "ORDER_TYPE_HASH", "ORDER_TYPE_STRING",
    "POLYMARKET_TICKS", "SOLADY_TYPE_HASH", "SOLADY_TYPE_STRING", "TOKEN_SCALE", "ZERO32_HEX",
    "OrderSigner", "domain_separator", "keccak256", "order_amounts",
]

ZERO32_HEX = "0x" + "00" * 32
ORDER_TYPE_STRING = (
    "Order(uint256 salt,address maker,address signer,uint256 tokenId,"
    "uint256 makerAmount,uint256 takerAmount,uint8 side,uint8 signatureType,"
    "uint256 timestamp,bytes32 metadata,bytes32 builder)"
)
DOMAIN_TYPE_STRING = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
SOLADY_TYPE_STRING = (
    "TypedDataSign(Order contents,string name,string version,uint256 chainId,"
    "address verifyingContract,bytes32 salt)" + ORDER_TYPE_STRING
)
DOMAIN_NAME = "Polymarket CTF Exchange"
TOKEN_SCALE = 10_000
"""Token base units (1e-6 of a contract) per centi-contract."""
POLYMARKET_TICKS = frozenset({1000, 100, 50, 25, 10, 1})
"""0.1, 0.01, 0.005, 0.0025, 0.001, 0.0001 in pips: the SDK's ROUNDING_CONFIG keys."""


def _keccak_fallback() -> Callable[[bytes], bytes]:
    from Crypto.Hash import keccak as _k

    def digest(data: bytes) -> bytes:
        return bytes(_k.new(data=data, digest_bits=256).digest())

    return digest


def _keccak_raw() -> Callable[[bytes], bytes]:
    """keccak256 over pycryptodome's C core, one reusable state per thread (~2x faster).

    Uses pycryptodome's internal library handle; any change there falls back to the
    public API (checked against a known vector at import).
    """
    # pycryptodome's private C bindings (untyped): see the docstring for why and the check
    from Crypto.Hash.keccak import _raw_keccak_lib as lib  # type: ignore[attr-defined]
    from Crypto.Util._raw_api import (  # type: ignore[attr-defined]
        VoidPointer,
        c_size_t,
        c_ubyte,
        create_string_buffer,
    )

    local = threading.local()

    def state() -> tuple[object, object, object]:
        holder = VoidPointer()
        if lib.keccak_init(holder.address_of(), c_size_t(64), c_ubyte(24)):
            raise RuntimeError("keccak_init failed")
        st = (holder, holder.get(), create_string_buffer(32))  # type: ignore[call-arg]
        local.st = st
        return st

    def digest(data: bytes) -> bytes:
        try:
            _, p, buf = local.st
        except AttributeError:
            _, p, buf = state()
        lib.keccak_reset(p)
        lib.keccak_absorb(p, data, len(data))
        lib.keccak_digest(p, buf, 32, 1)
        return bytes(buf)

    return digest


def _pick_keccak() -> Callable[[bytes], bytes]:
    empty = bytes.fromhex("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")
    try:
        fast = _keccak_raw()
        if fast(b"") == empty and fast(b"") == empty:
            return fast
    except (ImportError, AttributeError, RuntimeError, TypeError):
        pass
    return _keccak_fallback()


keccak256: Callable[[bytes], bytes] = _pick_keccak()
ORDER_TYPE_HASH = keccak256(ORDER_TYPE_STRING.encode())
SOLADY_TYPE_HASH = keccak256(SOLADY_TYPE_STRING.encode())
_CONTENTS_TYPE_SUFFIX = ORDER_TYPE_STRING.encode().hex() + len(ORDER_TYPE_STRING).to_bytes(2, "big").hex()


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _address_word(address: str) -> bytes:
    raw = bytes.fromhex(address.removeprefix("0x").removeprefix("0X"))
    if len(raw) != 20:
        raise ValueError(f"not a 20-byte address: {address!r}")
    return b"\x00" * 12 + raw


def _bytes32(hex_str: str) -> bytes:
    return bytes.fromhex(hex_str.removeprefix("0x").zfill(64))


def domain_separator(chain_id: int, contract: str, version: str = "2") -> bytes:
    """The EIP-712 domain separator of a CTF Exchange contract."""
    return keccak256(
        keccak256(DOMAIN_TYPE_STRING.encode()) + keccak256(DOMAIN_NAME.encode())
        + keccak256(version.encode()) + _word(chain_id) + _address_word(contract)
    )


def order_amounts(price: int, size: int, side: Literal["BUY", "SELL"]) -> tuple[int, int]:
    """(makerAmount, takerAmount) in 1e-6 units for price in pips and size in centi-contracts.

    BUY gives collateral (price x size) for tokens; SELL gives tokens for collateral.
    pips x centi is already micro-dollars, and a centi-contract is 10,000 token units.
    """
    collateral, tokens = price * size, size * TOKEN_SCALE
    return (collateral, tokens) if side == "BUY" else (tokens, collateral)


class OrderSigner:
    """Signs CTF Exchange V2 limit orders for one key, like py-clob-client-v2's builder.

    `signature_type` 0 (EOA), 1 (POLY_PROXY), 2 (POLY_GNOSIS_SAFE) or 3 (POLY_1271);
    `funder` is the maker address (defaults to the key's address; for POLY_1271 it is
    also the signer). `rng` draws salts the SDK's way, `clock_ns` (unix ns) gives the
    order timestamp; inject both for deterministic tests.
    """

    def __init__(
        self,
        private_key: str | bytes,
        *,
        chain_id: int,
        signature_type: int = 0,
        funder: str = "",
        domain_version: str = "2",
        rng: random.Random | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        key = bytes.fromhex(private_key.removeprefix("0x")) if isinstance(private_key, str) else private_key
        self._key = PrivateKey(key)
        self._sign_hash = self._key.sign_recoverable
        self.address: str = Account.from_key(key).address
        if signature_type not in (0, 1, 2, 3):
            raise ValueError(f"signature_type must be 0..3, got {signature_type}")
        self.signature_type = SignatureTypeV2(signature_type)
        self.maker: str = funder or self.address
        self.signer: str = self.maker if signature_type == 3 else self.address
        contracts = get_contract_config(chain_id)
        self.chain_id = chain_id
        self._domain = {
            neg: domain_separator(
                chain_id, contracts.neg_risk_exchange_v2 if neg else contracts.exchange_v2,
                domain_version)
            for neg in (False, True)
        }
        self._prefix = {neg: b"\x19\x01" + d for neg, d in self._domain.items()}
        self._maker_signer = _address_word(self.maker) + _address_word(self.signer)
        self._sigtype_word = _word(signature_type)
        self._side_words = {Side.BUY: _word(0), Side.SELL: _word(1)}
        self._solady_tail = (
            keccak256(b"DepositWallet") + keccak256(b"1") + _word(chain_id)
            + _address_word(self.signer) + b"\x00" * 32
        )
        self._rng = rng or random.Random()
        self._clock_ns = clock_ns
        self._token_words: dict[str, bytes] = {}

    def _token_word(self, token_id: str) -> bytes:
        word = self._token_words.get(token_id)
        if word is None:
            word = _word(int(token_id))
            if len(self._token_words) < 100_000:
                self._token_words[token_id] = word
        return word

    def salt(self, now_ms: int) -> int:
        """A salt drawn as the SDK draws it: uniform in [0, now in ms)."""
        return int(self._rng.random() * now_ms)

    def sign(
        self,
        token_id: str,
        price: int,
        size: int,
        side: Literal["BUY", "SELL"] = "BUY",
        *,
        tick: int,
        neg_risk: bool,
        salt: int | None = None,
        timestamp_ms: int | None = None,
    ) -> SignedOrderV2:
        """Sign a limit order at `price` pips for `size` centi-contracts.

        Raises ValueError for a price off the tick grid or outside [tick, 1 - tick],
        a non-positive size or an unknown tick, before anything is signed.
        """
        if tick not in POLYMARKET_TICKS:
            raise ValueError(f"tick {tick} pips is not a Polymarket tick size")
        if not (tick <= price <= ONE_DOLLAR - tick and price % tick == 0):
            raise ValueError(f"invalid price {price} pips for tick {tick}: min {tick}, max {ONE_DOLLAR - tick}")
        if size <= 0:
            raise ValueError(f"size must be positive, got {size} centi-contracts")
        maker_amount, taker_amount = order_amounts(price, size, side)
        return self.sign_amounts(
            token_id, maker_amount, taker_amount, Side.BUY if side == "BUY" else Side.SELL,
            neg_risk=neg_risk, salt=salt, timestamp_ms=timestamp_ms,
        )

    def struct_hash(self, salt: int, token_id: str, maker_amount: int, taker_amount: int,
                    side: Side, timestamp_ms: int, metadata: str = ZERO32_HEX,
                    builder: str = ZERO32_HEX) -> bytes:
        """keccak256 of the EIP-712 encoding of one Order struct."""
        return keccak256(
            ORDER_TYPE_HASH + _word(salt) + self._maker_signer + self._token_word(token_id)
            + _word(maker_amount) + _word(taker_amount) + self._side_words[side]
            + self._sigtype_word + _word(timestamp_ms)
            + (_bytes32(metadata) + _bytes32(builder) if metadata != ZERO32_HEX or builder != ZERO32_HEX
               else b"\x00" * 64)
        )

    def sign_amounts(
        self,
        token_id: str,
        maker_amount: int,
        taker_amount: int,
        side: Side,
        *,
        neg_risk: bool,
        salt: int | None = None,
        timestamp_ms: int | None = None,
        metadata: str = ZERO32_HEX,
        builder: str = ZERO32_HEX,
        expiration: str = "0",
    ) -> SignedOrderV2:
        """Sign an order given its raw amounts (the SDK's ExchangeOrderBuilderV2 step)."""
        if timestamp_ms is None:
            timestamp_ms = self._clock_ns() // 1_000_000
        if salt is None:
            salt = self.salt(timestamp_ms)
        struct = self.struct_hash(salt, token_id, maker_amount, taker_amount, side, timestamp_ms,
                                  metadata, builder)
        if self.signature_type == SignatureTypeV2.POLY_1271:
            signature = self._sign_1271(struct, neg_risk)
        else:
            raw = self._sign_hash(keccak256(self._prefix[neg_risk] + struct), hasher=None)
            signature = "0x" + raw[:64].hex() + format(raw[64] + 27, "02x")
        return SignedOrderV2(
            salt=str(salt), maker=self.maker, signer=self.signer, tokenId=token_id,
            makerAmount=str(maker_amount), takerAmount=str(taker_amount), side=side,
            signatureType=self.signature_type, timestamp=str(timestamp_ms),
            metadata=metadata, builder=builder, expiration=expiration, signature=signature,
        )

    def _sign_1271(self, contents: bytes, neg_risk: bool) -> str:
        wrapped = keccak256(SOLADY_TYPE_HASH + contents + self._solady_tail)
        raw = self._sign_hash(keccak256(self._prefix[neg_risk] + wrapped), hasher=None)
        return ("0x" + raw[:64].hex() + format(raw[64] + 27, "02x") + self._domain[neg_risk].hex()
                + contents.hex() + _CONTENTS_TYPE_SUFFIX)

    def order_hash(self, order: SignedOrderV2, *, neg_risk: bool) -> str:
        """The EIP-712 hash of an order this signer made: the id the venue gives it, known
        before posting."""
        struct = self.struct_hash(
            int(order.salt), order.tokenId, int(order.makerAmount), int(order.takerAmount),
            Side(order.side), int(order.timestamp), order.metadata, order.builder,
        )
        return "0x" + keccak256(self._prefix[neg_risk] + struct).hex()
