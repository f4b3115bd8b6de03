"""Research loop: backtester, synthetic scenarios, paper venue, metrics, sweeps, reports."""
