"""Shared test helpers: wait for conditions with a deadline, never sleep blindly."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(cond: Callable[[], T], timeout: float = 10.0, interval: float = 0.05, what: str = "") -> T:
    """Poll `cond` until it returns a truthy value; fail with the last value after `timeout`."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            last = cond()
            error = None
        except Exception as exc:  # noqa: BLE001 - reported below if it never passes
            error = exc
            last = None
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"not true within {timeout}s: {what or cond!r}; last={last!r} error={error!r}")
