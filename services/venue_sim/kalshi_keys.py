"""Kalshi API keys on the simulator: key id -> RSA public key, and request signatures.

A request is signed with RSA-PSS over ``ts_ms + METHOD + path``; a signature outside the
configured time window, by an unknown key, or over anything else is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from common.kalshi_auth import KEY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, load_public_pem, verify
from services.venue_sim import kalshi_wire as kw
from services.venue_sim.accounts import AuthFailed

__all__ = ["KalshiKeys"]


class KalshiKeys:
    """Registered public keys, and the account of a correctly signed, fresh request."""

    def __init__(self, *, clock_ms: Callable[[], int], window_ms: int) -> None:
        self.clock_ms = clock_ms
        self.window_ms = window_ms
        self.keys: dict[str, RSAPublicKey] = {}

    def register(self, key_id: str, pem: bytes) -> str:
        """Accept `pem` as the public key of `key_id`; return its account."""
        self.keys[key_id] = load_public_pem(pem)
        return kw.account_of(key_id)

    def authenticate(self, headers: Any, method: str, path: str) -> str:
        """The account of a correctly signed, fresh request; AuthFailed otherwise."""
        key_id = headers.get(KEY_HEADER, "")
        ts = headers.get(TIMESTAMP_HEADER, "")
        sig = headers.get(SIGNATURE_HEADER, "")
        key = self.keys.get(key_id)
        try:
            age = abs(self.clock_ms() - int(ts))
        except ValueError:
            raise AuthFailed("bad timestamp") from None
        if key is None or age > self.window_ms or not verify(key, sig, ts, method, path):
            raise AuthFailed("authentication failed")
        return kw.account_of(key_id)
