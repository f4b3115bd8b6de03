"""Gaps in an executor's fill sequence, as risk sees them.

Fills travel from each executor to risk on PUB/SUB, which drops silently at its
high-water mark: a fill dropped while risk is alive would never reach the journal. So
each executor numbers its live fill and reversal publishes 1, 2, 3, ... (`Fill.pub_seq`,
per process) and repeats the newest number in every heartbeat (`Heartbeat.pub_seq`).
Both travel on the same socket, so they arrive in the order they were sent. Per venue,
risk keeps the last number it saw and when it last saw an unbroken run:

    fill      seq == last + 1    in order
              seq  > last + 1    a gap: replay from the end of the last unbroken run
              seq <= last        the executor restarted (its numbers start again):
                                 a new baseline (its restart replays on its own)
    heartbeat seq  > last        the newest fills were dropped: replay
              seq  < last        restarted: a new baseline

Replayed fills are numbered in the same sequence: a replay is a burst, often sent just
after the socket overflowed, and a fill it drops is a gap like any other (the chaos test
tests/chaos/test_faults_hwm.py lost fills that way while replays went unnumbered). Risk
dedupes replayed fills by trade id, so asking for a replay too often costs time, never a
position.
"""

from __future__ import annotations


class FillSequence:
    """Per venue: the last fill number seen and the wall time of the last unbroken one."""

    def __init__(self) -> None:
        self._last: dict[str, int] = {}
        self._unbroken_ns: dict[str, int] = {}
        self.gaps = 0

    def on_fill(self, venue: str, seq: int, now_ns: int) -> int | None:
        """Note a live fill's number; the wall time to replay from if one was missed."""
        if seq <= 0:
            return None
        last = self._last.get(venue)
        self._last[venue] = seq
        if last is None or seq <= last or seq == last + 1:
            self._unbroken_ns[venue] = now_ns
            return None
        return self._gap(venue, now_ns)

    def on_heartbeat(self, venue: str, seq: int, now_ns: int) -> int | None:
        """Note the executor's newest number; the wall time to replay from if it is ahead."""
        last = self._last.get(venue)
        if last is None or seq < last:
            self._last[venue] = seq
            self._unbroken_ns[venue] = now_ns
            return None
        if seq == last:
            return None
        self._last[venue] = seq
        return self._gap(venue, now_ns)

    def _gap(self, venue: str, now_ns: int) -> int:
        self.gaps += 1
        since = self._unbroken_ns.get(venue, now_ns)
        self._unbroken_ns[venue] = now_ns
        return since
