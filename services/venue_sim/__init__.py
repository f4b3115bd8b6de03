"""Built-in venue simulator: Polymarket's CLOB V2 wire protocol on loopback."""
