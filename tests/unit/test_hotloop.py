"""common/hotloop.py over real ipc sockets: the persistent readiness wait never misses a
message (the ZMQ FD is edge-like), drains keep multipart frames together and respect
their limit, and a timeout marks every input for reading again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import zmq
import zmq.asyncio

from common import hotloop
from tests.support.fixtures import Sockets

NEVER_S = 30.0
"""A wait timeout no passing test reaches: a wake-up must come from the socket."""
DEADLINE_S = 5.0


def test_wait_wakes_on_every_message_and_drains_keep_parts_together(
        tmp_path: Path, zmq_sockets: Sockets) -> None:
    asyncio.run(_wakes(tmp_path, zmq_sockets))


async def _wakes(tmp_path: Path, sockets: Sockets) -> None:
    pull = sockets.open(zmq.PULL)
    pull.bind(f"ipc://{tmp_path}/a.sock")
    sub = sockets.open(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"t.")
    sub.bind(f"ipc://{tmp_path}/b.sock")
    push_owner = sockets.open(zmq.PUSH)
    push_owner.connect(f"ipc://{tmp_path}/a.sock")
    push = hotloop.shadow(push_owner)
    pub = sockets.open(zmq.PUB)
    pub.connect(f"ipc://{tmp_path}/b.sock")
    pub_now = hotloop.shadow(pub)
    ready = hotloop.Readiness([pull, sub])
    pull_in, sub_in = ready.inputs
    try:
        assert pull_in.drain(100) == [] and not pull_in.maybe  # empty: known empty now
        assert sub_in.drain(100) == [] and not sub_in.maybe
        for k in range(20):  # each message after the inputs were drained empty
            push.send(b"m%d" % k)
            await asyncio.wait_for(ready.wait(NEVER_S), DEADLINE_S)
            got: list[list[bytes]] = []
            while not got:  # woken by the FD; the frame may trail the signal by a moment
                got = pull_in.drain(100)
                if not got:
                    await asyncio.wait_for(ready.wait(NEVER_S), DEADLINE_S)
            assert got == [[b"m%d" % k]]
        # PUB/SUB: a [topic, payload] frame set arrives as one list; republish until the
        # subscription has propagated (slow joiner).
        frames: list[list[bytes]] = []
        while not frames:
            hotloop.send_pub(pub_now, b"t.x|", b"payload")
            await asyncio.wait_for(ready.wait(0.05), DEADLINE_S)
            frames = sub_in.drain(100)
        assert frames[0] == [b"t.x|", b"payload"]
        # A limit leaves the rest for the next drain, and the input marked readable.
        for k in range(5):
            push.send(b"n%d" % k)
        batch: list[list[bytes]] = []
        while len(batch) < 2:
            await asyncio.wait_for(ready.wait(NEVER_S), DEADLINE_S)
            batch += pull_in.drain(2 - len(batch))
        assert batch == [[b"n0"], [b"n1"]] and pull_in.maybe
        rest: list[list[bytes]] = []
        while len(rest) < 3:
            await asyncio.wait_for(ready.wait(NEVER_S), DEADLINE_S)
            rest += pull_in.drain(100)
        assert rest == [[b"n2"], [b"n3"], [b"n4"]]
    finally:
        ready.close()


def test_timeout_returns_and_marks_every_input_for_reading(
        tmp_path: Path, zmq_sockets: Sockets) -> None:
    asyncio.run(_timeout(tmp_path, zmq_sockets))


async def _timeout(tmp_path: Path, sockets: Sockets) -> None:
    pull = sockets.open(zmq.PULL)
    pull.bind(f"ipc://{tmp_path}/c.sock")
    ready = hotloop.Readiness([pull])
    (pull_in,) = ready.inputs
    try:
        assert pull_in.drain(10) == [] and not pull_in.maybe
        while not pull_in.maybe:  # nothing comes: a timeout (the sweep: within 50 ms)
            await asyncio.wait_for(ready.wait(0.01), DEADLINE_S)
        pull_in.drain(10)
        pull_in.touch()  # something else processed the socket's commands
        assert pull_in.maybe
    finally:
        ready.close()
