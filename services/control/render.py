"""Plain-text rendering of the status document for terminals."""

from __future__ import annotations

from typing import Any

__all__ = ["detail", "table"]

BOLD, RED, GREEN, YELLOW, DIM, RESET = "\x1b[1m", "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[2m", "\x1b[0m"


def _p(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if round(value * 100, 6) == int(round(value * 100, 6)) else f"{value:.4f}"


def _n(value: float) -> str:
    return f"{value:,.2f}"


def _state(m: dict[str, Any]) -> str:
    if m.get("halted"):
        return "HALTED " + m.get("halt_reason", "")
    if m.get("stale"):
        return "stale"
    return "quoting" if m.get("open_orders") else "idle"


def table(doc: dict[str, Any], *, color: bool = False) -> str:
    """A fixed-width table: one row per market, then totals and kill/pause state."""
    def c(code: str, text: str) -> str:
        return f"{code}{text}{RESET}" if color else text

    header = (
        f"{'market':16s} {'fair':>6s} {'book':>11s} {'our bid':>7s} {'our ask':>7s} {'YES':>8s} "
        f"{'NO':>8s} {'net':>8s} {'@avg':>6s} {'skew':>5s} {'realized$':>10s} {'marked$':>9s} "
        f"{'orders':>6s} {'fills':>5s} state"
    )
    lines = [c(BOLD, header), "-" * len(header)]
    for m in doc.get("markets", []):
        book = f"{_p(m.get('book_bid'))}/{_p(m.get('book_ask'))}"
        state = _state(m)
        pnl = m["realized_pnl_usd"] + m["marked_pnl_usd"]
        row = (
            f"{m['id'][:16]:16s} {_p(m.get('fair_value')):>6s} {book:>11s} {_p(m.get('bid')):>7s} "
            f"{_p(m.get('ask')):>7s} {_n(m['position_yes']):>8s} {_n(m['position_no']):>8s} "
            f"{_n(m['net_position']):>8s} {_p(m.get('avg_price')):>6s} {m.get('skew', 0.0):>+5.0%} "
            f"{m['realized_pnl_usd']:>10.2f} {m['marked_pnl_usd']:>9.2f} {m['open_orders']:>6d} "
            f"{m['fills']:>5d} "
        )
        code = RED if m.get("halted") else YELLOW if state in ("stale", "idle") else GREEN if pnl >= 0 else ""
        lines.append(row + (c(code, state) if code else state))
    kill = doc.get("kill", {})
    lines.append("")
    kill_text = "ACTIVE (" + kill.get("reason", "") + ")" if kill.get("active") else "off"
    lines.append(
        f"total P&L ${doc.get('total_pnl_usd', 0.0):.2f}   "
        f"kill switch: {c(RED, kill_text) if kill.get('active') else kill_text}   "
        f"{c(YELLOW, 'PAUSED') if doc.get('paused') else ''}"
    )
    procs = doc.get("processes", {})
    if procs:
        alive = [n for n, p in procs.items() if p.get("alive")]
        dead = [n for n, p in procs.items() if not p.get("alive")]
        lines.append(f"processes alive: {', '.join(alive) or '-'}"
                     + (f"   {c(RED, 'SILENT: ' + ', '.join(dead))}" if dead else ""))
    return "\n".join(lines)


def detail(doc: dict[str, Any]) -> str:
    """`pmm status <id>`: the market's reference price and its close-or-hedge analysis."""
    lines: list[str] = []
    for m in doc.get("markets", []):
        if m.get("reference_feed"):
            ref = m.get("reference")
            lines.append(f"reference {m['reference_feed']}: "
                         + ("no price yet" if ref is None else f"{ref:,.2f}"))
        h = m.get("hedge")
        if not h:
            lines.append("hedge analysis: flat, nothing to hedge")
            continue
        lines += [
            f"hedge analysis: holding {h['size']:,.2f} {h['holding'].upper()} at {_p(h['cost'])}, "
            f"marked P&L ${h['marked_pnl_usd']:,.2f}",
            f"  hold   worst case ${h['hold_worst_usd']:>12,.2f}",
            f"  close  worst case ${h['close_pnl_usd']:>12,.2f}  (cash in now ${h['close_cash_usd']:,.2f}"
            + (f", {h['close_unfilled']:,.2f} the book cannot take" if h['close_unfilled'] else "") + ")",
            f"  hedge  worst case ${h['hedge_worst_usd']:>12,.2f}  (buy the complement for "
            f"${h['hedge_cash_usd']:,.2f}" + (f", {h['hedge_unfilled']:,.2f} unfilled"
                                              if h['hedge_unfilled'] else "") + ")",
            f"  recommendation: {h['recommendation'].upper()} - {h['reason']}",
        ]
    return "\n".join(lines)
