"""Recorded market data on disk: compressed, chunked files with an index by market and time.

Shared by the recorder/replayer (services/recorder) and the backtester (research/),
which both read the same files. Layout of a recording directory:

    index.json                          chunks in time order, each with its time range,
                                        record count, bytes and per-market (first, last, count)
    chunk-<first_ts_ns>-<n>.pmmrec.gz   gzip of length-prefixed msgpack records
    chunk-...pmmrec.gz.part             the chunk being written (never read)

A record is `[ts_ns, topic, payload]`: the wall-clock receive time (unix ns), the bus topic
and the bus payload exactly as published (a `common.messages.MarketData` frame), so a replay
publishes what ingest published. The writer closes a chunk after `chunk_s` seconds or
`chunk_bytes` raw bytes, rewrites the index atomically, and deletes the oldest chunks while
the directory holds more than `max_bytes` (bounded disk use with rotation).
"""

from __future__ import annotations

import gzip
import json
import os
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import msgspec

from common.errors import PmmError

__all__ = ["FORMAT_VERSION", "INDEX", "Record", "RecordWriter", "RecordingError", "SUFFIX",
    "load_index", "market_key", "markets_of", "read"]

INDEX = "index.json"
SUFFIX = ".pmmrec.gz"
FORMAT_VERSION = 1
_LEN = struct.Struct(">I")


class RecordingError(PmmError):
    """A recording directory is missing, unreadable or not a pmm recording."""


class Record(NamedTuple):
    ts_ns: int
    topic: bytes
    payload: bytes


def market_key(topic: bytes) -> str:
    """`md.polymarket.m1|` -> `polymarket.m1`; "" for topics that name no market."""
    if not topic.startswith(b"md.") or not topic.endswith(b"|"):
        return ""
    return topic[3:-1].decode(errors="replace")


class RecordWriter:
    """Append records to rotating gzip chunks; keep the index and the disk bound current."""

    def __init__(
        self, directory: str | os.PathLike[str], *, chunk_s: float = 60.0,
        chunk_bytes: int = 8 << 20, max_bytes: int = 1 << 30, level: int = 6,
    ) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.chunk_ns = int(chunk_s * 1e9)
        self.chunk_bytes = chunk_bytes
        self.max_bytes = max_bytes
        self.level = level
        self._enc = msgspec.msgpack.Encoder()
        self.index: dict[str, Any] = load_index(self.dir) if (self.dir / INDEX).exists() else {
            "version": FORMAT_VERSION, "chunks": []}
        self._file: gzip.GzipFile | None = None
        self._meta: dict[str, Any] = {}
        self._raw = 0
        self.deleted = 0
        """Chunks removed by rotation since this writer opened."""

    def append(self, ts_ns: int, topic: bytes, payload: bytes) -> None:
        """Write one record, rotating the chunk by age or size first."""
        if self._file is not None and (
            ts_ns - self._meta["start_ns"] >= self.chunk_ns or self._raw >= self.chunk_bytes
        ):
            self.close_chunk()
        if self._file is None:
            self._open(ts_ns)
        assert self._file is not None
        body = self._enc.encode((ts_ns, topic, payload))
        self._file.write(_LEN.pack(len(body)))
        self._file.write(body)
        self._raw += len(body) + _LEN.size
        meta = self._meta
        meta["end_ns"] = max(meta["end_ns"], ts_ns)
        meta["records"] += 1
        key = market_key(topic)
        if key:
            span = meta["markets"].get(key)
            meta["markets"][key] = [ts_ns, ts_ns, 1] if span is None else [
                span[0], ts_ns, span[2] + 1]

    def _open(self, ts_ns: int) -> None:
        n = len(self.index["chunks"]) + self.deleted
        name = f"chunk-{ts_ns:020d}-{n:06d}{SUFFIX}"
        self._file = gzip.open(self.dir / (name + ".part"), "wb", compresslevel=self.level)
        self._meta = {"file": name, "start_ns": ts_ns, "end_ns": ts_ns, "records": 0,
                      "bytes": 0, "markets": {}}
        self._raw = 0

    def close_chunk(self) -> None:
        """Finish the open chunk (if any), publish it in the index and enforce the disk bound."""
        if self._file is None:
            return
        self._file.close()
        self._file = None
        name = self._meta["file"]
        (self.dir / (name + ".part")).rename(self.dir / name)
        self._meta["bytes"] = (self.dir / name).stat().st_size
        self.index["chunks"].append(self._meta)
        self._rotate()
        self._write_index()

    def _rotate(self) -> None:
        chunks = self.index["chunks"]
        while len(chunks) > 1 and sum(c["bytes"] for c in chunks) > self.max_bytes:
            oldest = chunks.pop(0)
            (self.dir / oldest["file"]).unlink(missing_ok=True)
            self.deleted += 1

    def _write_index(self) -> None:
        tmp = self.dir / (INDEX + ".tmp")
        tmp.write_text(json.dumps(self.index, indent=1))
        tmp.replace(self.dir / INDEX)

    def close(self) -> None:
        self.close_chunk()
        self._write_index()


