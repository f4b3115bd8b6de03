"""API keys (L1 EIP-712 derivation, L2 HMAC verification) and heartbeat chains."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
from collections.abc import Mapping
from dataclasses import dataclass

from eth_account import Account
from eth_utils import keccak

from common.errors import PmmError

__all__ = [
    "AUTH_CHAIN_IDS", "CLOB_AUTH_MESSAGE", "INTERNAL_OWNER_PREFIX", "L1_WINDOW_S", "L2_WINDOW_S",
    "ApiKey", "AuthFailed", "Heartbeats", "KeyStore", "clob_auth_digest", "hmac_signature",
]

CLOB_AUTH_MESSAGE = "This message attests that I control the given wallet"
L2_WINDOW_S = 30
L1_WINDOW_S = 300
AUTH_CHAIN_IDS = (137, 80002)

_AUTH_DOMAIN_TYPE = keccak(text="EIP712Domain(string name,string version,uint256 chainId)")
_CLOB_AUTH_TYPE = keccak(
    text="ClobAuth(address address,string timestamp,uint256 nonce,string message)"
)


INTERNAL_OWNER_PREFIX = "00000000-0000-4000-8000-"
"""Owner (API key) shown for the simulator's own traders, which have no key."""


class AuthFailed(PmmError):
    """A request failed L1 or L2 authentication (HTTP 401)."""


@dataclass(frozen=True, slots=True)
class ApiKey:
    address: str
    """Checksummed signer address the key belongs to."""
    api_key: str
    secret: str
    passphrase: str

    def creds(self) -> dict[str, str]:
        return {"apiKey": self.api_key, "secret": self.secret, "passphrase": self.passphrase}


def clob_auth_digest(address: str, timestamp: str, nonce: int, chain_id: int) -> bytes:
    domain = keccak(
        _AUTH_DOMAIN_TYPE
        + keccak(text="ClobAuthDomain")
        + keccak(text="1")
        + chain_id.to_bytes(32, "big")
    )
    struct = keccak(
        _CLOB_AUTH_TYPE
        + bytes(12) + bytes.fromhex(address[2:])
        + keccak(text=timestamp)
        + nonce.to_bytes(32, "big")
        + keccak(text=CLOB_AUTH_MESSAGE)
    )
    return keccak(b"\x19\x01" + domain + struct)


