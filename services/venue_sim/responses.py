"""The JSON response both simulated venues answer with (each venue shapes its own errors)."""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web

__all__ = ["reply"]

_enc = msgspec.json.Encoder()


def reply(body: Any, status: int = 200, *, headers: dict[str, str] | None = None) -> web.Response:
    """`body` as a JSON response."""
    return web.Response(body=_enc.encode(body), status=status, content_type="application/json",
                        headers=headers)
