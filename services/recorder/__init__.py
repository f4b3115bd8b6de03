"""Recorder (md bus -> compressed chunked files) and replayer (files -> md bus)."""
