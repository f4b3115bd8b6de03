"""Quoter process: the actor that steps `strategy.engine` per market and sends ladders to risk."""
