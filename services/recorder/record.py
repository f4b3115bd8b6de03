"""The recorder: subscribe to every venue's md endpoint and write what ingest publishes
(books, trades, status, heartbeats), and the reference feeds' prices when the config has
`[[references]]`, to a recording directory (common/recording.py): compressed chunks, an
index by market and time, and bounded disk use with rotation.

Frames are written as received, unchanged; a frame that is not a `[topic, payload]` pair is
dropped and counted. The open chunk is closed on stop, so every chunk on disk is complete.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path

import zmq

from common import bus, bus_curve, metrics, recording, topics
from common.config import Config, endpoint

__all__ = ["Recorder"]

log = logging.getLogger(__name__)


class Recorder:
    """Writes the md bus of `venues` into `out_dir` until stopped."""

    def __init__(
        self, cfg: Config, out_dir: str | Path, *, venues: list[str] | None = None,
        chunk_s: float = 60.0, max_bytes: int = 1 << 30,
        wall_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.cfg = cfg
        self.venues = venues or cfg.venues_in_use()
        self.writer = recording.RecordWriter(out_dir, chunk_s=chunk_s, max_bytes=max_bytes)
        self._wall = wall_ns
        self.records = 0
        self.dropped = 0
        self._closed = len(self.writer.index["chunks"])

    async def run(self, stop: asyncio.Event) -> None:
        names = list(self.venues)
        if self.cfg.references:  # the reference process publishes on its own md endpoint
            names.append("reference")
        eps = [endpoint(self.cfg, "md", v) for v in names]
        sock = bus.sub(eps, [topics.MD_ALL, topics.REFERENCE_ALL, topics.heartbeat("ingest")],
                       hwm=self.cfg.bus.recv_hwm,
                       curve=bus_curve.client(self.cfg, "recorder", [("md", v) for v in names]))
        dropped = metrics.DROPPED_FRAMES.labels(process="recorder", channel="md")
        log.info("recording %s into %s", ",".join(self.venues), self.writer.dir)
        try:
            while not stop.is_set():
                if not await sock.poll(100):
                    continue
                while True:
                    try:
                        frames = await sock.recv_multipart(flags=zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    if len(frames) != 2:
                        self.dropped += 1
                        dropped.inc()
                        continue
                    self.writer.append(self._wall(), frames[0], frames[1])
                    self.records += 1
                self._progress()
        finally:
            sock.close(linger=0)
            self.writer.close()
            self._progress()
            log.info("recorded %d records (%d dropped) into %s", self.records, self.dropped,
                     self.writer.dir)

    def _progress(self) -> None:
        """Log one line per chunk closed since the last call (the operator's progress)."""
        chunks = self.writer.index["chunks"]
        closed = len(chunks) + self.writer.deleted  # rotation may have deleted some already
        for c in chunks[len(chunks) - min(closed - self._closed, len(chunks)):]:
            log.info("chunk %s closed: %d records, %d bytes; %d records, %d chunks, %.1f MB "
                     "on disk", c["file"], c["records"], c["bytes"], self.records, len(chunks),
                     sum(x["bytes"] for x in chunks) / 2**20)
        self._closed = closed
