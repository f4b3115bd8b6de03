"""Control-message authentication: MAC, time window, replay (also across a restart), acks."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest

from common import auth
from common.errors import AuthError, ConfigError
from common.messages import Ack, Envelope, Kill, Reset
from common.nonce_store import NonceStore

SECRET = b"s" * 32
NOW = 1_800_000_000_000_000_000


def _kill(nonce: str = "n1", ts: int = NOW) -> Kill:
    return Kill(sender="t", nonce=nonce, ts_ns=ts, reason="test")


def _reset(nonce: str = "r1", ts: int = NOW) -> Reset:
    return Reset(sender="t", nonce=nonce, ts_ns=ts)


def _verifier(store: NonceStore | None = None) -> auth.Verifier:
    return auth.Verifier(SECRET, store=store or NonceStore(None))


def test_sealed_message_opens_with_the_same_secret() -> None:
    msg = _verifier().open(auth.seal(_kill(), SECRET), now_ns=NOW)
    assert isinstance(msg, Kill) and msg.reason == "test"


def test_forged_message_is_refused() -> None:
    with pytest.raises(AuthError, match="bad_mac"):
        _verifier().open(auth.seal(_kill(), b"x" * 32), now_ns=NOW)


def test_a_frame_macd_with_the_raw_secret_is_refused() -> None:
    """The MAC key is derived from the secret (HKDF), not the secret itself."""
    import hashlib
    import hmac

    import msgspec

    body = msgspec.msgpack.encode(_kill())
    raw = msgspec.msgpack.encode(Envelope(body=body, mac=hmac.new(SECRET, body, hashlib.sha256).digest()))
    with pytest.raises(AuthError, match="bad_mac"):
        _verifier().open(raw, now_ns=NOW)


def test_replay_is_refused() -> None:
    v = _verifier()
    frame = auth.seal(_kill("same"), SECRET)
    v.open(frame, now_ns=NOW)
    with pytest.raises(AuthError, match="replay"):
        v.open(frame, now_ns=NOW + 1)


def test_a_reset_replayed_after_the_receiver_restarts_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "control" / "nonces-risk.sqlite"
    frame = auth.seal(_reset("captured"), SECRET)
    first = NonceStore(path)
    assert isinstance(_verifier(first).open(frame, now_ns=NOW), Reset)
    first.close()  # the receiver process dies; a new one opens the same run dir
    second = NonceStore(path)
    with pytest.raises(AuthError, match="replay"):
        _verifier(second).open(frame, now_ns=NOW + 5 * 10**9)
    second.close()


def test_nonces_older_than_the_window_are_forgotten(tmp_path: Path) -> None:
    store = NonceStore(tmp_path / "n.sqlite")
    v = _verifier(store)
    v.open(auth.seal(_kill("a", ts=NOW), SECRET), now_ns=NOW)
    later = NOW + 31 * 10**9
    v.open(auth.seal(_kill("b", ts=later), SECRET), now_ns=later)
    assert store.count() == 1
    store.close()


@pytest.mark.parametrize(("offset_s", "reason"), [(-31, "stale"), (3, "future"), (30, "future")])
def test_out_of_window_timestamps_are_refused(offset_s: int, reason: str) -> None:
    frame = auth.seal(_kill(ts=NOW + offset_s * 10**9), SECRET)
    with pytest.raises(AuthError, match=reason):
        _verifier().open(frame, now_ns=NOW)


@pytest.mark.parametrize("offset_s", [-29, 0, 1.9])
def test_timestamps_inside_the_window_pass(offset_s: float) -> None:
    frame = auth.seal(_kill(ts=NOW + int(offset_s * 10**9)), SECRET)
    assert _verifier().open(frame, now_ns=NOW).nonce == "n1"


def test_garbage_is_refused_as_malformed() -> None:
    with pytest.raises(AuthError, match="malformed"):
        _verifier().open(b"\x00\x01garbage")


def test_reset_round_trips() -> None:
    msg = _verifier().open(auth.seal(Reset(sender="t", nonce="r", ts_ns=time.time_ns()), SECRET))
    assert isinstance(msg, Reset)


class _FullDisk(NonceStore):
    """A store whose disk refuses every write, as a full disk does."""

    def remember(self, sender: str, nonce: str, ts_ns: int, *, oldest_ns: int) -> bool:
        raise sqlite3.OperationalError("database or disk is full")


def test_an_unwritable_nonce_store_still_obeys_a_kill_and_refuses_a_reset() -> None:
    store = _FullDisk(None)
    with pytest.raises(sqlite3.OperationalError):  # the fault fires
        store.remember("t", "x", NOW, oldest_ns=0)
    v = _verifier(store)
    assert isinstance(v.open(auth.seal(_kill(), SECRET), now_ns=NOW), Kill)
    with pytest.raises(AuthError, match="nonce_store"):
        v.open(auth.seal(_reset(), SECRET), now_ns=NOW)


def test_acks_are_sealed_and_checked() -> None:
    ack = Ack(receiver="risk", nonce="n1", ok=True)
    assert auth.open_ack(auth.seal_ack(ack, SECRET), SECRET) == ack
    with pytest.raises(AuthError, match="bad_mac"):
        auth.open_ack(auth.seal_ack(ack, b"x" * 32), SECRET)


def test_an_altered_ack_is_refused() -> None:
    import msgspec

    env = msgspec.msgpack.decode(auth.seal_ack(Ack(receiver="risk", nonce="n1", ok=False), SECRET),
                                 type=Envelope)
    flipped = msgspec.msgpack.encode(Ack(receiver="risk", nonce="n1", ok=True))
    forged = msgspec.msgpack.encode(Envelope(body=flipped, mac=env.mac))
    with pytest.raises(AuthError, match="bad_mac"):
        auth.open_ack(forged, SECRET)


def test_a_control_frame_is_not_an_ack() -> None:
    """Message and ack keys differ: a sealed Kill reflected back never reads as an ack."""
    with pytest.raises(AuthError, match="bad_mac"):
        auth.open_ack(auth.seal(_kill(), SECRET), SECRET)


def test_the_http_token_is_not_the_secret_and_is_stable() -> None:
    token = auth.http_token(SECRET)
    assert token != SECRET.decode() and SECRET.decode() not in token
    assert len(token) == 64 and token == auth.http_token(SECRET)
    assert token != auth.http_token(b"t" * 32)
    k = auth.keys(SECRET)
    assert len({k.message_key, k.ack_key, bytes.fromhex(token)}) == 3


def test_short_secret_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PMM_TEST_SECRET", "short")
    with pytest.raises(ConfigError, match="PMM_TEST_SECRET"):
        auth.load_secret("PMM_TEST_SECRET")


def test_a_secret_file_readable_by_others_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "control_secret"
    path.write_text("a" * 64)
    os.chmod(path, 0o644)
    monkeypatch.delenv("PMM_TEST_SECRET", raising=False)
    monkeypatch.setenv("PMM_TEST_SECRET_FILE", str(path))
    with pytest.raises(ConfigError) as err:
        auth.load_secret("PMM_TEST_SECRET")
    assert str(err.value) == (
        f"the control secret ($PMM_TEST_SECRET_FILE) {path} has mode 0644: group or others "
        f"can read it; run `chmod 600 {path}` (and replace the secret if others may have read it)")
    os.chmod(path, 0o600)
    assert auth.load_secret("PMM_TEST_SECRET") == b"a" * 64
