"""Built-in venue simulator: Polymarket's CLOB V2 and Kalshi's trade API v2 on loopback.

Layers, each importing only its own layer or those below (tests/unit/test_sim_layers.py):

- state: book, model, accounts, wallets, ratelimit, faults, counters, ids
- trading: ledger, rules, engine, markets, flow, listing, lifecycle, reference
- protocols: responses, sim_state, sim_routes, ratelimit_http; Polymarket wire, signing,
  rest, trading, ws, pm_feed, gamma; Kalshi kalshi_wire, kalshi_requests, kalshi_keys,
  kalshi_http, kalshi, kalshi_groups, kalshi_routes, kalshi_ws_subs, kalshi_ws_commands,
  kalshi_ws (the two venues' protocol modules never import each other)
- server: venue (builds and glues everything), server (routes, serving), __main__

The simulator keeps its own wire code: it never imports our adapters (test_layout.py).
"""
