"""The reference feed's wire format: JSON text `{"feed": str, "price": number, "ts": unix ms}`.

Pure parsing, so the malformed-message rules are tested without a socket: a message that
is not that object, or has a price that is not a positive finite number, or a negative
timestamp, is malformed (dropped and counted by the caller); a well-formed tick of
another feed on a shared connection is ignored, not malformed; `PONG` is a keepalive.
"""

from __future__ import annotations

import math

import msgspec

from common.messages import ReferencePrice

__all__ = ["Malformed", "parse"]


class _Tick(msgspec.Struct, frozen=True):
    feed: str
    price: float
    ts: int = 0


_dec = msgspec.json.Decoder(_Tick)


class Malformed(ValueError):
    """A feed message that is not a valid tick."""


def parse(frame: str | bytes, feed: str, now_ns: int) -> ReferencePrice | None:
    """The ReferencePrice in `frame` for `feed`, None for keepalives and other feeds, or
    raise Malformed. `ts_ns` is the feed's own timestamp (`now_ns` when it sends none)."""
    if frame in ("PONG", b"PONG"):
        return None
    try:
        tick = _dec.decode(frame)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as exc:
        raise Malformed(str(exc)) from exc
    if tick.feed != feed:
        return None
    if not math.isfinite(tick.price) or tick.price <= 0:
        raise Malformed(f"price {tick.price!r} is not a positive finite number")
    if tick.ts < 0:
        raise Malformed(f"ts {tick.ts} is negative")
    ts_ns = tick.ts * 1_000_000 if tick.ts else now_ns
    return ReferencePrice(feed=feed, ts_ns=ts_ns, price=tick.price)
