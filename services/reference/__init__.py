"""Reference price ingest (issue 5): external price feeds onto the market-data bus."""
