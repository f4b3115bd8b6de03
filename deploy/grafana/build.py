"""Generate pmm's provisioned Grafana dashboards (deploy/grafana/dashboards/*.json).

The JSON files are checked in so Grafana can provision them without Python; this script is
their source. After editing it, run `python deploy/grafana/build.py`; a unit test
(tests/unit/test_control_dashboards.py) fails while the files and this script disagree.
Every query uses only series the stack exports (the integration test queries each one).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "dashboards"
DS = {"type": "prometheus", "uid": "pmm-prometheus"}
M = '{market=~"$market"}'


def panel(title: str, exprs: list[tuple[str, str]], *, unit: str = "short", kind: str = "timeseries",
          width: int = 12, height: int = 8, description: str = "") -> dict[str, Any]:
    """One panel; `exprs` are (PromQL, legend) pairs."""
    return {
        "type": kind, "title": title, "description": description, "datasource": DS,
        "gridPos": {"w": width, "h": height},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [{"refId": chr(65 + i), "expr": e, "legendFormat": legend, "datasource": DS}
                    for i, (e, legend) in enumerate(exprs)],
    }


def market_var() -> dict[str, Any]:
    return {
        "name": "market", "label": "market", "type": "query", "datasource": DS,
        "query": {"query": "label_values(pmm_market_max_loss_usd, market)", "refId": "market"},
        "definition": "label_values(pmm_market_max_loss_usd, market)",
        "includeAll": True, "multi": True, "refresh": 2,
        "current": {"text": "All", "value": "$__all"},
    }


def dashboard(uid: str, title: str, panels: list[dict[str, Any]], *, variables: bool = False) -> dict[str, Any]:
    x = y = row_h = 0
    for i, p in enumerate(panels):
        w, h = p["gridPos"]["w"], p["gridPos"]["h"]
        if x + w > 24:
            x, y, row_h = 0, y + row_h, 0
        p["gridPos"].update(x=x, y=y)
        p["id"] = i + 1
        x, row_h = x + w, max(row_h, h)
    return {
        "uid": uid, "title": title, "tags": ["pmm"], "timezone": "utc", "schemaVersion": 39,
        "version": 1, "editable": True, "refresh": "5s", "time": {"from": "now-30m", "to": "now"},
        "templating": {"list": [market_var()] if variables else []},
        "annotations": {"list": []}, "panels": panels,
    }


def rate(metric: str, by: str, sel: str = "") -> str:
    return f"sum by ({by}) (rate({metric}{sel}[5m]))"


def p(q: float, metric: str, by: str, sel: str = "") -> str:
    return f"histogram_quantile({q}, sum by (le, {by}) (rate({metric}_bucket{sel}[5m])))"


def overview() -> dict[str, Any]:
    pnl = "sum(pmm_pnl_realized_usd) + sum(pmm_pnl_marked_usd)"
    return dashboard("pmm-overview", "pmm / overview", [
        panel("Total P&L", [(pnl, "P&L")], unit="currencyUSD", kind="stat", width=6, height=5),
        panel("Kill switch", [("max(pmm_kill_switch_active)", "kill")], kind="stat", width=6, height=5,
              description="1 while latched; `pmm reset` releases it"),
        panel("Markets halted", [("sum(pmm_market_halted)", "halted")], kind="stat", width=6, height=5),
        panel("Programs running", [("sum(pmm_program_running)", "running"),
                                   ("count(pmm_program_running)", "configured")],
              kind="stat", width=6, height=5),
        panel("P&L by market (realized + marked)",
              [("sum by (market) (pmm_pnl_realized_usd) + sum by (market) (pmm_pnl_marked_usd)",
                "{{market}}")], unit="currencyUSD"),
        panel("Net position by market", [("sum by (market) (pmm_position_contracts)", "{{market}}")]),
        panel("Fills per minute", [(f"60 * {rate('pmm_fills_total', 'market')}", "{{market}}")]),
        panel("Volume (contracts per minute)",
              [(f"60 * {rate('pmm_fill_volume_contracts_total', 'market')}", "{{market}}")]),
        panel("Quote intents per second", [(rate("pmm_quote_intents_total", "market"), "{{market}}")]),
        panel("Venue order actions per second by outcome",
              [(rate("pmm_orders_total", "action, outcome"), "{{action}} {{outcome}}")]),
        panel("Capital: collateral held and locked by our orders",
              [("max by (venue) (pmm_venue_collateral_usd)", "{{venue}} held"),
               ("max by (venue) (pmm_collateral_locked_usd)", "{{venue}} locked")],
              unit="currencyUSD",
              description="Held: the venue account's collateral, locked or not (read every "
                          "collateral_check_interval_ms, less our fills since). Locked: what "
                          "our resting BUY orders hold; new orders are trimmed to the rest."),
        panel("Liquidity rewards: estimated USD a day (our share of each pool)",
              [("sum by (market) (pmm_reward_est_usd_per_day)", "{{market}}"),
               ("sum(pmm_reward_pool_usd_per_day)", "pools")], unit="currencyUSD",
              description="The venue's published scoring formula on the last book and our "
                          "live orders, every reward_check_interval_ms."),
        panel("Our orders in rewarded markets: scoring, or why not",
              [("sum by (state) (pmm_reward_orders)", "{{state}}")]),
        panel("Orders trimmed or left out for want of collateral (per minute)",
              [("60 * sum by (venue, outcome) (rate(pmm_orders_total{action=\"place\", "
                "outcome=~\"trimmed|unfunded\"}[1m])) or vector(0)", "{{venue}} {{outcome}}")]),
    ])


def per_market() -> dict[str, Any]:
    return dashboard("pmm-market", "pmm / per market", [
        panel("Book mid and our best bid / ask",
              [(f"max by (market, side) (pmm_quote_price_usd{M})", "{{market}} {{side}}")],
              unit="currencyUSD", width=24),
        panel("Net position (YES contracts)", [(f"sum by (market) (pmm_position_contracts{M})", "{{market}}")]),
        panel("Holdings by outcome",
              [(f"sum by (market, outcome) (pmm_position_side_contracts{M})", "{{market}} {{outcome}}")]),
        panel("Realized P&L", [(f"sum by (market) (pmm_pnl_realized_usd{M})", "{{market}}")],
              unit="currencyUSD"),
        panel("Marked P&L of open inventory", [(f"sum by (market) (pmm_pnl_marked_usd{M})", "{{market}}")],
              unit="currencyUSD"),
        panel("Fills per minute by side",
              [(f"60 * {rate('pmm_fills_total', 'market, side', M)}", "{{market}} {{side}}")]),
        panel("Spread captured (cumulative, size-weighted)",
              [(f"max by (market) (pmm_spread_captured_usd{M})", "{{market}}")], unit="currencyUSD"),
        panel("Average edge per contract at fill",
              [(f"{rate('pmm_fill_spread_captured_usd_per_contract_sum', 'market', M)} / "
                f"{rate('pmm_fill_spread_captured_usd_per_contract_count', 'market', M)}", "{{market}}")],
              unit="currencyUSD"),
        panel("Markout per contract by horizon (adverse selection when below the edge)",
              [(f"{rate('pmm_fill_markout_usd_per_contract_sum', 'market, horizon', M)} / "
                f"{rate('pmm_fill_markout_usd_per_contract_count', 'market, horizon', M)}",
                "{{market}} {{horizon}}")], unit="currencyUSD"),
        panel("Open orders at the venue", [(f"sum by (market) (pmm_open_orders{M})", "{{market}}")]),
        panel("Requotes sent and skipped per second",
              [(rate("pmm_quote_intents_total", "market", M), "{{market}} sent"),
               (rate("pmm_requotes_skipped_total", "market", M), "{{market}} skipped")]),
        panel("Book age", [(f"max by (market) (pmm_book_age_seconds{M})", "{{market}}")], unit="s"),
    ], variables=True)


def latency() -> dict[str, Any]:
    return dashboard("pmm-latency", "pmm / latency", [
        panel("Tick to order (book received to command at executor)",
              [(p(0.5, "pmm_tick_to_order_seconds", "venue"), "p50 {{venue}}"),
               (p(0.99, "pmm_tick_to_order_seconds", "venue"), "p99 {{venue}}")], unit="s"),
        panel("Tick to wire (book received to order request sent)",
              [(p(0.5, "pmm_tick_to_wire_seconds", "venue"), "p50 {{venue}}"),
               (p(0.99, "pmm_tick_to_wire_seconds", "venue"), "p99 {{venue}}")], unit="s"),
        panel("Per-hop latency p99", [(p(0.99, "pmm_hop_latency_seconds", "hop"), "{{hop}}")], unit="s"),
        panel("Per-hop latency p50", [(p(0.5, "pmm_hop_latency_seconds", "hop"), "{{hop}}")], unit="s"),
        panel("Venue round trip p99 by endpoint",
              [(p(0.99, "pmm_venue_request_seconds", "venue, endpoint"), "{{venue}} {{endpoint}}")], unit="s"),
        panel("Rate-limit waits",
              [(rate("pmm_rate_limit_waits_total", "venue"), "waits/s {{venue}}"),
               (rate("pmm_rate_limit_wait_seconds_total", "venue"), "seconds waited/s {{venue}}")]),
    ])


def risk() -> dict[str, Any]:
    return dashboard("pmm-risk", "pmm / risk", [
        panel("Kill switch by process", [("max by (process) (pmm_kill_switch_active)", "{{process}}")]),
        panel("Halted markets", [("max by (market) (pmm_market_halted)", "{{market}}")]),
        panel("Loss as a fraction of the limit",
              [("-(sum by (market) (pmm_pnl_realized_usd) + sum by (market) (pmm_pnl_marked_usd)) "
                "/ on (market) max by (market) (pmm_market_max_loss_usd)", "{{market}}")],
              unit="percentunit", description="alert PmmLossNearLimit fires at 80%"),
        panel("Risk decisions per second", [(rate("pmm_risk_decisions_total", "outcome"), "{{outcome}}")]),
        panel("Rejections and clips by reason", [(rate("pmm_risk_rejections_total", "reason"), "{{reason}}")]),
        panel("Halts", [("sum by (market) (pmm_halts_total)", "{{market}}")]),
        panel("Control messages refused", [("sum(pmm_control_rejected_total) or vector(0)", "refused")]),
        panel("Commands expired before execution",
              [("sum(pmm_commands_expired_total) or vector(0)", "expired")]),
    ])


def infrastructure() -> dict[str, Any]:
    return dashboard("pmm-infra", "pmm / infrastructure", [
        panel("Programs running (supervisord)", [("max by (program) (pmm_program_running)", "{{program}}")]),
        panel("Uptime", [("max by (program) (pmm_program_uptime_seconds)", "{{program}}")], unit="s"),
        panel("Restarts", [("sum by (program) (pmm_program_restarts_total)", "{{program}}"),
                           ("sum by (role) (pmm_process_starts_total)", "starts {{role}}")]),
        panel("Process loops up", [("max by (process) (pmm_process_up)", "{{process}}")]),
        panel("Heartbeat age", [("max by (process) (pmm_heartbeat_age_seconds)", "{{process}}")], unit="s"),
        panel("Feed reconnects", [("sum by (venue, channel) (pmm_feed_reconnects_total)", "{{venue}} {{channel}}")]),
        panel("Dropped bus frames", [("sum by (process, channel) (pmm_bus_dropped_frames_total)",
                                      "{{process}} {{channel}}")]),
        panel("Venue messages that did not parse",
              [("sum by (venue, channel) (pmm_venue_messages_dropped_total)", "{{venue}} {{channel}}")]),
        panel("Bus send timeouts", [("sum by (process, channel) (pmm_bus_send_timeouts_total)",
                                     "{{process}} {{channel}}")]),
        panel("Books published and conflated per second",
              [(rate("pmm_book_updates_total", "venue"), "published {{venue}}"),
               ("sum(rate(pmm_books_conflated_total[5m]))", "conflated by quoters"),
               (rate("pmm_ingest_books_conflated_total", "venue"), "conflated by ingest {{venue}}")]),
    ])


DASHBOARDS = {"overview": overview, "market": per_market, "latency": latency, "risk": risk,
              "infrastructure": infrastructure}


def render() -> dict[str, str]:
    """File name -> JSON text of every dashboard."""
    return {f"pmm-{name}.json": json.dumps(build(), indent=2, sort_keys=True) + "\n"
            for name, build in DASHBOARDS.items()}


def main() -> int:
    OUT.mkdir(exist_ok=True)
    for name, text in render().items():
        (OUT / name).write_text(text)
        print(f"wrote {OUT / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
