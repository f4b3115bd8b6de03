"""Conformance: the venues' official clients, unchanged, against the simulator."""
