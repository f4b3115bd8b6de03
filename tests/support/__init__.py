"""Helpers shared by test packages (no test module imports another)."""
