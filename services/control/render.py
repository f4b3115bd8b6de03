"""Plain-text rendering of the status document for terminals."""

from __future__ import annotations

from typing import Any

from services.control.programs import impact

__all__ = ["detail", "duration", "program_items", "programs", "state", "table"]

BOLD, RED, GREEN, YELLOW, DIM, RESET = "\x1b[1m", "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[2m", "\x1b[0m"


def _p(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if round(value * 100, 6) == int(round(value * 100, 6)) else f"{value:.4f}"


def _n(value: float) -> str:
    return f"{value:,.2f}"


def duration(seconds: float) -> str:
    """3s, 4m05s, 2h03m, 3d04h."""
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86_400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86_400}d{s % 86_400 // 3600:02d}h"


def state(m: dict[str, Any]) -> str:
    """A market's state word: HALTED <reason>, stale, quoting or idle."""
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
        word = state(m)
        pnl = m["realized_pnl_usd"] + m["marked_pnl_usd"]
        row = (
            f"{m['id'][:16]:16s} {_p(m.get('fair_value')):>6s} {book:>11s} {_p(m.get('bid')):>7s} "
            f"{_p(m.get('ask')):>7s} {_n(m['position_yes']):>8s} {_n(m['position_no']):>8s} "
            f"{_n(m['net_position']):>8s} {_p(m.get('avg_price')):>6s} {m.get('skew', 0.0):>+5.0%} "
            f"{m['realized_pnl_usd']:>10.2f} {m['marked_pnl_usd']:>9.2f} {m['open_orders']:>6d} "
            f"{m['fills']:>5d} "
        )
        code = RED if m.get("halted") else YELLOW if word in ("stale", "idle") else GREEN if pnl >= 0 else ""
        lines.append(row + (c(code, word) if code else word))
    kill = doc.get("kill", {})
    lines.append("")
    kill_text = "ACTIVE (" + kill.get("reason", "") + ")" if kill.get("active") else "off"
    lines.append(
        f"total P&L ${doc.get('total_pnl_usd', 0.0):.2f}   {capital(doc)}   "
        f"kill switch: {c(RED, kill_text) if kill.get('active') else kill_text}   "
        f"{c(YELLOW, 'PAUSED') if doc.get('paused') else ''}"
    )
    lines += programs(doc, color=color)
    return "\n".join(lines)


def capital(doc: dict[str, Any]) -> str:
    """The accounts' collateral and what our orders lock, as one footer item."""
    held = doc.get("collateral_usd")
    locked = doc.get("locked_usd", 0.0)
    return (f"collateral ${held:,.2f} (${locked:,.2f} locked)" if held is not None
            else f"collateral not read (${locked:,.2f} locked)")


def program_items(doc: dict[str, Any]) -> tuple[list[tuple[str, str]], list[str]]:
    """Supervisord's programs (`doc["programs"]`) as (label, level) pairs, level "down",
    "restarted" or "", and a note for each one down or silent (no heartbeat) saying what
    the stack loses. Shared by the plain table and the live view."""
    silent = {n for n, p in doc.get("processes", {}).items() if not p.get("alive")}
    items: list[tuple[str, str]] = []
    notes: list[str] = []
    for p in doc.get("programs") or []:
        up = p["state"] == "RUNNING"
        label = f"{p['name']} {duration(p['uptime_s'])}" if up else f"{p['name']} {p['state']}"
        if p["restarts"]:
            label += f" ({p['restarts']} restart{'s' if p['restarts'] != 1 else ''})"
        down = not up or p["name"] in silent
        items.append((label, "down" if down else "restarted" if p["restarts"] else ""))
        if not up:
            notes.append(f"{p['name']} is {p['state']}: {p['impact']}")
        elif p["name"] in silent:
            notes.append(f"{p['name']} is RUNNING but silent (no heartbeat): "
                         f"{impact(p['name'])}")
    return items, notes


def programs(doc: dict[str, Any], *, color: bool = False) -> list[str]:
    """One line for every program (supervisord's view), then one per program down or
    silent; the control plane's heartbeat view alone when supervisord's is not in `doc`."""
    def c(code: str, text: str) -> str:
        return f"{code}{text}{RESET}" if color else text

    if not doc.get("programs"):
        procs = doc.get("processes", {})
        if not procs:
            return []
        silent = sorted(n for n, p in procs.items() if not p.get("alive"))
        alive = [n for n in procs if n not in silent]
        return [f"processes alive: {', '.join(alive) or '-'}"
                + (f"   {c(RED, 'SILENT: ' + ', '.join(silent))}" if silent else "")]
    items, notes = program_items(doc)
    codes = {"down": RED, "restarted": YELLOW}
    parts = [c(codes[level], label) if level else label for label, level in items]
    return ["programs: " + ", ".join(parts)] + [c(RED, f"  {n}") for n in notes]


def reward_line(r: dict[str, Any] | None) -> str:
    """A market's liquidity-reward standing in one line (`pmm status <id>`)."""
    if not r or not r.get("checked"):
        return "rewards: not checked yet"
    if not r["eligible"]:
        return "rewards: no programme on this market"
    why = ", ".join(f"{n} {k}" for k, n in sorted(r["not_scoring"].items()))
    if r.get("kind") == "kalshi_liquidity":
        return (f"rewards: Kalshi liquidity incentive ${r['daily_usd']:,.2f}/day, target "
                f"{r['target_size']:,.0f} contracts from the best price, x{r['discount']:.2f} a "
                f"cent away; {r['scoring_orders']} of {r['orders']} orders scoring by its rules"
                f"{f' (not: {why})' if why else ''}; share {r['share']:.1%}, est "
                f"${r['est_usd_per_day']:,.2f}/day")
    return (f"rewards: pool ${r['daily_usd']:,.2f}/day within {r['max_spread'] * 100:.1f}c of "
            f"the mid, min {r['min_size']:,.0f}; {r['scoring_orders']} of {r['orders']} orders "
            f"scoring{f' (not: {why})' if why else ''}; share {r['share']:.1%}, est "
            f"${r['est_usd_per_day']:,.2f}/day")


def detail(doc: dict[str, Any]) -> str:
    """`pmm status <id>`: the market's reference price and its close-or-hedge analysis."""
    lines: list[str] = []
    for m in doc.get("markets", []):
        lines.append(reward_line(m.get("reward")))
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
