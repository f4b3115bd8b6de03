"""After the adapter derives its API key again, the user channel reconnects and subscribes
with the credentials as they are now (the old subscription may be dead)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

from services.executor.polymarket_fills import Identity
from services.executor.polymarket_user import UserChannel
from tests.support.wait import eventually_async


def test_reconnect_subscribes_again_with_the_new_credentials() -> None:
    asyncio.run(_reconnect())


async def _reconnect() -> None:
    subscriptions: list[dict[str, Any]] = []

    async def venue(ws: ServerConnection) -> None:
        async for text in ws:
            if text != "PING":
                subscriptions.append(json.loads(text))

    async with serve(venue, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        auth = {"apiKey": "old", "secret": "s", "passphrase": "p"}
        channel = UserChannel(f"ws://127.0.0.1:{port}/user", auth=auth, condition_ids=["0x1"],
                              me=Identity(api_key="old"), assets={})
        run = asyncio.create_task(channel.run(object()))  # type: ignore[arg-type]
        try:
            await eventually_async(lambda: len(subscriptions) == 1)
            auth.update(apiKey="new")  # what the adapter does after deriving the key
            channel.reconnect()
            await eventually_async(lambda: len(subscriptions) == 2)
            assert [s["auth"]["apiKey"] for s in subscriptions] == ["old", "new"]
        finally:
            run.cancel()
            await asyncio.gather(run, return_exceptions=True)
