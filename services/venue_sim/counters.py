"""What the simulator counts about its clients: malformed requests and order outcomes.

Served by `GET /_sim/health`; tests read it to check that bad input was refused and seen.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

__all__ = ["VenueCounters"]


@dataclass
class VenueCounters:
    """Malformed requests per channel, and orders accepted and rejected on both venues."""

    malformed: Counter[str] = field(default_factory=Counter)
    orders_accepted: int = 0
    orders_rejected: int = 0

    def count_malformed(self, channel: str) -> None:
        self.malformed[channel] += 1
