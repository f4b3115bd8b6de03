import msgspec
import pytest

from common import bus, metrics
from common.messages import BookSnapshot, Level, MarketData, QuoteIntent


def _book() -> BookSnapshot:
    return BookSnapshot(venue="polymarket", market="m1", seq=1, ts_recv_ns=1, ts_venue_ms=2, tick=100,
                        bids=(Level(4900, 100),), asks=(Level(5100, 100),))


def test_codec_round_trips_a_tagged_message() -> None:
    codec: bus.Codec[object] = bus.Codec(MarketData, process="t", channel="md-rt")
    assert codec.decode(codec.encode(_book())) == _book()


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        b"\xc1",
        msgspec.msgpack.encode({"t": "nope"}),
        msgspec.msgpack.encode({"t": "book", "venue": "polymarket"}),
        msgspec.msgpack.encode(
            QuoteIntent(market="m", quoter="q", seq=1, ts_recv_ns=1, ts_sent_ns=1, fair_value=1,
                        bids=(), asks=())
        ),
        msgspec.msgpack.encode({"t": "book", "venue": "polymarket", "market": "m", "seq": -1,
                                "ts_recv_ns": 1, "ts_venue_ms": 1, "tick": 100, "bids": [], "asks": []}),
        msgspec.msgpack.encode({"t": "book", "venue": "polymarket", "market": "m", "seq": 1,
                                "ts_recv_ns": 1, "ts_venue_ms": 1, "tick": 100,
                                "bids": [[20000, 1]], "asks": []}),
        # Invalid UTF-8 inside a string raises UnicodeDecodeError, not msgspec.DecodeError.
        msgspec.msgpack.encode({"t": "status", "venue": "polymarket", "market": "m", "ts_ns": 1,
                                "stale": True}).replace(b"\xa1m", b"\xa1\x93"),
    ],
)
def test_bad_frames_are_dropped_and_counted(frame: bytes) -> None:
    codec: bus.Codec[object] = bus.Codec(MarketData, process="t", channel="md-bad")
    counter = metrics.DROPPED_FRAMES.labels(process="t", channel="md-bad")
    before = counter._value.get()
    assert codec.decode(frame) is None
    assert counter._value.get() == before + 1


def test_old_sender_without_new_fields_still_decodes() -> None:
    """Version skew: a frame lacking a defaulted trailing field decodes with the default."""
    raw = msgspec.msgpack.encode({"t": "book", "venue": "polymarket", "market": "m", "seq": 1,
                                  "ts_recv_ns": 1, "ts_venue_ms": 1, "tick": 100, "bids": [], "asks": []})
    codec: bus.Codec[object] = bus.Codec(MarketData, process="t", channel="md-skew")
    msg = codec.decode(raw)
    assert isinstance(msg, BookSnapshot) and msg.stale is False and msg.min_size == 0
