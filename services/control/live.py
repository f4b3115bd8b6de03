"""The live view of `pmm demo` and `pmm status --watch`.

On a terminal the view is redrawn in place (rich's Live display), fitted to the terminal's
width, with what needs attention coloured: a halted market, a latched kill switch, a stale
book, a program down or restarting. When the output is not a terminal (a pipe, a log file,
CI), every frame is appended as plain text (render.py) with no escape codes.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any, TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from services.control import render

__all__ = ["Watch", "view"]


def _p(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


_COLUMNS = (  # (name, the narrowest terminal that shows it)
    ("fair", 110), ("book", 110), ("bid", 90), ("ask", 90), ("net", 0), ("P&L $", 0),
    ("orders", 70), ("fills", 70),
)
"""Columns dropped first as the terminal narrows; market, net, P&L and state always show."""


def _market_table(doc: dict[str, Any], width: int) -> Table:
    shown = [name for name, narrowest in _COLUMNS if width >= narrowest]
    t = Table(expand=False, pad_edge=False, box=None, header_style="bold")
    t.add_column("market", no_wrap=True, overflow="ellipsis", min_width=8, max_width=18)
    for name in shown:
        t.add_column(name, justify="right", no_wrap=True, min_width=len(name))
    t.add_column("state", no_wrap=True, overflow="ellipsis", min_width=6)
    for m in doc.get("markets", []):
        state = render.state(m)
        pnl = m["realized_pnl_usd"] + m["marked_pnl_usd"]
        style = "bold red" if m.get("halted") else "yellow" if state == "stale" else \
            "dim" if state == "idle" else ""
        cells: dict[str, Any] = {
            "fair": _p(m.get("fair_value")),
            "book": f"{_p(m.get('book_bid'))}/{_p(m.get('book_ask'))}",
            "bid": _p(m.get("bid")), "ask": _p(m.get("ask")),
            "net": f"{m['net_position']:,.2f}",
            "P&L $": Text(f"{pnl:,.2f}", style="green" if pnl > 0 else "red" if pnl < 0 else ""),
            "orders": str(m["open_orders"]), "fills": str(m["fills"]),
        }
        t.add_row(m["id"], *(cells[name] for name in shown), Text(state, style=style))
    return t


def _footer(doc: dict[str, Any]) -> Text:
    kill = doc.get("kill", {})
    out = Text(f"total P&L ${doc.get('total_pnl_usd', 0.0):,.2f}   {render.capital(doc)}   "
               "kill switch: ")
    if kill.get("active"):
        out.append(f"ACTIVE ({kill.get('reason', '')}) - `pmm reset` releases it",
                   style="bold red")
    else:
        out.append("off")
    if doc.get("paused"):
        out.append("   PAUSED (`pmm resume`)", style="yellow")
    return out


def _programs(doc: dict[str, Any]) -> Text:
    items, notes = render.program_items(doc)
    out = Text("programs: ")
    for i, (label, level) in enumerate(items):
        out.append(("  " if i else "") + label,
                   style={"down": "bold red", "restarted": "yellow"}.get(level, ""))
    for note in notes:
        out.append(f"\n  {note}", style="red")
    return out


def view(doc: dict[str, Any], title: str, width: int = 120) -> Group:
    """One frame for a terminal `width` columns wide: title, the markets, totals and kill
    switch, every program."""
    parts: list[Any] = [Text(title, style="bold"), _market_table(doc, width), _footer(doc)]
    if doc.get("programs"):
        parts.append(_programs(doc))
    return Group(*parts)


class Watch:
    """Show frame after frame: redrawn in place on a terminal, appended as plain text
    otherwise. Use as `with Watch() as w: w.show(doc, title)`."""

    def __init__(self, out: TextIO | None = None, *, terminal: bool | None = None,
                 width: int | None = None) -> None:
        self.out = out or sys.stdout
        self.console = Console(file=self.out, force_terminal=terminal, width=width,
                               highlight=False)
        self.live: Live | None = None

    @property
    def terminal(self) -> bool:
        return self.console.is_terminal

    def __enter__(self) -> Watch:
        if self.terminal:
            self.live = Live(console=self.console, auto_refresh=False, transient=False,
                             vertical_overflow="visible")
            self.live.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None

    def show(self, doc: dict[str, Any] | None, title: str, note: str = "",
             extra: str = "") -> None:
        """Draw one frame, `extra` text under it; `doc` None shows `note` alone (the stack
        is not answering)."""
        if self.live is not None:
            frame: Any = Text(f"{title}\n{note}") if doc is None else \
                view(doc, title, self.console.width)
            if doc is not None and extra:
                frame = Group(frame, Text(extra))
            self.live.update(frame, refresh=True)
            return
        text = note if doc is None else render.table(doc) + (f"\n\n{extra}" if extra else "")
        self.out.write(f"{title}\n{text}\n\n")
        self.out.flush()
