"""Seeded, deterministic order, trade and transaction ids of the simulated venues.

One RNG draws every id, so a run with the same seed and the same requests hands out the
same ids (tests and replays compare them).
"""

from __future__ import annotations

import random

__all__ = ["SeededIds"]


class SeededIds:
    """Ids drawn from one seeded RNG: 256-bit hex (Polymarket) and UUID4 (trades, Kalshi)."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def hex256(self) -> str:
        """A `0x`-prefixed 256-bit hex id (order ids of the background traders, tx hashes)."""
        return "0x" + format(self._rng.getrandbits(256), "064x")

    def uuid4(self) -> str:
        """A UUID4 made of 128 seeded bits (version and variant bits set)."""
        b = bytearray(self._rng.getrandbits(128).to_bytes(16, "big"))
        b[6] = (b[6] & 0x0F) | 0x40
        b[8] = (b[8] & 0x3F) | 0x80
        h = b.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
