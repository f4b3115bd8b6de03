"""pytest fixtures that own a test's resources and always release them, pass or fail.

Registered for the whole suite by tests/conftest.py, so a test asks for one by name:

- `run_dir`: a short, fresh directory for ipc sockets and a stack's files, removed after;
- `zmq_sockets`: opens zmq sockets (LINGER 0) and closes every one of them, then its context;
- `start_sim`: starts a venue simulator thread for a config and stops every one it started.

A test then needs no try/finally of its own for these.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

import pytest
import zmq
import zmq.asyncio

if TYPE_CHECKING:
    from common.config import Config
    from tests.support.sim import SimThread


class _Closable(Protocol):
    def close(self, linger: int | None = ...) -> None: ...


S = TypeVar("S", bound=_Closable)

StartSim = Callable[["Config"], "SimThread"]
"""The type of the `start_sim` fixture, for a test's signature."""


@pytest.fixture()
def run_dir() -> Iterator[Path]:
    """A fresh directory under /tmp, removed after the test. Short on purpose: a unix socket
    path is limited to ~100 bytes, and pytest's tmp_path can be longer than that."""
    path = Path(tempfile.mkdtemp(prefix="pmm-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


class Sockets:
    """The zmq sockets of one test: opened here or adopted, all closed with LINGER 0."""

    def __init__(self) -> None:
        self.ctx = zmq.asyncio.Context()
        self._open: list[_Closable] = []

    def open(self, kind: int) -> zmq.asyncio.Socket:
        """A new asyncio socket of `kind` (zmq.PUB, zmq.PULL, ...) with LINGER 0."""
        sock = self.ctx.socket(kind)
        sock.setsockopt(zmq.LINGER, 0)
        return self.adopt(sock)

    def adopt(self, sock: S) -> S:
        """Close `sock` (opened elsewhere, e.g. by common.bus) with the others."""
        self._open.append(sock)
        return sock

    def close(self) -> None:
        for sock in reversed(self._open):
            sock.close(linger=0)
        self._open.clear()
        self.ctx.term()


@pytest.fixture()
def zmq_sockets() -> Iterator[Sockets]:
    """Sockets for the test (sync or inside asyncio.run): closed, and the context terminated,
    after it."""
    sockets = Sockets()
    try:
        yield sockets
    finally:
        sockets.close()


@pytest.fixture()
def start_sim() -> Iterator[StartSim]:
    """`start_sim(cfg)` starts a simulator thread on a loopback port and returns it; every
    simulator started is stopped after the test."""
    from tests.support.sim import SimThread  # the simulator loads only for tests that use it

    started: list[SimThread] = []

    def start(cfg: Config) -> SimThread:
        sim = SimThread(cfg).start()
        started.append(sim)
        return sim

    try:
        yield start
    finally:
        for sim in reversed(started):
            sim.stop()
