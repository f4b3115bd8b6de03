"""The HTTP control plane: routes match the OpenAPI document; changes need the token."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

import pytest

from common import auth, config
from services.control.http import make_app
from services.control.http_markets import SPEC_PATH
from services.control.state import StatusView

ROOT = Path(__file__).resolve().parents[2]


def app(tmp_path: Path) -> web.Application:
    text = (ROOT / "deploy" / "demo.toml").read_text().replace('run_dir = "../.pmm/demo"', f'run_dir = "{tmp_path}"')
    cfg = config.parse(text)
    return make_app(cfg, StatusView(cfg), b"s3cret", None)


def test_every_route_is_in_the_spec_and_back(tmp_path: Path) -> None:
    served = {(r.method.lower(), r.resource.canonical) for r in app(tmp_path).router.routes()  # type: ignore[union-attr]
              if r.method != "HEAD"}
    spec = json.loads(SPEC_PATH.read_text())
    documented = {(m, p) for p, ops in spec["paths"].items() for m in ops}
    assert served == documented
    for (method, path) in documented:
        op = spec["paths"][path][method]
        assert ("security" in op) == (method != "get"), (method, path)  # every change is guarded


def test_changes_need_the_token_and_reads_do_not(tmp_path: Path) -> None:
    async def run() -> None:
        async with TestClient(TestServer(app(tmp_path))) as client:
            assert (await client.get("/openapi.json")).status == 200
            assert (await client.get("/markets/fed-cut-dec/config")).status == 200
            assert (await client.get("/markets/nope/config")).status == 404
            for method, path in (("POST", "/flatten"), ("POST", "/markets"), ("DELETE", "/markets/x"),
                                 ("PATCH", "/markets/fed-cut-dec/config"), ("POST", "/pause")):
                resp = await client.request(method, path, headers={"Authorization": "Bearer wrong"})
                assert resp.status == 401, (method, path)
            bearer = {"Authorization": f"Bearer {auth.http_token(b's3cret')}"}
            resp = await client.patch("/markets/fed-cut-dec/config", json={"spread": 0.9}, headers=bearer)
            assert resp.status == 400 and "--spread 0.9" in (await resp.json())["error"]
            resp = await client.patch("/markets/fed-cut-dec/config", json={"max-loss": 50}, headers=bearer)
            assert resp.status == 200 and (await resp.json())["max_loss_usd"] == 50
            resp = await client.delete("/markets/nope", headers=bearer)
            assert resp.status == 404 and "unknown market" in (await resp.json())["error"]

    asyncio.run(run())


TOKEN = auth.http_token(b"s3cret")


@pytest.mark.parametrize("header", [
    b"Bearer s3cret",  # the control secret itself is not the token
    b"",
    b"Bearer ",
    b"Bearer",
    b"Basic " + TOKEN.encode(),
    b"Bearer  " + TOKEN.encode(),
    b"Bearer " + TOKEN.encode() + b" x",
    b"Bearer " + TOKEN[:-1].encode(),
    "Bearer ľšč".encode(),
    "Bearer ſ".encode(),  # folds to "S" under a Unicode case-insensitive match
    b"Bearer \xff\xfe",
    "Bearer ".encode() + "\u00e9".encode() * 64,
])
def test_any_malformed_or_wrong_token_is_a_401(tmp_path: Path, header: bytes) -> None:
    """Raw header bytes on a real socket: a non-ASCII token was a 500 (TypeError in compare)."""

    async def run() -> int:
        async with TestClient(TestServer(app(tmp_path))) as client:
            reader, writer = await asyncio.open_connection(client.host, client.port)
            writer.write(b"POST /pause HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                         b"Authorization: " + header + b"\r\nConnection: close\r\n\r\n")
            await writer.drain()
            status = int((await reader.readline()).split()[1])
            writer.close()
            await writer.wait_closed()
            return status

    assert asyncio.run(run()) == 401


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_the_derived_token_passes_in_any_scheme_case(tmp_path: Path, scheme: str) -> None:
    async def run() -> int:
        async with TestClient(TestServer(app(tmp_path))) as client:
            resp = await client.patch("/markets/fed-cut-dec/config", json={"max-loss": 50},
                                      headers={"Authorization": f"{scheme} {TOKEN}"})
            return resp.status

    assert asyncio.run(run()) == 200
