"""Which venue message each adapter read is a read of, and which reads are not venue reads.

Keys are (file, scope, receiver) as census_reads.Read names them: `scope` is the
enclosing `Class.function` (or the Struct's name), `receiver` the expression read from
(`struct` for a Struct's fields). A value names one message type, or a tuple when one
piece of code reads several (a Struct that decodes both a websocket event and the REST
row of the same thing; a function that handles several frame kinds): a key then passes
if any of them defines it.

Message type names:
  kalshi:<Model>                 a kalshi-python-sync model (census_kalshi_dump.py)
  kalshi:<METHOD> <path>         the SDK's 2xx response model of that endpoint
  kalshi:<METHOD> <path> .<f>    the model of that response's field <f> (its items)
  <other>:<name>                 an entry of schemas/*.json (each names its source)
"""

from __future__ import annotations

MessageType = str | tuple[str, ...]

EX = "services/executor/"
IN = "services/ingest/"
PM = "common/venues/polymarket.py"
KA = "common/venues/kalshi.py"

_PM_MARKET_EVENTS = tuple(f"polymarket-market:{k}" for k in (
    "book", "price_change", "last_trade_price", "tick_size_change", "best_bid_ask", "new_market",
    "market_resolved"))

MESSAGE_OF: dict[tuple[str, str, str], MessageType] = {
    # --- Kalshi executor: REST answers -------------------------------------------------------
    (EX + "kalshi_wire.py", "row_error", "err"): "kalshi:ErrorResponse",
    (EX + "kalshi.py", "KalshiExecution.balance", "resp.json()"): "kalshi:GET /portfolio/balance",
    ("services/ingest/rewards.py", "KalshiProgrammes.read", "page"):
        "kalshi:GET /incentive_programs",
    ("services/ingest/rewards.py", "PolymarketProgrammes._rows", "page"): "polymarket-rest:Page",
    ("common/reward_programmes.py", "_Programme", "struct"): "kalshi:IncentiveProgram",
    (EX + "kalshi.py", "KalshiExecution._place_chunk", "resp.json()"):
        "kalshi:POST /portfolio/events/orders/batched",
    (EX + "kalshi.py", "KalshiExecution._place_chunk", "row"):
        "kalshi:POST /portfolio/events/orders/batched .orders",
    (EX + "kalshi.py", "KalshiExecution.cancel", "resp.json()"):
        "kalshi:DELETE /portfolio/events/orders/batched",
    (EX + "kalshi.py", "KalshiExecution.cancel", "row"):
        "kalshi:DELETE /portfolio/events/orders/batched .orders",
    (EX + "kalshi.py", "KalshiExecution.cancel", "err"): "kalshi:ErrorResponse",
    (EX + "kalshi_wire.py", "venue_order", "row"): "kalshi:GET /portfolio/orders .orders",
    (EX + "kalshi_reads.py", "fills_since", "row"): "kalshi:GET /portfolio/fills .fills",
    (EX + "kalshi_reads.py", "positions", "row"): "kalshi:GET /portfolio/positions .market_positions",
    (EX + "kalshi_amend.py", "_one", "resp.json()"):
        "kalshi:POST /portfolio/events/orders/{order_id}/amend",
    (EX + "kalshi_groups.py", "OrderGroup.create", "_object(resp, 'create')"):
        "kalshi:POST /portfolio/order_groups/create",
    (EX + "kalshi_groups.py", "tripped", "view"): (  # one group read, or its row of the list
        "kalshi:GET /portfolio/order_groups/{order_group_id}",
        "kalshi:GET /portfolio/order_groups .order_groups"),
    (EX + "kalshi_groups.py", "OrderGroups.keep", "_object(resp, 'list')"):
        "kalshi:GET /portfolio/order_groups",
    (EX + "kalshi_groups.py", "OrderGroups.keep", "r"):
        "kalshi:GET /portfolio/order_groups .order_groups",
    (EX + "kalshi_groups.py", "OrderGroup.on_update", "body"): "kalshi-ws:order_group_updates",
    # one list-page reader for every paged GET the executor makes
    (EX + "kalshi_wire.py", "page_rows", "data"): (
        "kalshi:GET /portfolio/orders", "kalshi:GET /portfolio/fills",
        "kalshi:GET /portfolio/positions"),
    (KA, "fill_from_wire", "body"): ("kalshi:GET /portfolio/fills .fills", "kalshi-ws:fill"),
    (EX + "kalshi_wire.py", "error_text", "data"): ("kalshi:ErrorResponse", "kalshi-docs:rate-limited"),
    (EX + "kalshi_wire.py", "error_text", "err"): "kalshi:ErrorResponse",
    # --- Kalshi websockets -------------------------------------------------------------------
    (EX + "kalshi_user.py", "KalshiUserChannel.dispatch", "msg"): "kalshi-ws:envelope",
    (EX + "kalshi_user.py", "KalshiUserChannel.dispatch", "body"): "kalshi-ws:fill",
    (IN + "kalshi.py", "KalshiFeed._translate", "msg"): "kalshi-ws:envelope",
    (KA, "snapshot_sides", "body"): "kalshi-ws:orderbook_snapshot",
    (KA, "public_trade", "body"): "kalshi-ws:trade",
    (KA, "delta_of", "body"): "kalshi-ws:orderbook_delta",
    # one function, three frame kinds (subscribed reply, book snapshot, public trade)
    (IN + "kalshi.py", "KalshiFeed._translate", "body"):
        ("kalshi-ws:subscribed", "kalshi-ws:orderbook_snapshot", "kalshi-ws:trade"),
    (IN + "kalshi.py", "KalshiFeed._delta", "msg"): "kalshi-ws:envelope",
    # --- Kalshi market listings --------------------------------------------------------------
    (IN + "kalshi_grid.py", "tick_of", "market"): "kalshi:Market",
    (IN + "kalshi_grid.py", "tick_of", "rng"): "kalshi:PriceRange",
    (IN + "kalshi_grid.py", "KalshiGrid.ticks", "data"): "kalshi:GET /markets",
    (IN + "kalshi_grid.py", "KalshiGrid.ticks", "market"): "kalshi:GET /markets .markets",
    ("common/scanner.py", "from_kalshi", "payload"): "kalshi:GET /markets",
    ("common/scanner.py", "from_kalshi", "row"): "kalshi:GET /markets .markets",
    ("common/scanner.py", "from_gamma", "row"): "polymarket-gamma:Market",
    ("common/scanner.py", "_gamma_pool", "r"): "polymarket-gamma:ClobReward",
    ("common/scanner.py", "with_incentives", "payload"): "kalshi:GET /incentive_programs",
    # --- Polymarket executor: REST answers ---------------------------------------------------
    (EX + "polymarket.py", "PolymarketExecution.heartbeat", "err"):
        "polymarket-rest:OrderHeartbeatMismatch",
    (EX + "polymarket.py", "PolymarketExecution.heartbeat", "resp"): "polymarket-rest:OrderHeartbeat",
    (EX + "polymarket_funds.py", "read_positions", "resp"):
        "polymarket-rest:BalanceAllowance",
    (EX + "polymarket_funds.py", "_Wire", "struct"): "polymarket-rest:BalanceAllowance",
    ("common/reward_programmes.py", "_MarketReward", "struct"): "polymarket-rest:MarketReward",
    ("common/reward_programmes.py", "_Funding", "struct"): "polymarket-rest:MarketRewardConfig",
    (EX + "polymarket_rest.py", "classify_post", "row"): "polymarket-rest:RawOrderResponse",
    (EX + "polymarket_rest.py", "cancel_outcome", "response"):
        "polymarket-rest:CancelOrdersResponse",
    (EX + "polymarket_rest.py", "OpenOrder", "struct"): "polymarket-rest:OpenOrder",
    (EX + "polymarket_rest.py", "OpenOrdersPage", "struct"): "polymarket-rest:Page",
    # --- Polymarket user channel (the trade Structs also decode REST /data/trades rows) -------
    (PM, "MakerOrder", "struct"): ("polymarket-user:maker_order", "polymarket-rest:MakerOrder"),
    (PM, "TradeMsg", "struct"): ("polymarket-user:trade", "polymarket-rest:ClobTrade"),
    (PM, "OrderMsg", "struct"): "polymarket-user:order",
    (PM, "_user_struct", "item"): ("polymarket-user:order", "polymarket-user:trade"),
    # --- Polymarket market channel -----------------------------------------------------------
    (PM, "WireLevel", "struct"): "polymarket-market:level",
    (PM, "BookMsg", "struct"): "polymarket-market:book",
    (PM, "PriceChange", "struct"): "polymarket-market:price_change.item",
    (PM, "PriceChangeMsg", "struct"): "polymarket-market:price_change",
    (PM, "LastTradeMsg", "struct"): "polymarket-market:last_trade_price",
    (PM, "TickSizeChangeMsg", "struct"): "polymarket-market:tick_size_change",
    (PM, "BestBidAskMsg", "struct"): "polymarket-market:best_bid_ask",
    (PM, "NewMarketMsg", "struct"): "polymarket-market:new_market",
    (PM, "MarketResolvedMsg", "struct"): "polymarket-market:market_resolved",
    # infers the kind of an event without event_type: any market event, or a user event
    # (its `"type" in obj` test tells user-channel objects apart)
    (PM, "_infer_type", "obj"):
        (*_PM_MARKET_EVENTS, "polymarket-user:order", "polymarket-user:trade"),
    (PM, "_market_struct", "item"): "polymarket-market:envelope",
}

NOT_VENUE: dict[tuple[str, str, str], str] = {
    # Our own request bodies, read back to journal the client order id we generated.
    (EX + "kalshi.py", "KalshiExecution._place_chunk", "b"): "our batch-create request body",
    (EX + "kalshi.py", "KalshiExecution._place_chunk", "bodies[k]"): "our batch-create request body",
    # Our own records, built from venue fields by code the census reads separately.
    ("common/scanner.py", "Candidate", "struct"): "scanner's normalized market record",
    ("common/reward_programmes.py", "Programme", "struct"): "our record of a reward programme",
    ("common/reward_programmes.py", "KalshiProgramme", "struct"):
        "our record of a Kalshi incentive",
    ("common/scanner.py", "Scored", "struct"): "scanner's scored record",
    (EX + "polymarket_fills.py", "Identity", "struct"): "our API key and funder address",
    (EX + "polymarket_funds.py", "Funds", "struct"): "our record of a balance-allowance answer",
    (KA, "BookDelta", "struct"): "our record of an orderbook_delta body, in our units",
    (KA, "PublicTrade", "struct"): "our record of a public trade body, in our units",
}
"""Reads in adapter modules that are not of a venue message, each with why."""
