"""Wait for a condition with a deadline, never sleep blindly: the suite's one `eventually`.

`eventually` polls a plain function from synchronous tests; `eventually_async` polls from a
coroutine, yielding to the event loop between tries, and takes a plain function or one that
returns an awaitable (a probe that sends, then reads a socket). Both pass when the condition
returns something truthy and return that value; an exception from the condition counts as "not
yet". On timeout both fail with the last value and the last exception, so a red test says what
it saw, not only that it waited.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

DEFAULT_TIMEOUT_S = 10.0


def _timed_out(timeout: float, what: str, cond: object, last: object,
               error: Exception | None) -> AssertionError:
    return AssertionError(
        f"not true within {timeout}s: {what or cond!r}; last={last!r} error={error!r}")


def eventually(cond: Callable[[], T], timeout: float = DEFAULT_TIMEOUT_S,
               interval: float = 0.05, what: str = "") -> T:
    """Poll `cond` until it returns a truthy value, and return it; fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    last: object = None
    error: Exception | None = None
    while True:
        try:
            value = cond()
        except Exception as exc:  # noqa: BLE001 - reported below if it never passes
            last, error = None, exc
        else:
            if value:
                return value
            last, error = value, None
        if time.monotonic() >= deadline:
            raise _timed_out(timeout, what, cond, last, error) from error
        time.sleep(interval)


async def eventually_async(cond: Callable[[], T | Awaitable[T]],
                           timeout: float = DEFAULT_TIMEOUT_S, interval: float = 0.01,
                           what: str = "") -> T:
    """`eventually` from a coroutine: awaits `cond()` when it returns an awaitable, and sleeps
    on the event loop (not the thread) between tries."""
    deadline = time.monotonic() + timeout
    last: object = None
    error: Exception | None = None
    while True:
        try:
            result = cond()
            value: T = await result if inspect.isawaitable(result) else result  # type: ignore[assignment]
        except Exception as exc:  # noqa: BLE001 - reported below if it never passes
            last, error = None, exc
        else:
            if value:
                return value
            last, error = value, None
        if time.monotonic() >= deadline:
            raise _timed_out(timeout, what, cond, last, error) from error
        await asyncio.sleep(interval)
