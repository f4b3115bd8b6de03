"""Our venue wire formats, one module per venue, shared by ingest and the executor.

Each module holds the market- and user-channel shapes of one venue and the decoding of
its websocket frames into them. Numbers are read through common/wire_numbers.py and
every unusable message is dropped and counted through common/venue_drops.py. The venue
simulator keeps its own, independent wire code on purpose: it must not share these
assumptions (the conformance suite checks it against the official clients instead).
"""
