"""CURVE on risk's bound sockets over loopback tcp, with per-role keys (issues 6, 15): a
quoter's key reaches the intents PULL, an unknown key and a known role that is not on the
allow-list (an executor) are refused and counted by domain; ipc stays plain."""

from __future__ import annotations

import asyncio
from pathlib import Path

import zmq

from common import bus, bus_curve, metrics
from common.config import Config, parse
from services.control.commands.keys import write_keys
from tests.support.net import free_port


def curve_config(tmp_path: Path, *, intents: str) -> Config:
    keys = tmp_path / "keys"
    if not keys.exists():
        write_keys(keys)
    return parse(f'[stack]\nrun_dir = "{tmp_path}/run"\n[bus]\nintents = "{intents}"\n'
                 f'[bus.curve]\nenabled = true\nkeys_dir = "{keys}"\n')


def refused() -> float:
    return metrics.BUS_AUTH_REFUSED.labels(process="risk", domain="intents")._value.get()  # noqa: SLF001


def test_quoter_passes_and_strangers_and_other_roles_are_refused(tmp_path: Path) -> None:
    cfg = curve_config(tmp_path, intents=f"tcp://127.0.0.1:{free_port()}")
    asyncio.run(_scenario(cfg))


async def _scenario(cfg: Config) -> None:
    auth = bus_curve.start_authenticator(cfg, process="risk", serves=[("intents", "")])
    assert auth is not None
    socks: list[zmq.asyncio.Socket] = []
    ep = cfg.bus.intents
    try:
        server = bus.pull(ep, curve=bus_curve.server(cfg, "risk", "intents"))
        socks.append(server)
        pub, sec = zmq.curve_keypair()
        stranger = bus.Curve(public_key=pub, secret_key=sec,
                             server_keys={ep: bus_curve.public_key(cfg, "risk")})
        for curve in (stranger, bus_curve.client(cfg, "executor-kalshi", [("intents", "")])):
            before = refused()
            intruder = bus.push([ep], curve=curve, send_timeout_ms=50)
            socks.append(intruder)
            deadline = asyncio.get_running_loop().time() + 5
            while refused() <= before:
                assert asyncio.get_running_loop().time() < deadline, "peer was not refused"
                try:
                    await intruder.send(b"intruder", flags=zmq.NOBLOCK)
                except zmq.Again:
                    pass  # IMMEDIATE=1: never queued for a peer that did not complete the handshake
                await asyncio.sleep(0.02)
        friend = bus.push([ep], curve=bus_curve.client(cfg, "quoter", [("intents", "")]),
                          send_timeout_ms=1000)
        socks.append(friend)
        got = b""
        deadline = asyncio.get_running_loop().time() + 5
        while not got and asyncio.get_running_loop().time() < deadline:
            try:
                await friend.send(b"hello", flags=zmq.NOBLOCK)
            except zmq.Again:
                pass  # handshake (and ZAP) not finished yet
            if await server.poll(50):
                got = await server.recv()
        assert got == b"hello"
        while await server.poll(200):  # nothing from the intruders ever arrives
            assert await server.recv() == b"hello"
    finally:
        for s in socks:
            s.close(linger=0)
        auth.stop()


def test_no_authenticator_means_every_peer_is_refused(tmp_path: Path) -> None:
    """ZAP_ENFORCE_DOMAIN: a CURVE server whose process runs no authenticator admits nobody."""
    cfg = curve_config(tmp_path, intents=f"tcp://127.0.0.1:{free_port()}")

    async def run() -> None:
        server = bus.pull(cfg.bus.intents, curve=bus_curve.server(cfg, "risk", "intents"))
        friend = bus.push([cfg.bus.intents], curve=bus_curve.client(cfg, "quoter", [("intents", "")]),
                          send_timeout_ms=50)
        try:
            for _ in range(25):  # 0.5 s of tries: the handshake never completes
                try:
                    await friend.send(b"hello", flags=zmq.NOBLOCK)
                except zmq.Again:
                    pass
                await asyncio.sleep(0.02)
            assert not await server.poll(300)
        finally:
            friend.close(linger=0)
            server.close(linger=0)

    asyncio.run(run())


def test_curve_is_not_applied_to_ipc(tmp_path: Path) -> None:
    cfg = curve_config(tmp_path, intents=f"ipc://{tmp_path}/x.sock")
    sock = bus.pull(cfg.bus.intents, curve=bus_curve.server(cfg, "risk", "intents"))
    try:
        assert sock.getsockopt(zmq.CURVE_SERVER) == 0
    finally:
        sock.close(linger=0)
    assert bus_curve.client(cfg, "quoter", [("intents", "")]) is not None
    assert bus_curve.client(cfg, "quoter", [("intents", "")]).server_keys == {}  # type: ignore[union-attr]