def hmac_signature(secret: str, timestamp: str, method: str, path: str, body: str) -> str:
    """The L2 signature exactly as py_clob_client_v2 builds it."""
    message = timestamp + method + path + body.replace("'", '"')
    digest = hmac.new(base64.urlsafe_b64decode(secret), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()


class KeyStore:
    """Deterministic API keys: the same address and nonce always get the same credentials."""

    def __init__(self, seed: int) -> None:
        self._root = hashlib.sha256(f"pmm-venue-sim:{seed}".encode()).digest()
        self.by_key: dict[str, ApiKey] = {}
        self.by_address: dict[str, ApiKey] = {}
        self._wallets: dict[str, list[str]] = {}
        """Signer (lower-case) -> the venue accounts (makers) its orders were booked to."""
        self._key_of_wallet: dict[str, ApiKey] = {}

    def _mac(self, label: str, address: str, nonce: int) -> bytes:
        msg = f"{label}|{address.lower()}|{nonce}".encode()
        return hmac.new(self._root, msg, hashlib.sha256).digest()

    def derive(self, address: str, nonce: int) -> ApiKey:
        """Return (registering on first use) the key of `address` for `nonce`."""
        raw = bytearray(self._mac("key", address, nonce)[:16])
        raw[6] = (raw[6] & 0x0F) | 0x40
        raw[8] = (raw[8] & 0x3F) | 0x80
        h = raw.hex()
        key = ApiKey(
            address=address,
            api_key=f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}",
            secret=base64.urlsafe_b64encode(self._mac("secret", address, nonce)).decode(),
            passphrase=self._mac("passphrase", address, nonce).hex(),
        )
        self.by_key[key.api_key] = key
        self.by_address.setdefault(address.lower(), key)
        return key

    def link(self, key: ApiKey, account: str) -> None:
        """Book `account` (a maker the key's signer may sign for) to the key from now on."""
        wallets = self._wallets.setdefault(key.address.lower(), [key.address])
        if account not in wallets:
            wallets.append(account)
        self._key_of_wallet.setdefault(account.lower(), key)

    def accounts_of(self, signer: str) -> list[str]:
        """Every venue account whose orders the signer's API keys see and cancel."""
        return list(self._wallets.get(signer.lower(), [signer]))

    def key_of_account(self, account: str) -> ApiKey | None:
        """The API key an account (signer or funder) is booked to, if any."""
        return self._key_of_wallet.get(account.lower()) or self.by_address.get(account.lower())

    def owner_of(self, address: str) -> str:
        """The owner (API key) the wire shows for an account: its key, or a synthetic one."""
        key = self.key_of_account(address)
        if key is not None:
            return key.api_key
        return INTERNAL_OWNER_PREFIX + address[-12:]

    def owners(self, *addresses: str) -> dict[str, str]:
        return {a: self.owner_of(a) for a in addresses}

    def verify_l1(self, headers: Mapping[str, str], now_s: int) -> tuple[str, int]:
        """Check L1 headers; return (checksummed address, nonce)."""
        try:
            address = headers["POLY_ADDRESS"]
            signature = bytes.fromhex(headers["POLY_SIGNATURE"].removeprefix("0x"))
            timestamp = headers["POLY_TIMESTAMP"]
            nonce = int(headers.get("POLY_NONCE", "0"))
            ts = int(timestamp)
        except (KeyError, ValueError) as exc:
            raise AuthFailed("Invalid L1 Request headers") from exc
        if abs(now_s - ts) > L1_WINDOW_S or nonce < 0 or len(address) != 42:
            raise AuthFailed("Invalid L1 Request headers")
        for chain_id in AUTH_CHAIN_IDS:
            try:
                digest = clob_auth_digest(address, timestamp, nonce, chain_id)
                recovered = Account._recover_hash(digest, signature=signature)
            except Exception as exc:  # bad hex / bad signature bytes from eth_keys
                raise AuthFailed("Invalid L1 Request headers") from exc
            if recovered.lower() == address.lower():
                return recovered, nonce
        raise AuthFailed("Invalid L1 Request headers")

    def verify_l2(
        self, headers: Mapping[str, str], method: str, path: str, body: str, now_s: int
    ) -> ApiKey:
        """Check L2 headers against the request; return the key or raise AuthFailed."""
        try:
            key = self.by_key[headers["POLY_API_KEY"]]
            sig = headers["POLY_SIGNATURE"]
            ts_text = headers["POLY_TIMESTAMP"]
            ts = int(ts_text)
            passphrase = headers["POLY_PASSPHRASE"]
            address = headers["POLY_ADDRESS"]
        except (KeyError, ValueError) as exc:
            raise AuthFailed("Unauthorized/Invalid api key") from exc
        expected = hmac_signature(key.secret, ts_text, method, path, body)
        if (
            abs(now_s - ts) > L2_WINDOW_S
            or not hmac.compare_digest(passphrase, key.passphrase)
            or address.lower() != key.address.lower()
            or not hmac.compare_digest(sig, expected)
        ):
            raise AuthFailed("Unauthorized/Invalid api key")
        return key

    def check_ws_auth(self, auth: object) -> ApiKey:
        """Credentials sent in-band on the user channel."""
        if not isinstance(auth, dict):
            raise AuthFailed("Unauthorized/Invalid api key")
        key = self.by_key.get(str(auth.get("apiKey", "")))
        if (
            key is None
            or not hmac.compare_digest(str(auth.get("secret", "")), key.secret)
            or not hmac.compare_digest(str(auth.get("passphrase", "")), key.passphrase)
        ):
            raise AuthFailed("Unauthorized/Invalid api key")
        return key


class Heartbeats:
    """`POST /v1/heartbeats` chains: once started, silence past the timeout cancels all."""

    def __init__(self, timeout_ms: int, seed: int) -> None:
        self.timeout_ms = timeout_ms
        self._rng = random.Random(seed ^ 0x5EED)
        self._chains: dict[str, tuple[str, int]] = {}

    def beat(self, address: str, heartbeat_id: str, now_ms: int) -> tuple[bool, str]:
        """Return (accepted, id): the next id to echo, or the expected one on a mismatch."""
        chain = self._chains.get(address)
        if chain is not None and heartbeat_id != chain[0]:
            return False, chain[0]
        b = self._rng.getrandbits(128).to_bytes(16, "big").hex()
        new_id = f"{b[:8]}-{b[8:12]}-4{b[13:16]}-a{b[17:20]}-{b[20:]}"
        self._chains[address] = (new_id, now_ms + self.timeout_ms)
        return True, new_id

    def expired(self, now_ms: int) -> list[str]:
        """Addresses whose chain lapsed; their chains end (the next beat starts afresh)."""
        gone = [a for a, (_, deadline) in self._chains.items() if deadline <= now_ms]
        for a in gone:
            del self._chains[a]
        return gone
