"""A market-data source for benchmarks: Polymarket's market channel at a fixed update rate.

Speaks the real wire shapes (a `book` array on subscribe, then `price_change` events),
so the real ingest process reads it exactly as it reads the venue. Each update toggles
a level at the top of one market's book, round-robin, so every update moves that
market's fair value and the quoters requote.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from websockets.asyncio.server import ServerConnection, serve


def _book(asset: str, market: str) -> dict[str, object]:
    return {
        "event_type": "book", "asset_id": asset, "market": market,
        "bids": [{"price": "0.48", "size": "500"}, {"price": "0.47", "size": "500"}],
        "asks": [{"price": "0.52", "size": "500"}, {"price": "0.53", "size": "500"}],
        "timestamp": str(int(time.time() * 1000)), "hash": "0",
    }


def _change(asset: str, market: str, present: bool) -> str:
    return json.dumps({
        "event_type": "price_change", "market": market, "timestamp": str(int(time.time() * 1000)),
        "price_changes": [{
            "asset_id": asset, "price": "0.49", "size": "300" if present else "0", "side": "BUY",
            "hash": "0", "best_bid": "0.49" if present else "0.48", "best_ask": "0.52",
        }],
    })


async def run(port: int, assets: dict[str, str], rate: float, duration: float, warmup: float,
              report: str = "") -> None:
    clients: set[ServerConnection] = set()

    async def handler(ws: ServerConnection) -> None:
        async for raw in ws:
            if raw == "PING":
                await ws.send("PONG")
                continue
            msg = json.loads(raw)
            ids = msg.get("assets_ids", [])
            await ws.send(json.dumps([_book(a, assets[a]) for a in ids if a in assets]))
            clients.add(ws)

    async with serve(handler, "127.0.0.1", port, compression=None):
        print(f"feed: serving on ws://127.0.0.1:{port}/ws/market", flush=True)
        await asyncio.sleep(warmup)
        items = list(assets.items())
        state = {a: False for a in assets}
        period = 1.0 / rate
        start = time.perf_counter()
        n = 0
        while time.perf_counter() - start < duration:
            asset, market = items[n % len(items)]
            state[asset] = not state[asset]
            frame = _change(asset, market, state[asset])
            for ws in list(clients):
                try:
                    await ws.send(frame)
                except Exception:  # noqa: BLE001 - a client left; the benchmark notices
                    clients.discard(ws)
            n += 1
            delay = start + n * period - time.perf_counter()
            await asyncio.sleep(max(0.0, delay))
        elapsed = time.perf_counter() - start
        print(f"feed: sent {n} updates in {elapsed:.1f}s", flush=True)
        if report:
            with open(report, "w") as f:  # noqa: ASYNC230 - once, after the timed feed
                json.dump({"sent": n, "seconds": elapsed}, f)
        await asyncio.sleep(1.0)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--assets", required=True, help="JSON {asset_id: condition_id}")
    p.add_argument("--rate", type=float, default=1000)
    p.add_argument("--duration", type=float, default=10)
    p.add_argument("--warmup", type=float, default=5)
    p.add_argument("--report", default="", help="write {sent, seconds} here as JSON at the end")
    a = p.parse_args()
    asyncio.run(run(a.port, json.loads(a.assets), a.rate, a.duration, a.warmup, a.report))


if __name__ == "__main__":
    main()
