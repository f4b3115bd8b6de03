"""Risk: the only path from quoters to executors; positions, P&L, limits, kill switch, journal."""
