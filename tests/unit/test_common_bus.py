import asyncio
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest
import zmq

from common import bus, metrics
from common.errors import BusError
from common.messages import BookSnapshot, Level, MarketData, QuoteIntent
from tests.support.fixtures import Sockets


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


# --- binding an ipc endpoint: never take one over from a live process ------------------------

def test_an_ipc_endpoint_held_by_a_live_socket_is_refused(tmp_path: Path,
                                                          zmq_sockets: Sockets) -> None:
    endpoint = f"ipc://{tmp_path}/commands.sock"
    first = zmq_sockets.adopt(bus.pull(endpoint))
    with pytest.raises(BusError) as err:
        bus.pull(endpoint)
    assert str(err.value).startswith(f"cannot bind {endpoint}: a running process already "
                                     "listens on it")
    assert "`pmm down`" in str(err.value) and "run_dir" in str(err.value)
    # the first binder still owns the endpoint: a sender reaches it
    sender = zmq_sockets.adopt(zmq.Context.instance().socket(zmq.PUSH))
    sender.setsockopt(zmq.LINGER, 0)
    sender.connect(endpoint)
    sender.send(b"still mine")
    assert asyncio.run(_recv(first)) == b"still mine"


async def _recv(sock: Any) -> bytes:
    return bytes(await asyncio.wait_for(sock.recv(), 5))


def test_an_ipc_endpoint_held_by_another_process_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "control-risk.sock"
    with subprocess.Popen(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", (
            "import sys, zmq; s = zmq.Context().socket(zmq.ROUTER); "
            f"s.bind('ipc://{path}'); print('bound', flush=True); sys.stdin.read()")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    ) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "bound"
            with pytest.raises(BusError, match="a running process already listens on it"):
                bus.router(f"ipc://{path}")
        finally:
            holder.kill()
            holder.wait()
    # the holder died without closing its socket: the file is stale now and is reused
    assert path.exists()
    sock = bus.router(f"ipc://{path}")
    sock.close(linger=0)


def test_a_stale_socket_file_is_reused(tmp_path: Path) -> None:
    path = tmp_path / "events.sock"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))  # bound, never listening, then closed: the file stays behind
    dead.close()
    assert path.exists() and not bus.ipc_holder_alive(str(path))
    sock = bus.pub(f"ipc://{path}")
    sock.close(linger=0)


def test_a_socket_closed_in_this_process_can_be_bound_again(tmp_path: Path) -> None:
    endpoint = f"ipc://{tmp_path}/state.sock"
    for _ in range(3):
        bus.pub(endpoint).close(linger=0)
