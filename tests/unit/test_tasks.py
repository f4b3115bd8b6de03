"""common/tasks.py: reaping tasks never absorbs the reaper's own cancellation (the
`suppress(CancelledError)` idiom did, and left an executor reconnecting to a dead venue
forever after its stop), and is bounded when a task ignores its cancellation."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
import pytest

from common.tasks import reap


async def _slow_to_stop(stopped: list[str]) -> None:
    """Takes a while to finish once cancelled (closing a connection, say)."""
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        await asyncio.sleep(0.2)
        stopped.append("child")
        raise


def test_a_cancellation_of_the_reaper_itself_propagates() -> None:
    asyncio.run(_reaper_cancelled())


async def _reaper_cancelled() -> None:
    stopped: list[str] = []
    child = asyncio.create_task(_slow_to_stop(stopped))
    await asyncio.sleep(0)
    carried_on: list[str] = []

    async def owner() -> None:
        await reap(child)
        carried_on.append("owner")  # what a swallowed cancellation would let it do

    task = asyncio.create_task(owner())
    await asyncio.sleep(0.05)  # the owner waits in reap, its child still stopping
    assert not child.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert carried_on == []
    await asyncio.wait([child])
    assert stopped == ["child"] and child.cancelled()


def test_reap_waits_for_the_children_to_finish_their_cancellation() -> None:
    asyncio.run(_children_finish())


async def _children_finish() -> None:
    stopped: list[str] = []
    children = [asyncio.create_task(_slow_to_stop(stopped), name=f"c{i}") for i in range(3)]
    await asyncio.sleep(0)
    assert await reap(*children) == set()
    assert stopped == ["child"] * 3 and all(c.cancelled() for c in children)


def test_a_task_that_ignores_its_cancellation_is_returned_and_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="common.tasks"):
        asyncio.run(_stubborn())
    assert "1 task(s) of the test still running 0.1 s after their cancellation: stubborn" \
        in caplog.text


async def _stubborn() -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                continue

    task = asyncio.create_task(stubborn(), name="stubborn")
    await asyncio.sleep(0)
    left = await reap(task, grace_s=0.1, what="the test")
    assert left == {task} and not task.done()
    release.set()
    await asyncio.wait([task])


def test_no_code_reaps_a_task_by_suppressing_cancelled_error() -> None:
    """The idiom reap replaces stays gone (it absorbs the reaper's own cancellation)."""
    root = Path(__file__).resolve().parents[2]
    found = [f"{p.relative_to(root)}:{n}"
             for top in ("common", "services", "strategy", "research")
             for p in sorted((root / top).rglob("*.py"))
             for n, line in enumerate(p.read_text().splitlines(), 1)
             if re.search(r"with (contextlib\.)?suppress\([^)]*CancelledError", line)]
    assert found == [], f"use common.tasks.reap instead: {found}"
