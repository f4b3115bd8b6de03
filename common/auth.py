"""Authentication of control messages and their acks: HMAC-SHA256, replay defence, HTTP token.

One control secret (`$PMM_CONTROL_SECRET` or the file in `$PMM_CONTROL_SECRET_FILE`) is
stretched with HKDF-SHA256 into three independent values, each with its own `info`:

- the message key: MACs a control frame, an `Envelope(body, mac)`;
- the ack key: MACs the receiver's `Ack`, so a sender counts only genuine acks;
- the HTTP bearer token: what an operator sends to the control plane. Knowing the token
  lets you call the HTTP plane, never forge a bus message (HKDF is one-way).

The receiver checks the MAC, refuses a timestamp older than the replay window or more
than the future skew ahead of its clock, and refuses a (sender, nonce) it has accepted
before. Accepted nonces are kept on disk (`common/nonce_store.py`), so a message captured
and replayed after the receiver restarts is refused too. Secrets are never logged.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import os
import secrets
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from common.errors import AuthError, ConfigError
from common.messages import Ack, ControlMessage, Envelope, Kill
from common.nonce_store import NonceStore, nonce_path
from common.private_files import read_private_file

__all__ = ["ControlKeys", "Verifier", "http_token", "keys", "load_secret", "new_nonce",
    "open_ack", "receiver_verifier", "seal", "seal_ack"]

if TYPE_CHECKING:
    from common.config import Config

log = logging.getLogger(__name__)

_enc = msgspec.msgpack.Encoder()
_env_dec = msgspec.msgpack.Decoder(Envelope)
_msg_dec = msgspec.msgpack.Decoder(ControlMessage)
_ack_dec = msgspec.msgpack.Decoder(Ack)
_DECODE_ERRORS = (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError)

_SALT = b"pmm control v2"
_INFO_MESSAGE = b"control message mac"
_INFO_ACK = b"control ack mac"
_INFO_HTTP = b"http bearer token"


class ControlKeys(msgspec.Struct, frozen=True, kw_only=True):
    """The three values derived from one control secret (see the module docstring)."""

    message_key: bytes
    ack_key: bytes
    http_token: str


def _derive(secret: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=info).derive(secret)


@functools.lru_cache(maxsize=4)
def keys(secret: bytes) -> ControlKeys:
    """Derive the message key, the ack key and the HTTP token from the control secret."""
    return ControlKeys(
        message_key=_derive(secret, _INFO_MESSAGE),
        ack_key=_derive(secret, _INFO_ACK),
        http_token=_derive(secret, _INFO_HTTP).hex(),
    )


def http_token(secret: bytes) -> str:
    """The bearer token of the HTTP control plane (64 hex characters)."""
    return keys(secret).http_token


def load_secret(env_name: str) -> bytes:
    """Read the control secret from $ENV or from the owner-only file named by $ENV_FILE."""
    value = os.environ.get(env_name, "")
    if not value and os.environ.get(f"{env_name}_FILE"):
        path = Path(os.environ[f"{env_name}_FILE"])
        value = read_private_file(path, f"the control secret (${env_name}_FILE)")
    if len(value) < 16:
        raise ConfigError(
            f"control secret ${env_name} is missing or shorter than 16 characters; "
            f"set it (or ${env_name}_FILE) to the secret the stack was started with"
        )
    return value.encode()


def new_nonce() -> str:
    return secrets.token_hex(12)


def _mac(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, body, hashlib.sha256).digest()


def _open_envelope(frame: bytes, key: bytes) -> bytes:
    """The authenticated body of an envelope, or AuthError (malformed, bad_mac)."""
    try:
        env = _env_dec.decode(frame)
    except _DECODE_ERRORS as exc:
        raise AuthError("malformed") from exc
    if not hmac.compare_digest(_mac(key, env.body), env.mac):
        raise AuthError("bad_mac")
    return env.body


def seal(msg: ControlMessage, secret: bytes) -> bytes:
    """Encode a control message in an envelope MAC'd with the message key."""
    body = _enc.encode(msg)
    return _enc.encode(Envelope(body=body, mac=_mac(keys(secret).message_key, body)))


def seal_ack(ack: Ack, secret: bytes) -> bytes:
    """Encode a receiver's Ack in an envelope MAC'd with the ack key."""
    body = _enc.encode(ack)
    return _enc.encode(Envelope(body=body, mac=_mac(keys(secret).ack_key, body)))


def open_ack(frame: bytes, secret: bytes) -> Ack:
    """The Ack in a sealed frame, or AuthError: a forged or altered ack is never counted."""
    body = _open_envelope(frame, keys(secret).ack_key)
    try:
        return _ack_dec.decode(body)
    except _DECODE_ERRORS as exc:
        raise AuthError("malformed") from exc


class Verifier:
    """Checks control envelopes: MAC, time window, and nonces remembered in `store`."""

    def __init__(
        self,
        secret: bytes,
        *,
        store: NonceStore,
        window_ns: int = 30_000_000_000,
        future_skew_ns: int = 2_000_000_000,
    ) -> None:
        self._key = keys(secret).message_key
        self._store = store
        self._window_ns = window_ns
        self._future_ns = future_skew_ns

    def open(self, frame: bytes, *, now_ns: int | None = None) -> ControlMessage:
        """Return the authenticated message or raise AuthError with a short reason
        (malformed, bad_mac, stale, future, replay, nonce_store)."""
        now = time.time_ns() if now_ns is None else now_ns
        body = _open_envelope(frame, self._key)
        try:
            msg = _msg_dec.decode(body)
        except _DECODE_ERRORS as exc:
            raise AuthError("malformed") from exc
        if msg.ts_ns < now - self._window_ns:
            raise AuthError("stale")
        if msg.ts_ns > now + self._future_ns:
            raise AuthError("future")
        try:
            fresh = self._store.remember(msg.sender, msg.nonce, msg.ts_ns,
                                         oldest_ns=now - self._window_ns)
        except sqlite3.Error as exc:
            # A Kill only ever makes the stack safer, so it is obeyed even if its nonce
            # cannot be written down; anything that loosens (Reset, resume) is refused.
            if isinstance(msg, Kill):
                log.error("nonce store unwritable (%s); obeying the kill anyway", exc)
                return msg
            raise AuthError("nonce_store") from exc
        if not fresh:
            raise AuthError("replay")
        return msg


def receiver_verifier(cfg: Config, secret: bytes, receiver: str) -> Verifier:
    """The Verifier of a control receiver, its nonces in `<run_dir>/control/`."""
    c = cfg.control
    return Verifier(
        secret,
        store=NonceStore(nonce_path(cfg.run_dir, receiver)),
        window_ns=c.replay_window_ms * 1_000_000,
        future_skew_ns=c.future_skew_ms * 1_000_000,
    )
