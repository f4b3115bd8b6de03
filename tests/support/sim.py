"""A simulated venue served on its own uvloop in a background thread, for tests.

The conformance suite, the simulator's own tests and the adapters' tests all drive the real
server (`services.venue_sim.server`) over real HTTP and websockets on an ephemeral loopback port.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
import uvloop

from common.config import Config
from services.venue_sim.server import start_site
from services.venue_sim.venue import Venue


class SimThread:
    """A venue served on its own uvloop in a thread; `port` is known once started."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.port = 0
        self.venue: Venue | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self.venue = Venue(self.cfg)
            runner = await start_site(self.venue, "127.0.0.1", 0)
            self.port = runner.addresses[0][1]
            self._ready.set()
            try:
                await self._stop.wait()
            finally:
                await runner.cleanup()

        try:
            uvloop.run(main())
        except BaseException as exc:  # surfaced by start()/stop() in the test thread
            self._error = exc
            self._ready.set()

    def start(self) -> SimThread:
        self._thread.start()
        assert self._ready.wait(10), "venue did not start"
        if self._error:
            raise self._error
        return self

    def stop(self) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
        assert not self._thread.is_alive()
        if self._error:
            raise self._error

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def state(self) -> dict[str, Any]:
        return httpx.get(f"{self.url}/_sim/state").json()
