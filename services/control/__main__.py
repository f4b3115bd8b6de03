"""The control process: folds bus state into a status view and serves the HTTP control plane."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os

from aiohttp import web

from common import bus, runtime, topics
from common.auth import load_secret
from common.config import Config, endpoint
from common.messages import EventChannel, MarketData, StateChannel
from services.control.http import make_app
from services.control.state import StatusView

log = logging.getLogger("control")


async def _pump(sock: object, codec: bus.Codec[object], view: StatusView) -> None:
    while True:
        frames = await sock.recv_multipart()  # type: ignore[attr-defined]
        payload = bus.payload_of(frames)
        if payload is None:
            continue
        msg = codec.decode(payload)
        if msg is not None:
            view.apply(msg)


async def main(cfg: Config, stop: asyncio.Event) -> None:
    secret = load_secret(cfg.control.secret_env)
    view = StatusView(cfg)
    venues = cfg.venues_in_use()
    state_sock = bus.sub([endpoint(cfg, "state")], [b""])
    events_sock = bus.sub([endpoint(cfg, "events", v) for v in venues], [topics.EVENTS_ALL, topics.HEARTBEAT_ALL])
    md_sock = bus.sub([endpoint(cfg, "md", v) for v in venues], [topics.MD_ALL, topics.HEARTBEAT_ALL])
    tasks = [
        asyncio.create_task(_pump(state_sock, bus.Codec(StateChannel, process="control", channel="state"), view)),
        asyncio.create_task(_pump(events_sock, bus.Codec(EventChannel, process="control", channel="events"), view)),
        asyncio.create_task(_pump(md_sock, bus.Codec(MarketData, process="control", channel="md"), view)),
    ]
    app = make_app(cfg, view, secret, os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, cfg.control.http_host, cfg.control.http_port)
    await site.start()
    log.info("control plane on http://%s:%d", cfg.control.http_host, cfg.control.http_port)
    try:
        await stop.wait()
    finally:
        for t in tasks:
            t.cancel()
        await runner.cleanup()
        for s in (state_sock, events_sock, md_sock):
            s.close(linger=0)


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m services.control")
    parser.add_argument("--config", required=True)
    args = parser.parse_args()
    cfg = runtime.load_config_or_exit(args.config)
    runtime.run("control", "control", lambda stop: main(cfg, stop), level=cfg.stack.log_level)


if __name__ == "__main__":
    cli()
