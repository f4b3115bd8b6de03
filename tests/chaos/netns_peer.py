"""Helper processes for the network-namespace test, run with `ip netns exec NS python -m ...`.

- `books`: a stand-in ingest-polymarket: binds the md PUB as a CURVE server with that
  role's key (and the authenticator) and publishes a moving book every 100 ms.
- `intruder`: connects a PUSH to risk's intents, with a fresh key risk has never seen
  (`--role ""`) or a known role's key that is not on the intents allow-list
  (`--role executor-polymarket`), and sends quote intents (seq 777000+) for a few seconds.
Both stop on SIGTERM or when their time is up.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import time

import msgspec

import zmq

from common import bus, bus_curve, config, topics
from common.messages import BookSnapshot, Level, QuoteIntent

INTRUDER_SEQ = 777_000


async def books(cfg: config.Config, role: str, market: str, seconds: float) -> None:
    auth = bus_curve.start_authenticator(cfg, process="books", serves=[("md", "polymarket")])
    sock = bus.pub(config.endpoint(cfg, "md", "polymarket"),
                   curve=bus_curve.server(cfg, "ingest-polymarket", "md", "polymarket"))
    enc = msgspec.msgpack.Encoder()
    seq, end = 0, time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            seq += 1
            shift = 300 if (seq // 3) % 2 else 0  # the mid moves 3c every 0.3 s: requotes
            book = BookSnapshot(venue="polymarket", market=market, seq=seq,
                                ts_recv_ns=time.monotonic_ns(), ts_venue_ms=0, tick=100,
                                bids=(Level(4900 - shift, 10_000),),
                                asks=(Level(5100 - shift, 10_000),))
            await bus.send_pub(sock, topics.md("polymarket", market), enc.encode(book))
            await asyncio.sleep(0.1)
    finally:
        sock.close(linger=0)
        if auth is not None:
            auth.stop()


async def intruder(cfg: config.Config, role: str, market: str, seconds: float) -> None:
    endpoint = config.endpoint(cfg, "intents")
    if role:
        curve = bus_curve.client(cfg, role, [("intents", "")])
    else:
        public, secret = zmq.curve_keypair()
        curve = bus.Curve(public_key=public, secret_key=secret,
                          server_keys={endpoint: bus_curve.public_key(cfg, "risk")})
    sock = bus.push([endpoint], curve=curve, send_timeout_ms=10)
    enc = msgspec.msgpack.Encoder()
    seq, end = INTRUDER_SEQ, time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            seq += 1
            intent = QuoteIntent(market=market, quoter="intruder", seq=seq, ts_recv_ns=1,
                                 ts_sent_ns=time.monotonic_ns(), fair_value=5000,
                                 bids=(Level(9000, 100),), asks=(Level(9100, 100),))
            await bus.send_push(sock, enc.encode(intent), process="intruder", channel="intents")
            await asyncio.sleep(0.05)
    finally:
        sock.close(linger=0)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["books", "intruder"])
    p.add_argument("--config", required=True)
    p.add_argument("--market", required=True)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--role", default="")
    a = p.parse_args()
    cfg = config.load(a.config)
    run = books if a.mode == "books" else intruder

    async def _main() -> None:
        task = asyncio.ensure_future(run(cfg, a.role, a.market, a.seconds))
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            pass

    asyncio.run(_main())


if __name__ == "__main__":
    main()
