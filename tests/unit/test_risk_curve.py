"""CURVE on the bus over loopback tcp: a trusted key gets through, an unknown one is refused
and counted, a missing or empty trusted-keys directory stops startup."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import zmq
import zmq.auth

from common import bus, metrics
from common.config import CurveConfig
from common.errors import BusError


def certs(tmp_path: Path) -> dict[str, Path]:
    """server, trusted client and untrusted client certificates; trusted dir with the client."""
    out: dict[str, Path] = {}
    for name in ("server", "client", "mallory"):
        d = tmp_path / name
        d.mkdir()
        public, secret = zmq.auth.create_certificates(d, name)
        out[name], out[name + "_public"] = Path(secret), Path(public)
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    (trusted / "client.key").write_bytes(out["client_public"].read_bytes())
    out["trusted"] = trusted
    return out


def curve_cfg(c: dict[str, Path], client: str) -> CurveConfig:
    return CurveConfig(enabled=True, server_cert=str(c["server"]),
                       server_public=str(c["server_public"]), client_cert=str(c[client]),
                       trusted_keys_dir=str(c["trusted"]))


def refused() -> float:
    return metrics.BUS_AUTH_REFUSED.labels(process="test")._value.get()  # noqa: SLF001


def test_trusted_peer_passes_and_an_unknown_key_is_refused_and_counted(tmp_path: Path) -> None:
    c = certs(tmp_path)
    asyncio.run(_scenario(c))


async def _scenario(c: dict[str, Path]) -> None:
    good, bad = curve_cfg(c, "client"), curve_cfg(c, "mallory")
    auth = bus.start_authenticator(good, process="test")
    assert auth is not None
    socks: list[zmq.asyncio.Socket] = []
    try:
        server = bus.pull("tcp://127.0.0.1:*", curve=bus.server_curve(good))
        socks.append(server)
        ep = server.getsockopt(zmq.LAST_ENDPOINT).decode()
        before = refused()
        intruder = bus.push([ep], curve=bus.client_curve(bad), send_timeout_ms=50)
        socks.append(intruder)
        friend = bus.push([ep], curve=bus.client_curve(good), send_timeout_ms=1000)
        socks.append(friend)
        deadline = asyncio.get_running_loop().time() + 5
        while refused() <= before and asyncio.get_running_loop().time() < deadline:
            try:
                await intruder.send(b"from mallory", flags=zmq.NOBLOCK)
            except zmq.Again:
                pass  # IMMEDIATE=1: never queued for a peer that did not complete the handshake
            await asyncio.sleep(0.02)
        assert refused() > before, "the untrusted peer was not refused"
        got = b""
        while not got and asyncio.get_running_loop().time() < deadline + 5:
            try:
                await friend.send(b"hello", flags=zmq.NOBLOCK)
            except zmq.Again:
                pass  # handshake (and ZAP) not finished yet
            if await server.poll(50):
                got = await server.recv()
        assert got == b"hello"
        assert not await server.poll(200)  # nothing from mallory ever arrives
    finally:
        for s in socks:
            s.close(linger=0)
        auth.stop()


def test_missing_or_empty_trusted_dir_stops_startup(tmp_path: Path) -> None:
    c = certs(tmp_path)
    with pytest.raises(BusError, match="not a directory"):
        bus.start_authenticator(CurveConfig(enabled=True, trusted_keys_dir=str(tmp_path / "x")),
                                process="test")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BusError, match="holds no public key"):
        bus.start_authenticator(CurveConfig(enabled=True, trusted_keys_dir=str(empty)),
                                process="test")
    with pytest.raises(BusError, match="no secret key"):
        bus.server_curve(CurveConfig(enabled=True, server_cert=str(c["server_public"])))
    assert bus.start_authenticator(CurveConfig(), process="test") is None  # off: nothing


def test_curve_is_not_applied_to_ipc(tmp_path: Path) -> None:
    c = certs(tmp_path)
    sock = bus.pull(f"ipc://{tmp_path}/x.sock", curve=bus.server_curve(curve_cfg(c, "client")))
    try:
        assert sock.getsockopt(zmq.CURVE_SERVER) == 0
    finally:
        sock.close(linger=0)
