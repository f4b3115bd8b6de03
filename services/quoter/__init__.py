"""Quoter: pure quoting maths (`strategy`) and the process that sends ladders to risk."""
