"""Plain-text rendering of the status document for terminals."""

from __future__ import annotations

from typing import Any


def _p(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}" if value * 100 == int(value * 100) else f"{value:.4f}"


def _n(value: float) -> str:
    return f"{value:,.2f}"


def table(doc: dict[str, Any]) -> str:
    """A fixed-width table: one row per market, then totals and kill/pause state."""
    header = (
        f"{'market':16s} {'book':>11s} {'our bid':>7s} {'our ask':>7s} {'YES':>8s} {'NO':>8s} "
        f"{'net':>8s} {'realized$':>10s} {'marked$':>9s} {'orders':>6s} {'fills':>5s} state"
    )
    lines = [header, "-" * len(header)]
    for m in doc.get("markets", []):
        book = f"{_p(m.get('book_bid'))}/{_p(m.get('book_ask'))}"
        state = "HALTED " + m.get("halt_reason", "") if m.get("halted") else (
            "stale" if m.get("stale") else "quoting" if m.get("open_orders") else "idle")
        lines.append(
            f"{m['id'][:16]:16s} {book:>11s} {_p(m.get('bid')):>7s} {_p(m.get('ask')):>7s} "
            f"{_n(m['position_yes']):>8s} {_n(m['position_no']):>8s} {_n(m['net_position']):>8s} "
            f"{m['realized_pnl_usd']:>10.2f} {m['marked_pnl_usd']:>9.2f} {m['open_orders']:>6d} "
            f"{m['fills']:>5d} {state}"
        )
    kill = doc.get("kill", {})
    lines.append("")
    lines.append(
        f"total P&L ${doc.get('total_pnl_usd', 0.0):.2f}   "
        f"kill switch: {'ACTIVE (' + kill.get('reason', '') + ')' if kill.get('active') else 'off'}   "
        f"{'PAUSED' if doc.get('paused') else ''}"
    )
    procs = doc.get("processes", {})
    if procs:
        alive = [n for n, p in procs.items() if p.get("alive")]
        dead = [n for n, p in procs.items() if not p.get("alive")]
        lines.append(f"processes alive: {', '.join(alive) or '-'}" + (f"   SILENT: {', '.join(dead)}" if dead else ""))
    return "\n".join(lines)