def load_index(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """The index of a recording directory, or RecordingError saying what to do."""
    path = Path(directory) / INDEX
    try:
        index: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise RecordingError(
            f"{directory} is not a pmm recording (no {INDEX}); record one with `pmm record` "
            "or write a scenario with `pmm backtest --scenario NAME --write DIR`") from exc
    except (OSError, ValueError) as exc:
        raise RecordingError(f"cannot read {path}: {exc}") from exc
    if index.get("version") != FORMAT_VERSION or not isinstance(index.get("chunks"), list):
        raise RecordingError(f"{path}: unsupported recording format {index.get('version')!r}")
    return index


def markets_of(directory: str | os.PathLike[str]) -> list[str]:
    """Every `venue.market` key in a recording, sorted."""
    keys: set[str] = set()
    for chunk in load_index(directory)["chunks"]:
        keys.update(chunk["markets"])
    return sorted(keys)


def read(
    directory: str | os.PathLike[str], *, markets: Iterable[str] | None = None,
    start_ns: int | None = None, end_ns: int | None = None,
) -> Iterator[Record]:
    """Records in file order, optionally only some `venue.market` keys and a time range.
    Chunks outside the range or without the markets are skipped using the index; a
    truncated chunk ends early rather than failing (a crash while recording)."""
    wanted = set(markets) if markets is not None else None
    dec = msgspec.msgpack.Decoder(tuple[int, bytes, bytes])
    d = Path(directory)
    for chunk in load_index(d)["chunks"]:
        if start_ns is not None and chunk["end_ns"] < start_ns:
            continue
        if end_ns is not None and chunk["start_ns"] > end_ns:
            continue
        if wanted is not None and not (wanted & set(chunk["markets"])):
            continue
        try:
            with gzip.open(d / chunk["file"], "rb") as f:
                while True:
                    head = f.read(_LEN.size)
                    if len(head) < _LEN.size:
                        break
                    size = _LEN.unpack(head)[0]
                    body = f.read(size)
                    if len(body) < size:
                        break  # the last record was cut short: keep the ones before it
                    ts_ns, topic, payload = dec.decode(body)
                    if start_ns is not None and ts_ns < start_ns:
                        continue
                    if end_ns is not None and ts_ns > end_ns:
                        continue
                    if wanted is not None and market_key(topic) not in wanted:
                        continue
                    yield Record(ts_ns, topic, payload)
        except EOFError:
            continue  # a chunk cut short by a crash: keep what was written
        except (gzip.BadGzipFile, msgspec.DecodeError, OSError) as exc:
            raise RecordingError(f"{d / chunk['file']} is damaged: {exc}") from exc
