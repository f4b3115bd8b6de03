"""Small fakes that many tests share."""

from __future__ import annotations


class NsClock:
    """A nanosecond clock that only the test moves (`clock.ns += ...`); call it for the time.

    Stands in for `time.time_ns`/`time.monotonic_ns` where code takes a clock."""

    def __init__(self, ns: int) -> None:
        self.ns = ns

    def __call__(self) -> int:
        return self.ns
