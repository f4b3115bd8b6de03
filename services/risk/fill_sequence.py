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
                                 a new baseline, and a gap if it is past 1
    heartbeat seq  > last        the newest fills were dropped: replay
              seq  < last        restarted: a new baseline, and a gap if it is past 0

The first number risk sees from an executor is a baseline too, and a gap if fills came
before it: an executor that started just before risk was frozen published its first two
fills into a full queue, and risk, whose first sight of it was a heartbeat numbered 2,
took that as the start (tests/chaos/test_faults_hwm.py, 100 contracts never replayed). A
first-sight gap replays from risk's own start, a restart's from the old run's last
unbroken fill; both overlap the executor's own start-up replay, which dedupe makes free.

Replayed fills are numbered in the same sequence: a replay is a burst, often sent just
after the socket overflowed, and a fill it drops is a gap like any other. So a gap is
only closed by a replay that arrived whole: each ReplayRequest carries an id, the
executor echoes it in the VenuePositions it sends after the replay's fills, and only
that snapshot, with no gap before it, closes the hole. Until then every new request
replays from the oldest hole's time, however many gaps came since (the chaos test
tests/chaos/test_faults_hwm.py lost fills when each gap moved the start forward). Risk
dedupes replayed fills by trade id, so asking for a replay too often costs time, never a
position.
"""

from __future__ import annotations

__all__ = ["FillSequence"]


class FillSequence:
    """Per venue: the last fill number seen and the wall time of the last unbroken one."""

    def __init__(self, start_ns: int = 0) -> None:
        self._start_ns = start_ns
        """Risk's start (wall ns): where a first-sight gap replays from."""
        self._last: dict[str, int] = {}
        self._unbroken_ns: dict[str, int] = {}
        self._hole_ns: dict[str, int] = {}
        """Per venue, where the oldest gap not yet replayed whole starts."""
        self._asked: dict[str, int] = {}
        """Per venue, the id of the newest ReplayRequest."""
        self._asked_ns: dict[str, int] = {}
        """Per venue, when that request was sent (asked again if no answer closes the hole)."""
        self._next_id = 0
        self.gaps = 0

    def on_fill(self, venue: str, seq: int, now_ns: int, venue_ns: int = 0) -> int | None:
        """Note a fill's number; the wall time to replay from if one was missed. `venue_ns`,
        the venue's time of the fill, bounds the journal time of whatever follows it even
        when risk reads it late (a backlog, a replayed fill from hours ago)."""
        if seq <= 0:
            return None
        last = self._last.get(venue)
        self._last[venue] = seq
        unbroken = min(now_ns, venue_ns) if venue_ns > 0 else now_ns
        if last is None or seq <= last:  # first sight, or the executor restarted
            return self._baseline(venue, seq > 1, last is None, unbroken, now_ns)
        if seq == last + 1:
            self._unbroken_ns[venue] = unbroken
            return None
        return self._gap(venue, now_ns)

    def on_heartbeat(self, venue: str, seq: int, now_ns: int) -> int | None:
        """Note the executor's newest number; the wall time to replay from if it is ahead."""
        last = self._last.get(venue)
        if last is None or seq < last:  # first sight, or the executor restarted
            self._last[venue] = seq
            return self._baseline(venue, seq > 0, last is None, now_ns, now_ns)
        if seq == last:
            return None
        self._last[venue] = seq
        return self._gap(venue, now_ns)

    def request_id(self, venue: str, now_ns: int = 0) -> int:
        """The id of a new ReplayRequest to `venue` (the newest one is the one that counts)."""
        self._next_id += 1
        self._asked[venue] = self._next_id
        self._asked_ns[venue] = now_ns
        return self._next_id

    def overdue(self, now_ns: int, after_ns: int) -> list[tuple[str, int]]:
        """(venue, replay from) for every hole whose newest request is `after_ns` old with no
        whole answer: the request or its closing snapshot was lost, or the venue's positions
        were unavailable; ask again."""
        return [(venue, since) for venue, since in self._hole_ns.items()
                if now_ns - self._asked_ns.get(venue, 0) >= after_ns]

    def on_replayed(self, venue: str, replay_id: int, seq: int, now_ns: int) -> int | None:
        """A snapshot closing replay `replay_id`, sent at the executor's number `seq`: the
        hole is closed if it answers the newest request and nothing is missing before it;
        the wall time to replay from if fills are missing."""
        gap = self.on_heartbeat(venue, seq, now_ns)
        if gap is None and replay_id == self._asked.get(venue) and self._last.get(venue) == seq:
            self._hole_ns.pop(venue, None)
        return gap

    def whole(self, venue: str, seq: int) -> bool:
        """True if risk has every number up to `seq` (an executor's newest, sent with its
        venue positions) and no hole is open: the journal holds every fill it published."""
        return self._last.get(venue) == seq and venue not in self._hole_ns

    def hole_ns(self, venue: str) -> int | None:
        """Where the oldest gap not yet replayed whole starts, if there is one."""
        return self._hole_ns.get(venue)

    def _baseline(self, venue: str, missed: bool, first: bool, unbroken_ns: int,
                  now_ns: int) -> int | None:
        """A new baseline at this number; if numbers came before it (`missed`), a gap from
        risk's start (`first` sight) or from the old run's last unbroken fill."""
        if not missed:
            self._unbroken_ns[venue] = unbroken_ns
            return None
        if first:
            self._unbroken_ns[venue] = self._start_ns
        gap = self._gap(venue, now_ns)
        self._unbroken_ns[venue] = unbroken_ns
        return gap

    def _gap(self, venue: str, now_ns: int) -> int:
        self.gaps += 1
        since = min(self._unbroken_ns.get(venue, now_ns), self._hole_ns.get(venue, now_ns))
        self._hole_ns[venue] = since
        self._unbroken_ns[venue] = now_ns
        return since
