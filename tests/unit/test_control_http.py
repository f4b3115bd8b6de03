"""The HTTP control plane: routes match the OpenAPI document; changes need the token."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from common import config
from services.control.http import make_app
from services.control.http_markets import SPEC_PATH
from services.control.state import StatusView

ROOT = Path(__file__).resolve().parents[2]


def app(tmp_path: Path) -> web.Application:
    text = (ROOT / "deploy" / "demo.toml").read_text().replace('run_dir = ".pmm/demo"', f'run_dir = "{tmp_path}"')
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
            auth = {"Authorization": "Bearer s3cret"}
            resp = await client.patch("/markets/fed-cut-dec/config", json={"spread": 0.9}, headers=auth)
            assert resp.status == 400 and "--spread 0.9" in (await resp.json())["error"]
            resp = await client.patch("/markets/fed-cut-dec/config", json={"max-loss": 50}, headers=auth)
            assert resp.status == 200 and (await resp.json())["max_loss_usd"] == 50
            resp = await client.delete("/markets/nope", headers=auth)
            assert resp.status == 404 and "unknown market" in (await resp.json())["error"]

    asyncio.run(run())
