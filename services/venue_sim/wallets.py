"""Which maker (funder) address a signer may sign for: the exchange contract's wallet rules.

The CTF exchange (`Signatures.sol`) accepts an order only if
- signature type 0 (EOA): maker == signer;
- type 1 (POLY_PROXY): maker == the signer's Polymarket proxy wallet;
- type 2 (POLY_GNOSIS_SAFE): maker == the signer's Polymarket Gnosis Safe;
and answers anything else as an invalid signature. Both wallets are CREATE2 addresses
of Polymarket's factories on Polygon, so they follow from the signer alone:
proxy salt = keccak(signer as 20 packed bytes), Safe salt = keccak(signer as one 32-byte
ABI word). Factories and init-code hashes are those of Polymarket's builder-relayer client
(PolyProxyLib/PolySafeLib in ctf-exchange compute the same addresses on chain).
"""

from __future__ import annotations

from eth_utils import keccak, to_checksum_address

__all__ = [
    "EOA", "POLY_1271", "POLY_GNOSIS_SAFE", "POLY_PROXY", "funder_of", "maker_allowed",
    "proxy_wallet", "safe_wallet",
]

EOA = 0
POLY_PROXY = 1
POLY_GNOSIS_SAFE = 2
POLY_1271 = 3

PROXY_FACTORY = "0xaB45c5A4B0c941a2F231C04C3f49182e1A254052"
PROXY_INIT_CODE_HASH = bytes.fromhex(
    "d21df8dc65880a8606f09fe0ce3df9b8869287ab0b058be05aa9e8af6330a00b")
SAFE_FACTORY = "0xaacFeEa03eb1561C4e67d661e40682Bd20E3541b"
SAFE_INIT_CODE_HASH = bytes.fromhex(
    "2bce2127ff07fb632d16c8347c4ebf501f4841168bed00d9e6ef715ddb6fcecf")


def _raw(address: str) -> bytes:
    raw = bytes.fromhex(address.removeprefix("0x").removeprefix("0X"))
    if len(raw) != 20:
        raise ValueError(f"not an address: {address!r}")
    return raw


def _create2(factory: str, salt: bytes, init_code_hash: bytes) -> str:
    digest = keccak(b"\xff" + _raw(factory) + salt + init_code_hash)
    return to_checksum_address(digest[12:])


def proxy_wallet(signer: str) -> str:
    """The signer's Polymarket proxy wallet (email / Magic accounts)."""
    return _create2(PROXY_FACTORY, keccak(_raw(signer)), PROXY_INIT_CODE_HASH)


def safe_wallet(signer: str) -> str:
    """The signer's Polymarket Gnosis Safe (browser-wallet accounts)."""
    return _create2(SAFE_FACTORY, keccak(bytes(12) + _raw(signer)), SAFE_INIT_CODE_HASH)


def funder_of(signer: str, signature_type: int) -> str | None:
    """The only maker `signer` may sign for with `signature_type`; None if not simulated."""
    if signature_type == EOA:
        return to_checksum_address(signer)
    if signature_type == POLY_PROXY:
        return proxy_wallet(signer)
    if signature_type == POLY_GNOSIS_SAFE:
        return safe_wallet(signer)
    return None


def maker_allowed(signer: str, maker: str, signature_type: int) -> bool:
    """True if the exchange contract would accept `maker` for this signer and type."""
    funder = funder_of(signer, signature_type)
    return funder is not None and funder.lower() == maker.lower()
