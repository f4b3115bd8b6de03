import time

import pytest

from common import auth
from common.errors import AuthError
from common.messages import Kill, Reset

SECRET = b"s" * 32


def _kill(nonce: str = "n1", ts: int | None = None) -> Kill:
    return Kill(sender="t", nonce=nonce, ts_ns=ts or time.time_ns(), reason="test")


def test_sealed_message_opens_with_the_same_secret() -> None:
    msg = auth.Verifier(SECRET).open(auth.seal(_kill(), SECRET))
    assert isinstance(msg, Kill) and msg.reason == "test"


def test_forged_message_is_refused() -> None:
    with pytest.raises(AuthError, match="bad_mac"):
        auth.Verifier(SECRET).open(auth.seal(_kill(), b"x" * 32))


def test_replay_is_refused() -> None:
    v = auth.Verifier(SECRET)
    frame = auth.seal(_kill("same"), SECRET)
    v.open(frame)
    with pytest.raises(AuthError, match="replay"):
        v.open(frame)


def test_stale_message_is_refused() -> None:
    old = time.time_ns() - 120 * 10**9
    with pytest.raises(AuthError, match="stale"):
        auth.Verifier(SECRET).open(auth.seal(_kill(ts=old), SECRET))


def test_garbage_is_refused_as_malformed() -> None:
    with pytest.raises(AuthError, match="malformed"):
        auth.Verifier(SECRET).open(b"\x00\x01garbage")


def test_reset_round_trips() -> None:
    msg = auth.Verifier(SECRET).open(auth.seal(Reset(sender="t", nonce="r", ts_ns=time.time_ns()), SECRET))
    assert isinstance(msg, Reset)


def test_short_secret_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from common.errors import ConfigError

    monkeypatch.setenv("PMM_TEST_SECRET", "short")
    with pytest.raises(ConfigError, match="PMM_TEST_SECRET"):
        auth.load_secret("PMM_TEST_SECRET")
