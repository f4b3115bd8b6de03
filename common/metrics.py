"""Every Prometheus metric pmm exports, defined once.

Processes run prometheus_client in multiprocess mode (PROMETHEUS_MULTIPROC_DIR,
set by supervisord.conf); the exporter process serves the aggregate as one
scrape target per host. Labels are bounded: process names, market ids from
config, fixed reason strings.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

__all__ = ["BOOKS_CONFLATED", "BOOK_AGE", "BOOK_UPDATES", "BUS_AUTH_REFUSED", "COLLATERAL_LOCKED",
    "CONTROL_REJECTED", "DROPPED_FRAMES", "EXPIRED_COMMANDS", "FEED_RECONNECTS",
    "FEED_SEQUENCE_GAPS", "FEED_STALE", "FILLS", "FILLS_DUPLICATE", "FILLS_RECOVERED",
    "FILL_MARKOUT", "FILL_SEQUENCE_GAPS", "HALTED", "HALTS", "HEARTBEAT_AGE", "HOP_LATENCY",
    "INGEST_BOOKS_CONFLATED", "KILL_ACTIVE", "LATENCY_BUCKETS", "MARKOUT_BUCKETS",
    "MARKOUT_HORIZONS", "MAX_LOSS", "OPEN_ORDERS", "ORDERS", "PNL_MARKED", "PNL_REALIZED",
    "POSITION", "POSITION_SIDE", "PROCESS_STARTS", "PROCESS_UP", "QUOTER_REFERENCE",
    "QUOTER_REFERENCE_STEPS", "QUOTES", "QUOTE_ACTION", "QUOTE_PRICE", "RATE_LIMIT_WAITS",
    "RATE_LIMIT_WAIT_SECONDS", "REFERENCE_DROPPED", "REFERENCE_PRICE", "REFERENCE_RECONNECTS",
    "REFERENCE_UPDATES", "REQUOTES_SKIPPED", "REWARD_EST", "REWARD_ORDERS", "REWARD_POOL", "RISK_DECISIONS", "RISK_POSITION_MISMATCHES",
    "RISK_REJECTIONS", "SEND_TIMEOUTS", "SIGNAL_ACTIVE", "SIGNAL_VALUE", "SPREAD_CAPTURED",
    "SPREAD_CAPTURED_USD", "STORAGE_FAULTS", "TICK_TO_ORDER", "TICK_TO_WIRE",
    "VENUE_APPROVALS_MISSING", "VENUE_CLOCK_OFFSET", "VENUE_FIELDS_REJECTED", "VENUE_LATENCY", "VENUE_MESSAGES_DROPPED",
    "VENUE_RATE_LIMITED", "VENUE_REAUTH", "VOLUME"]

# Tick-to-order spans tens of microseconds to a second.
LATENCY_BUCKETS = (
    50e-6, 100e-6, 200e-6, 300e-6, 500e-6, 750e-6, 1e-3, 1.5e-3, 2e-3, 3e-3, 5e-3,
    7.5e-3, 10e-3, 20e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1.0,
)

DROPPED_FRAMES = Counter(
    "pmm_bus_dropped_frames_total", "Bus frames dropped because they did not decode",
    ["process", "channel"],
)
SEND_TIMEOUTS = Counter(
    "pmm_bus_send_timeouts_total", "Sends on a PUSH socket that no peer took in time",
    ["process", "channel"],
)
EXPIRED_COMMANDS = Counter(
    "pmm_commands_expired_total", "Commands refused because they arrived after their expiry",
    ["process"],
)
PROCESS_UP = Gauge(
    "pmm_process_up", "1 while the process runs its loop", ["process", "role"],
    multiprocess_mode="livemax",
)
PROCESS_STARTS = Counter(
    "pmm_process_starts_total", "Process starts (restarts show as increments)", ["role"],
)

BOOK_UPDATES = Counter(
    "pmm_book_updates_total", "Book snapshots published by ingest", ["venue", "market"],
)
FEED_RECONNECTS = Counter(
    "pmm_feed_reconnects_total", "Venue websocket reconnects", ["venue", "channel"],
)
FEED_STALE = Gauge(
    "pmm_feed_stale", "1 while a market's book is stale", ["venue", "market"],
    multiprocess_mode="livemax",
)
VENUE_MESSAGES_DROPPED = Counter(
    "pmm_venue_messages_dropped_total", "Venue messages that did not parse", ["venue", "channel"],
)
VENUE_FIELDS_REJECTED = Counter(
    "pmm_venue_fields_rejected_total",
    "Venue messages dropped at the edge, by the field that was unusable (bad number, wrong "
    "type, out of range); field is a name from our parsers, never from the payload",
    ["venue", "channel", "field"],
)

QUOTES = Counter(
    "pmm_quote_intents_total", "Quote intents sent by quoters", ["market"],
)
REQUOTES_SKIPPED = Counter(
    "pmm_requotes_skipped_total", "Requotes skipped because the ladder was unchanged", ["market"],
)
BOOKS_CONFLATED = Counter(
    "pmm_books_conflated_total", "Books dropped by a quoter in favour of a newer one", ["market"],
)
INGEST_BOOKS_CONFLATED = Counter(
    "pmm_ingest_books_conflated_total",
    "Book changes ingest folded into a later snapshot of the same batch of frames", ["venue"],
)

RISK_DECISIONS = Counter(
    "pmm_risk_decisions_total", "Intents by risk outcome", ["market", "outcome"],
)
RISK_REJECTIONS = Counter(
    "pmm_risk_rejections_total", "Intents rejected or clipped, by reason", ["reason"],
)
HALTED = Gauge(
    "pmm_market_halted", "1 while a market is halted", ["market"],
    multiprocess_mode="livemostrecent",
)
FILL_SEQUENCE_GAPS = Counter(
    "pmm_fill_sequence_gaps_total",
    "Gaps risk saw in an executor's fill sequence (a fill dropped on the bus): each asks "
    "that executor to replay its fill journal",
    ["venue"],
)
STORAGE_FAULTS = Counter(
    "pmm_storage_faults_total",
    "Durable writes that failed (disk full, I/O error); each latches the owner's kill switch",
    ["store"],
)
KILL_ACTIVE = Gauge(
    "pmm_kill_switch_active", "1 while the kill switch is latched", ["process"],
    multiprocess_mode="livemax",
)
CONTROL_REJECTED = Counter(
    "pmm_control_rejected_total", "Control messages refused (bad MAC, replay, stale)",
    ["process", "reason"],
)
VENUE_COLLATERAL = Gauge(
    "pmm_venue_collateral_usd",
    "Collateral the venue account holds, locked or not: the last read less our fills since",
    ["venue"], multiprocess_mode="livemostrecent",
)
REWARD_ORDERS = Gauge(
    "pmm_reward_orders", "Our orders in a rewarded market at the last check: scoring, or why not",
    ["venue", "market", "state"], multiprocess_mode="livemostrecent",
)
REWARD_EST = Gauge(
    "pmm_reward_est_usd_per_day",
    "Our estimated liquidity reward a day at the last check (our share of the pool)",
    ["venue", "market"], multiprocess_mode="livemostrecent",
)
REWARD_POOL = Gauge(
    "pmm_reward_pool_usd_per_day", "The market's liquidity reward pool a day",
    ["venue", "market"], multiprocess_mode="livemostrecent",
)
VENUE_APPROVALS_MISSING = Gauge(
    "pmm_venue_approvals_missing",
    "Exchange approvals our markets need that the wallet's collateral no longer has",
    ["venue"], multiprocess_mode="livemostrecent",
)
COLLATERAL_LOCKED = Gauge(
    "pmm_collateral_locked_usd", "Collateral our resting BUY orders lock on the venue",
    ["venue"], multiprocess_mode="livemostrecent",
)
POSITION = Gauge(
    "pmm_position_contracts", "Net position in YES contracts", ["market"],
    multiprocess_mode="livemostrecent",
)
PNL_REALIZED = Gauge(
    "pmm_pnl_realized_usd", "Realized P&L", ["market"], multiprocess_mode="livemostrecent",
)
PNL_MARKED = Gauge(
    "pmm_pnl_marked_usd", "Mark-to-market P&L of open inventory", ["market"],
    multiprocess_mode="livemostrecent",
)
FILLS = Counter("pmm_fills_total", "Fills applied by risk", ["market", "side"])
FILLS_DUPLICATE = Counter(
    "pmm_fills_duplicate_total",
    "Fills risk had already journaled (executor replays after a restart resend many)", ["venue"],
)
VOLUME = Counter("pmm_fill_volume_contracts_total", "Contracts filled", ["market"])

ORDERS = Counter(
    "pmm_orders_total", "Venue order actions by outcome", ["venue", "action", "outcome"],
)
OPEN_ORDERS = Gauge(
    "pmm_open_orders", "Our live orders at the venue", ["venue", "market"],
    multiprocess_mode="livemostrecent",
)
TICK_TO_ORDER = Histogram(
    "pmm_tick_to_order_seconds",
    "Ingest receive of a book to the approved command arriving at the executor",
    ["venue"], buckets=LATENCY_BUCKETS,
)
TICK_TO_WIRE = Histogram(
    "pmm_tick_to_wire_seconds",
    "Ingest receive of a book to the order request leaving the executor",
    ["venue"], buckets=LATENCY_BUCKETS,
)
VENUE_LATENCY = Histogram(
    "pmm_venue_request_seconds", "Venue REST round trip", ["venue", "endpoint"],
    buckets=LATENCY_BUCKETS,
)

# --- cockpit (issue 7): per-hop latency, trading quality, liveness -----------------------------

HOP_LATENCY = Histogram(
    "pmm_hop_latency_seconds",
    "One hop of the hot path: book_to_intent (ingest receive to quoter send), quoter_to_risk, "
    "risk_to_executor",
    ["hop"], buckets=LATENCY_BUCKETS,
)
RATE_LIMIT_WAITS = Counter(
    "pmm_rate_limit_waits_total", "Venue calls delayed by our own rate limiter", ["venue"],
)
RATE_LIMIT_WAIT_SECONDS = Counter(
    "pmm_rate_limit_wait_seconds_total", "Time venue calls spent waiting on our rate limiter",
    ["venue"],
)
# Derived by the control process from fills and the books that follow them (services/control/quality.py).
MARKOUT_HORIZONS = ("1s", "5s", "30s")
MARKOUT_BUCKETS = (-0.05, -0.02, -0.01, -0.005, -0.002, 0.0, 0.002, 0.005, 0.01, 0.02, 0.05)
FILL_MARKOUT = Histogram(
    "pmm_fill_markout_usd_per_contract",
    "Mid move after a fill in our favour (negative: adverse selection), per contract",
    ["market", "horizon"], buckets=MARKOUT_BUCKETS,
)
SPREAD_CAPTURED = Histogram(
    "pmm_fill_spread_captured_usd_per_contract",
    "Edge of a fill against the book mid at fill time, per contract",
    ["market"], buckets=MARKOUT_BUCKETS,
)
SPREAD_CAPTURED_USD = Gauge(
    "pmm_spread_captured_usd", "Cumulative edge of our fills against the mid, size-weighted",
    ["market"], multiprocess_mode="livemostrecent",
)
HALTS = Counter("pmm_halts_total", "Markets entering the halted state", ["market"])
POSITION_SIDE = Gauge(
    "pmm_position_side_contracts", "Gross tokens held per outcome (YES or NO)",
    ["market", "outcome"], multiprocess_mode="livemostrecent",
)
MAX_LOSS = Gauge(
    "pmm_market_max_loss_usd", "Configured loss limit of a market", ["market"],
    multiprocess_mode="livemostrecent",
)
QUOTE_PRICE = Gauge(
    "pmm_quote_price_usd", "Our best resting price per side (bid, ask) and the book mid (mid)",
    ["market", "side"], multiprocess_mode="livemostrecent",
)
BOOK_AGE = Gauge(
    "pmm_book_age_seconds", "Seconds since the last book of a market reached control",
    ["market"], multiprocess_mode="livemostrecent",
)
HEARTBEAT_AGE = Gauge(
    "pmm_heartbeat_age_seconds", "Seconds since a process's last heartbeat reached control",
    ["process", "role"], multiprocess_mode="livemostrecent",
)

# --- venue adapters: sequence gaps, rate limits, recovered fills (issue 3) ------------------
FEED_SEQUENCE_GAPS = Counter(
    "pmm_feed_sequence_gaps_total", "Book sequence gaps that forced a resubscribe", ["venue"],
)
VENUE_RATE_LIMITED = Counter(
    "pmm_venue_rate_limited_total", "Venue answers of HTTP 429 (rate limited)", ["venue"],
)
VENUE_CLOCK_OFFSET = Gauge(
    "pmm_venue_clock_offset_seconds", "A venue's clock minus ours, as the process that signs "
    "for it measured it (common/venue_clock.py)", ["venue"], multiprocess_mode="livemostrecent",
)
VENUE_REAUTH = Counter(
    "pmm_venue_reauth_total", "API keys derived again after the venue refused ours (401)",
    ["venue"],
)
FILLS_RECOVERED = Counter(
    "pmm_fills_recovered_total", "Fills read back from venue REST after a user-stream reconnect",
    ["venue"],
)

# --- risk gate and bus security (issue 6) -----------------------------------------------------
RISK_POSITION_MISMATCHES = Counter(
    "pmm_risk_position_mismatches_total",
    "Markets whose venue-reported position differs from risk's journal at reconciliation",
    ["venue"],
)
BUS_AUTH_REFUSED = Counter(
    "pmm_bus_auth_refused_total",
    "Peers refused by CURVE authentication (unknown key, or a role not on the socket's "
    "allow-list), by ZAP domain (the bound socket: commands.polymarket, state, ...)",
    ["process", "domain"],
)

# --- reference price feeds (issue 5, lead-lag; services/reference) ----------------------------
REFERENCE_UPDATES = Counter(
    "pmm_reference_updates_total", "Reference prices published on the md bus", ["feed"],
)
REFERENCE_PRICE = Gauge(
    "pmm_reference_price", "Newest reference price published, in the feed's units", ["feed"],
    multiprocess_mode="livemostrecent",
)
REFERENCE_DROPPED = Counter(
    "pmm_reference_messages_dropped_total", "Reference feed messages that did not parse",
    ["feed"],
)
REFERENCE_RECONNECTS = Counter(
    "pmm_reference_reconnects_total", "Reference feed websocket reconnects", ["feed"],
)
QUOTER_REFERENCE = Gauge(
    "pmm_quoter_reference_price", "Newest reference price a quoter holds for a market",
    ["market"], multiprocess_mode="livemostrecent",
)
QUOTER_REFERENCE_STEPS = Counter(
    "pmm_quoter_reference_steps_total", "Reference moves that made a quoter step a market",
    ["market"],
)

# --- informed-flow signals (issue 5; strategy/signals, recorded on each sent ladder) ----
SIGNAL_ACTIVE = Gauge(
    "pmm_signal_active", "1 while a signal acts on a market's quotes (widen, pull or nudge)",
    ["market", "signal"], multiprocess_mode="livemostrecent",
)
SIGNAL_VALUE = Gauge(
    "pmm_signal_value", "A signal's reading (units per signal: strategy/signals/*.py)",
    ["market", "signal"], multiprocess_mode="livemostrecent",
)
QUOTE_ACTION = Counter(
    "pmm_quote_action_total", "Ladders sent, by the signals' quote action "
    "(both, bid_only, ask_only, widen, pull)", ["market", "action"],
)
