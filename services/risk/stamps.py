"""The stamps on every command risk sends an executor: a risk sequence number that keeps
increasing across restarts, an expiry (a command queued behind a reconnect must not act
late, DESIGN.md), and the gate's incarnation."""

from __future__ import annotations

from collections.abc import Callable

from common.messages import CancelMarket

__all__ = ["Stamper"]


class Stamper:
    """Sequence, expiry and instance for one gate. `wall_ns` is the wall clock: other
    hosts compare the expiry."""

    def __init__(self, *, instance: str, ttl_ms: int, wall_ns: Callable[[], int]) -> None:
        self.instance = instance
        self._ttl_ns = ttl_ms * 1_000_000
        self._wall = wall_ns
        # Wall-clock microseconds, so a restarted risk's sequence keeps increasing.
        self._seq = wall_ns() // 1_000

    def next_seq(self) -> int:
        """The next risk sequence number."""
        self._seq += 1
        return self._seq

    def expiry(self) -> int:
        """The expiry of a command sent now, unix ns."""
        return self._wall() + self._ttl_ns

    def cancel(self, venue: str, market: str, reason: str) -> CancelMarket:
        """A CancelMarket for one market of a venue ("" for every market)."""
        return CancelMarket(
            venue=venue,  # type: ignore[arg-type]
            market=market, reason=reason, risk_seq=self.next_seq(), expires_at_ns=self.expiry(),
        )
