"""Informed-flow signals (issue 5): pure components that widen, pull or shift quotes.

One module per signal, each with its own config table (common/signal_config.py) and its own
state Struct (types.py), all folded by `evaluate.evaluate` into ONE quote action per market
(`combine.py`): both sides, bid only, ask only, widen, or pull, plus a fair-value nudge.
`strategy.engine.step` calls it; nothing here does I/O or reads a clock.

This package __init__ imports nothing, so strategy/model.py can import `types`.
"""
