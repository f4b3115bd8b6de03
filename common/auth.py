"""Authentication of control messages: HMAC-SHA256 over the encoded body, with replay defence.

A control frame is an `Envelope(body, mac)`. The receiver checks the MAC with the
shared secret, refuses a timestamp outside the window, and refuses a nonce it has
already seen inside the window. Secrets come from the environment or a file and
are never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from collections import OrderedDict
from pathlib import Path

import msgspec

from common.errors import AuthError, ConfigError
from common.messages import ControlMessage, Envelope

_enc = msgspec.msgpack.Encoder()
_env_dec = msgspec.msgpack.Decoder(Envelope)
_msg_dec = msgspec.msgpack.Decoder(ControlMessage)


def load_secret(env_name: str) -> bytes:
    """Read the control secret from $ENV or from the file named by $ENV_FILE."""
    value = os.environ.get(env_name, "")
    if not value and os.environ.get(f"{env_name}_FILE"):
        path = Path(os.environ[f"{env_name}_FILE"])
        try:
            value = path.read_text().strip()
        except OSError as exc:
            raise ConfigError(f"cannot read {env_name}_FILE {path}: {exc.strerror}") from exc
    if len(value) < 16:
        raise ConfigError(
            f"control secret ${env_name} is missing or shorter than 16 characters; "
            f"set it (or ${env_name}_FILE) to the secret the stack was started with"
        )
    return value.encode()


def new_nonce() -> str:
    return secrets.token_hex(12)


def seal(msg: ControlMessage, secret: bytes) -> bytes:
    body = _enc.encode(msg)
    mac = hmac.new(secret, body, hashlib.sha256).digest()
    return _enc.encode(Envelope(body=body, mac=mac))


class Verifier:
    """Checks envelopes; remembers nonces for the replay window."""

    def __init__(self, secret: bytes, *, window_ns: int = 30_000_000_000) -> None:
        self._secret = secret
        self._window_ns = window_ns
        self._seen: OrderedDict[str, int] = OrderedDict()

    def open(self, frame: bytes, *, now_ns: int | None = None) -> ControlMessage:
        """Return the authenticated message or raise AuthError with a short reason."""
        now = time.time_ns() if now_ns is None else now_ns
        try:
            env = _env_dec.decode(frame)
        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as exc:
            raise AuthError("malformed") from exc
        expected = hmac.new(self._secret, env.body, hashlib.sha256).digest()
        if not hmac.compare_digest(expected, env.mac):
            raise AuthError("bad_mac")
        try:
            msg = _msg_dec.decode(env.body)
        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as exc:
            raise AuthError("malformed") from exc
        if abs(now - msg.ts_ns) > self._window_ns:
            raise AuthError("stale")
        while self._seen and next(iter(self._seen.values())) < now - self._window_ns:
            self._seen.popitem(last=False)
        if msg.nonce in self._seen:
            raise AuthError("replay")
        self._seen[msg.nonce] = msg.ts_ns
        return msg
