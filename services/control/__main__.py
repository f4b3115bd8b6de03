"""The control process: folds bus state into a status view and serves the HTTP control plane."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os

from aiohttp import web

from common import bus, bus_curve, overlay, runtime, topics
from common.errors import PmmError
from common.auth import load_secret
from common.config import Config, endpoint
from common.messages import EventChannel, MarketData, StateChannel
from services.control.http import make_app
from services.control.state import StatusView
from services.control.telemetry import Telemetry

log = logging.getLogger("control")


async def _pump(sock: object, codec: bus.Codec[object], view: StatusView, telemetry: Telemetry) -> None:
    while True:
        frames = await sock.recv_multipart()  # type: ignore[attr-defined]
        payload = bus.payload_of(frames)
        if payload is None:
            continue
        msg = codec.decode(payload)
        if msg is not None:
            view.apply(msg)
            telemetry.apply(msg)


def _reconfigure(cfg: Config, view: StatusView, telemetry: Telemetry) -> None:
    """Take an overlay change: the market list of status and of the metrics."""
    view.cfg = cfg
    telemetry.configure(cfg)


async def _tick(telemetry: Telemetry) -> None:
    while True:
        telemetry.tick()
        await asyncio.sleep(1.0)


async def main(cfg: Config, stop: asyncio.Event) -> None:
    secret = load_secret(cfg.control.secret_env)
    view = StatusView(cfg)
    telemetry = Telemetry(cfg)
    venues = cfg.venues_in_use()
    # CURVE on tcp:// with the control role's key (common/bus_curve.py); None when off
    state_sock = bus.sub([endpoint(cfg, "state")], [b""],
                         curve=bus_curve.client(cfg, "control", [("state", "")]))
    events_sock = bus.sub([endpoint(cfg, "events", v) for v in venues], [topics.EVENTS_ALL, topics.HEARTBEAT_ALL],
                          curve=bus_curve.client(cfg, "control", [("events", v) for v in venues]))
    md_names = list(venues)
    if cfg.references:  # reference feeds (issue 5): their prices and the process's heartbeat
        md_names.append("reference")
    md_sock = bus.sub([endpoint(cfg, "md", v) for v in md_names],
                      [topics.MD_ALL, topics.HEARTBEAT_ALL, topics.REFERENCE_ALL],
                      curve=bus_curve.client(cfg, "control", [("md", v) for v in md_names]))
    tasks = [
        asyncio.create_task(_pump(state_sock, bus.Codec(StateChannel, process="control", channel="state"), view, telemetry)),
        asyncio.create_task(_pump(events_sock, bus.Codec(EventChannel, process="control", channel="events"), view, telemetry)),
        asyncio.create_task(_pump(md_sock, bus.Codec(MarketData, process="control", channel="md"), view, telemetry)),
        asyncio.create_task(_tick(telemetry)),
        asyncio.create_task(overlay.watch(cfg, lambda new: _reconfigure(new, view, telemetry), stop)),
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
    try:
        cfg = overlay.effective(cfg)
    except PmmError as exc:
        raise SystemExit(f"control: {exc}") from exc
    runtime.run("control", "control", lambda stop: main(cfg, stop), level=cfg.stack.log_level)


if __name__ == "__main__":
    cli()
