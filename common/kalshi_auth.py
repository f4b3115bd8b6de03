"""Kalshi request signing (RSA-PSS over ``ts_ms + METHOD + path``), both ways.

Shared by the Kalshi ingest feed and executor (which sign) and the venue simulator
(which verifies). The signed path starts at ``/trade-api/...`` and carries no query
string; the body is not signed (shared/venues.md B2). Private keys are read from a
file named by an environment variable and are never logged.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from common.errors import ConfigError
from common.private_files import check_private_file
from common.venue_clock import VenueClock

__all__ = ["KEY_HEADER", "KalshiSigner", "SIGNATURE_HEADER", "TIMESTAMP_HEADER",
    "load_public_pem", "message", "new_private_pem", "path_of", "verify"]

KEY_HEADER = "KALSHI-ACCESS-KEY"
SIGNATURE_HEADER = "KALSHI-ACCESS-SIGNATURE"
TIMESTAMP_HEADER = "KALSHI-ACCESS-TIMESTAMP"

_SIGN_PADDING = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
_VERIFY_PADDING = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)


def message(ts_ms: str, method: str, path: str) -> bytes:
    """The signed text: timestamp (ms) + upper-case method + path without its query."""
    return (ts_ms + method.upper() + path.split("?", 1)[0]).encode()


def path_of(url: str) -> str:
    """The path part of a URL (what is signed), e.g. ``/trade-api/v2/portfolio/orders``."""
    return urlsplit(url).path


class KalshiSigner:
    """Signs requests for one API key id with its RSA private key."""

    def __init__(self, key_id: str, private_key: rsa.RSAPrivateKey,
                 *, clock: VenueClock | None = None) -> None:
        self.key_id = key_id
        self._key = private_key
        self.clock = clock or VenueClock("kalshi")
        """Timestamps are Kalshi's time by our estimate; whoever reads Kalshi's answers
        feeds it (`clock.observe_date`), so a skewed machine is not refused everything."""

    @classmethod
    def from_pem(cls, key_id: str, pem: bytes) -> KalshiSigner:
        """Load a PEM (PKCS#8 or PKCS#1) RSA private key; ConfigError if it is not one."""
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as exc:
            raise ConfigError("the Kalshi private key is not an unencrypted PEM key") from exc
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ConfigError("the Kalshi private key must be an RSA key")
        return cls(key_id, key)

    @classmethod
    def from_env(cls, key_id_env: str, key_file_env: str) -> KalshiSigner:
        """The signer named by the environment: key id in `$key_id_env`, PEM file in `$key_file_env`."""
        key_id = os.environ.get(key_id_env, "").strip()
        path = os.environ.get(key_file_env, "").strip()
        if not key_id or not path:
            raise ConfigError(
                f"${key_id_env} and ${key_file_env} must name the Kalshi API key id and its "
                f"private key file (venues.kalshi.key_id_env / private_key_file_env); `pmm up` "
                f"sets throwaway ones when [sim] enabled = true"
            )
        check_private_file(Path(path), f"the Kalshi private key (${key_file_env})")
        try:
            pem = Path(path).read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read the Kalshi private key file named by ${key_file_env}: "
                              f"{exc.strerror}") from exc
        return cls.from_pem(key_id, pem)

    def sign(self, ts_ms: str, method: str, path: str) -> str:
        """Standard base64 RSA-PSS(SHA-256, MGF1-SHA-256, salt 32) signature."""
        sig = self._key.sign(message(ts_ms, method, path), _SIGN_PADDING, hashes.SHA256())
        return base64.b64encode(sig).decode()

    def headers(self, method: str, path: str) -> dict[str, str]:
        """The three auth headers for one request, timestamped now."""
        ts = str(self.clock.now_ms())
        return {
            KEY_HEADER: self.key_id,
            TIMESTAMP_HEADER: ts,
            SIGNATURE_HEADER: self.sign(ts, method, path),
        }

    def public_pem(self) -> bytes:
        return self._key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def verify(public_key: rsa.RSAPublicKey, signature_b64: str, ts_ms: str, method: str,
           path: str) -> bool:
    """True if the signature is the key's PSS signature of the request text."""
    try:
        sig = base64.b64decode(signature_b64, validate=True)
        public_key.verify(sig, message(ts_ms, method, path), _VERIFY_PADDING, hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def load_public_pem(pem: bytes) -> rsa.RSAPublicKey:
    """Load a PEM RSA public key; ConfigError if it is not one."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise ConfigError("not a PEM public key") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise ConfigError("the Kalshi public key must be an RSA key")
    return key


def new_private_pem() -> bytes:
    """A fresh 2048-bit RSA key as PKCS#8 PEM (throwaway keys for the simulator)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
