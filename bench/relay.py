"""The baseline: a bare pyzmq relay chain with the same hops as the pipeline.

ingest --PUB/SUB--> quoter --PUSH/PULL--> risk --PUSH/PULL--> executor. Each relay
process receives a frame and forwards it unchanged; the sink records
monotonic_ns() - the timestamp the source put in the frame. Same machine, same run,
same message rate as the pipeline measurement.
"""

from __future__ import annotations

import argparse
import struct
import sys
import time
from pathlib import Path

import zmq


def source(out_ep: str, rate: float, count: int, size: int) -> None:
    ctx = zmq.Context()
    s = ctx.socket(zmq.PUB)
    s.setsockopt(zmq.LINGER, 0)
    s.bind(out_ep)
    time.sleep(1.0)  # let subscribers join
    pad = b"x" * max(0, size - 8)
    period = 1.0 / rate
    nxt = time.perf_counter()
    for _ in range(count):
        nxt += period
        while time.perf_counter() < nxt:
            pass
        s.send_multipart((b"md.|", struct.pack("<q", time.monotonic_ns()) + pad))
    time.sleep(0.5)
    s.close()
    ctx.term()


def relay_sub(in_ep: str, out_ep: str) -> None:
    ctx = zmq.Context()
    i = ctx.socket(zmq.SUB)
    i.setsockopt(zmq.SUBSCRIBE, b"md.")
    i.connect(in_ep)
    o = ctx.socket(zmq.PUSH)
    o.setsockopt(zmq.LINGER, 0)
    o.connect(out_ep)
    while True:
        _, payload = i.recv_multipart()
        o.send(payload)


def relay_pull(in_ep: str, out_ep: str) -> None:
    ctx = zmq.Context()
    i = ctx.socket(zmq.PULL)
    i.bind(in_ep)
    o = ctx.socket(zmq.PUSH)
    o.setsockopt(zmq.LINGER, 0)
    o.connect(out_ep)
    while True:
        o.send(i.recv())


def hop_sockets(ctx: zmq.Context, in_ep: str, out_ep: str, sub: bool) -> tuple[zmq.Socket, zmq.Socket]:
    """A relay's input (SUB to `in_ep` for the first hop, else PULL bound on it) and its PUSH
    to `out_ep`, on `ctx` (a zmq.asyncio context gives asyncio sockets)."""
    i = ctx.socket(zmq.SUB if sub else zmq.PULL)
    if sub:
        i.setsockopt(zmq.SUBSCRIBE, b"md.")
        i.connect(in_ep)
    else:
        i.bind(in_ep)
    o = ctx.socket(zmq.PUSH)
    o.setsockopt(zmq.LINGER, 0)
    o.connect(out_ep)
    return i, o


def arelay(in_ep: str, out_ep: str, sub: bool) -> None:
    """The same hop the services make: zmq.asyncio on uvloop, Poller, then drain and forward."""
    import uvloop
    import zmq.asyncio

    async def run() -> None:
        ctx = zmq.asyncio.Context()
        i, o = hop_sockets(ctx, in_ep, out_ep, sub)
        poller = zmq.asyncio.Poller()
        poller.register(i, zmq.POLLIN)
        while True:
            await poller.poll(100)
            while True:
                try:
                    frames = await i.recv_multipart(flags=zmq.NOBLOCK)
                except zmq.Again:
                    break
                await o.send(frames[-1])

    uvloop.run(run())


def hrelay(in_ep: str, out_ep: str, sub: bool) -> None:
    """The same hop through the services' hot loop (common/hotloop.py): NOBLOCK reads and
    sends on synchronous shadows, one persistent readiness wait, uvloop."""
    import uvloop
    import zmq.asyncio

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from common import hotloop

    async def run() -> None:
        ctx = zmq.asyncio.Context()
        i, o = hop_sockets(ctx, in_ep, out_ep, sub)
        ready = hotloop.Readiness([i])
        (si,), so = ready.inputs, hotloop.shadow(o)
        while True:
            await ready.wait(0.1)
            for frames in si.drain(10_000):
                try:
                    so.send(frames[-1], hotloop.NOBLOCK)
                except zmq.Again:
                    await o.send(frames[-1])

    uvloop.run(run())


def prelay(in_ep: str, out_ep: str, sub: bool) -> None:
    """The same hop through a synchronous poll loop, the shape a service would take without
    an event loop: block in zmq_poll with a timer-bounded timeout, drain with NOBLOCK reads
    (common/hotloop.drain), send NOBLOCK."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from common import hotloop

    ctx = zmq.Context()
    i, o = hop_sockets(ctx, in_ep, out_ep, sub)
    poller = zmq.Poller()
    poller.register(i, zmq.POLLIN)
    while True:
        poller.poll(50)
        for frames in hotloop.drain(i, 10_000):
            o.send(frames[-1], hotloop.NOBLOCK)


def sink(in_ep: str, count: int, out_path: str, timeout_s: float) -> None:
    ctx = zmq.Context()
    i = ctx.socket(zmq.PULL)
    i.bind(in_ep)
    samples = []
    deadline = time.monotonic() + timeout_s
    while len(samples) < count and time.monotonic() < deadline:
        if i.poll(200):
            frame = i.recv()
            samples.append(time.monotonic_ns() - struct.unpack_from("<q", frame)[0])
    with open(out_path, "wb") as f:
        f.write(struct.pack(f"<{len(samples)}q", *samples))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("role", choices=["source", "relay_sub", "relay_pull", "arelay_sub", "arelay_pull",
                                    "hrelay_sub", "hrelay_pull", "prelay_sub", "prelay_pull", "sink"])
    p.add_argument("--in", dest="in_ep", default="")
    p.add_argument("--out", dest="out_ep", default="")
    p.add_argument("--rate", type=float, default=1000)
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--size", type=int, default=200)
    p.add_argument("--path", default="")
    p.add_argument("--timeout", type=float, default=60)
    a = p.parse_args()
    if a.role == "source":
        source(a.out_ep, a.rate, a.count, a.size)
    elif a.role == "relay_sub":
        relay_sub(a.in_ep, a.out_ep)
    elif a.role == "relay_pull":
        relay_pull(a.in_ep, a.out_ep)
    elif a.role in ("arelay_sub", "arelay_pull"):
        arelay(a.in_ep, a.out_ep, a.role == "arelay_sub")
    elif a.role in ("hrelay_sub", "hrelay_pull"):
        hrelay(a.in_ep, a.out_ep, a.role == "hrelay_sub")
    elif a.role in ("prelay_sub", "prelay_pull"):
        prelay(a.in_ep, a.out_ep, a.role == "prelay_sub")
    else:
        sink(a.in_ep, a.count, a.path, a.timeout)


if __name__ == "__main__":
    sys.exit(main())
