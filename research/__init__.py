"""Research loop as a library: backtester, synthetic scenarios, paper venue, metrics, sweeps, reports.

Runs offline inside whichever process calls it (`pmm backtest/sweep/report`, bench scripts); it
steps the same pure engine as the quoter (`strategy.engine.step`) and imports no service.
"""
