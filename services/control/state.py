"""The status view: folds bus messages into the `pmm status` document. Holds nothing authoritative."""

from __future__ import annotations

import time
from typing import Any

from common import hedge
from common.config import Config
from common.event_messages import RewardInfo
from common.messages import (
    BookSnapshot,
    ExecutorReport,
    Heartbeat,
    MarketStatus,
    PositionUpdate,
    ReferencePrice,
    RiskState,
)
from common.prices import money_to_float, price_to_float, size_to_float

__all__ = ["StatusView"]


def _reward(info: RewardInfo | None) -> dict[str, Any]:
    """A market's `reward` object of the status (issue 18)."""
    if info is None:
        return {"eligible": False, "checked": False, "max_spread": 0.0, "min_size": 0.0,
                "scoring": False, "scoring_orders": 0, "est_usd_per_day": 0.0}
    return {"eligible": info.eligible, "checked": True,
            "max_spread": price_to_float(info.max_spread), "min_size": size_to_float(info.min_size),
            "scoring": info.scoring_orders > 0, "scoring_orders": info.scoring_orders,
            "est_usd_per_day": round(info.est_usd_per_day, 4), "daily_usd": info.daily_usd,
            "orders": info.orders, "not_scoring": dict(info.not_scoring),
            "share": round(info.share, 6), "kind": info.kind, "scored_by": info.scored_by,
            "target_size": size_to_float(info.target_size), "discount": info.discount}


def _mid(book: BookSnapshot | None) -> float | None:
    if book is None or not book.bids or not book.asks:
        return None
    return round((book.bids[0].price + book.asks[0].price) / 2) / 10_000


class StatusView:
    """Latest risk, executor and market-data facts per market, rendered on request."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.positions: dict[str, PositionUpdate] = {}
        self.reports: dict[str, ExecutorReport] = {}
        self.books: dict[str, BookSnapshot] = {}
        self.stale: dict[str, bool] = {}
        self.risk: RiskState | None = None
        self.heartbeats: dict[str, tuple[str, int]] = {}
        self.references: dict[str, ReferencePrice] = {}

    def apply(self, msg: object) -> None:
        match msg:
            case PositionUpdate():
                self.positions[msg.market] = msg
            case ExecutorReport():
                self.reports[msg.market] = msg
            case BookSnapshot():
                self.books[msg.market] = msg
                self.stale[msg.market] = msg.stale
            case MarketStatus():
                self.stale[msg.market] = msg.stale
            case RiskState():
                self.risk = msg
            case ReferencePrice():
                self.references[msg.feed] = msg
            case Heartbeat():
                self.heartbeats[msg.sender] = (msg.role, time.monotonic_ns())
            case _:
                pass

    def processes(self, *, now_ns: int | None = None, deadline_ms: int = 3000) -> dict[str, Any]:
        now = time.monotonic_ns() if now_ns is None else now_ns
        return {
            name: {"role": role, "alive": now - seen < deadline_ms * 1_000_000}
            for name, (role, seen) in sorted(self.heartbeats.items())
        }

    def _issue5(self, feed: str, pos: PositionUpdate | None,
                book: BookSnapshot | None) -> dict[str, Any]:
        """The market's reference price (lead-lag) and the hedge analysis of its position."""
        ref = self.references.get(feed) if feed else None
        out: dict[str, Any] = {"reference": ref.price if ref else None,
                               "reference_feed": feed}
        if pos is None or pos.net_position == 0:
            out["hedge"] = None
            return out
        levels = ([(lv.price, lv.size) for lv in book.bids], [(lv.price, lv.size) for lv in book.asks]) \
            if book is not None else ([], [])
        a = hedge.analyse(pos.net_position, pos.avg_price, *levels, mark=pos.mark)
        out["hedge"] = {
            "holding": a.holding, "size": size_to_float(a.size_centi),
            "cost": price_to_float(a.cost_pips),
            "marked_pnl_usd": money_to_float(a.marked_pnl_micro),
            "hold_worst_usd": money_to_float(a.hold_worst_micro),
            "close_pnl_usd": money_to_float(a.close_pnl_micro),
            "close_unfilled": size_to_float(a.close_unfilled_centi),
            "close_cash_usd": money_to_float(a.close_cash_micro),
            "hedge_worst_usd": money_to_float(a.hedge_worst_micro),
            "hedge_unfilled": size_to_float(a.hedge_unfilled_centi),
            "hedge_cash_usd": money_to_float(a.hedge_cash_micro),
            "recommendation": a.recommendation, "reason": a.reason,
        }
        return out

    def capital(self) -> dict[str, float | None]:
        """`collateral_usd`: what the venue accounts hold, locked or not (summed over the
        venues whose executors have read it; None if none has); `locked_usd`: what our
        resting orders lock."""
        latest: dict[str, ExecutorReport] = {}
        for rep in self.reports.values():
            if rep.collateral is not None and (
                    rep.venue not in latest or rep.ts_ns > latest[rep.venue].ts_ns):
                latest[rep.venue] = rep
        held = [rep.collateral for rep in latest.values() if rep.collateral is not None]
        return {"collateral_usd": money_to_float(sum(held)) if held else None,
                "locked_usd": money_to_float(sum(r.locked for r in self.reports.values()))}

    def document(self) -> dict[str, Any]:
        """The `pmm status --json` document (keys fixed by shared/DESIGN.md; more may follow)."""
        markets = []
        for m in self.cfg.markets:
            pos = self.positions.get(m.id)
            rep = self.reports.get(m.id)
            book = self.books.get(m.id)
            markets.append(
                {
                    "id": m.id,
                    "venue": m.venue,
                    "name": m.name,
                    "bid": price_to_float(rep.best_bid) if rep and rep.best_bid else None,
                    "ask": price_to_float(rep.best_ask) if rep and rep.best_ask else None,
                    "position_yes": size_to_float(pos.position_yes) if pos else 0.0,
                    "position_no": size_to_float(pos.position_no) if pos else 0.0,
                    "net_position": size_to_float(pos.net_position) if pos else 0.0,
                    "avg_price": price_to_float(pos.avg_price) if pos else None,
                    "realized_pnl_usd": money_to_float(pos.realized_pnl) if pos else 0.0,
                    "marked_pnl_usd": money_to_float(pos.marked_pnl) if pos else 0.0,
                    "mark": price_to_float(pos.mark) if pos and pos.mark else None,
                    "open_orders": rep.open_orders if rep else 0,
                    "fills": pos.fills if pos else 0,
                    "halted": pos.halted if pos else False,
                    "halt_reason": pos.halt_reason if pos else "",
                    "book_bid": price_to_float(book.bids[0].price) if book and book.bids else None,
                    "book_ask": price_to_float(book.asks[0].price) if book and book.asks else None,
                    "stale": self.stale.get(m.id, True),
                    "fair_value": _mid(book),
                    "skew": (size_to_float(pos.net_position) / self.cfg.quoting_for(m).max_inventory)
                    if pos else 0.0,
                    "reward": _reward(rep.reward if rep else None),
                    **self._issue5(m.reference, pos, book),
                }
            )
        risk = self.risk
        return {
            "kill": {
                "active": bool(risk and risk.kill_active),
                "reason": risk.kill_reason if risk else "",
            },
            "paused": bool(risk and risk.paused),
            "risk_seen": risk is not None,
            "total_pnl_usd": money_to_float(risk.total_pnl) if risk else 0.0,
            **self.capital(),
            "markets": markets,
            "processes": self.processes(),
        }
