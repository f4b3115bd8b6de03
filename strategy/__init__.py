"""The quoting strategy as a pure library: fair value, spread, skew, sizes, ladders, signals.

`strategy.engine.step(state, inputs, params, market, now_ns)` is the one entry point; the
quoter process (services/quoter), the research loop (research/) and `pmm preview` all call it
unchanged. Nothing here does I/O, reads a clock or imports a service: it depends only on
common/ (config, prices, messages).
"""
