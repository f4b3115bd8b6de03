"""The latch transitions of `Switches` and the per-market `Intake` state, without a gate
(services/risk/switches.py, intake.py); the gate's use of them is in test_risk_switches.py."""

from __future__ import annotations

import pytest

from common.messages import Level
from services.risk.intake import Intake
from services.risk.losses import LOSS_HALTS
from services.risk.switches import Switches


@pytest.mark.parametrize(("market", "venue", "covers", "spares"), [
    ("m", "", [("m", "kalshi")], [("n", "kalshi")]),
    ("", "kalshi", [("m", "kalshi"), ("n", "kalshi")], [("p", "polymarket")]),
    ("", "", [("m", "kalshi"), ("p", "polymarket")], []),
])
def test_kill_latches_its_scope_only(market: str, venue: str, covers: list[tuple[str, str]],
                                     spares: list[tuple[str, str]]) -> None:
    sw = Switches()
    sw.kill("why", market=market, venue=venue)
    assert sw.kill_active and sw.kill_reason == "why"
    assert all(sw.killed(m, v) for m, v in covers)
    assert not any(sw.killed(m, v) for m, v in spares)


def test_reset_releases_everything_and_names_the_halted() -> None:
    sw = Switches()
    sw.kill("k", venue="kalshi")
    sw.halt("m", "max_loss")
    sw.flatten("n")
    assert sw.reset() == ["m"]
    assert not sw.kill_active and sw.halted == {} and sw.flattening == [] and sw.kill_reason == ""


def test_resume_ends_a_flatten_and_flatten_starts_once() -> None:
    sw = Switches()
    assert sw.flatten("m") and not sw.flatten("m")
    assert not sw.pause(True) and sw.flattening == ["m"]
    assert sw.pause(False) and sw.flattening == [] and not sw.paused


def test_storage_fault_latches_once() -> None:
    sw = Switches()
    assert sw.storage_fault("storage fault: disk full")
    assert not sw.storage_fault("storage fault: again")
    assert sw.kill_reason == "storage fault: disk full"


def test_daily_reset_releases_loss_halts_only_and_survives_a_dump() -> None:
    sw = Switches()
    sw.halt("a", "max_loss")
    sw.halt("b", "position_mismatch")
    sw.halt("c", "max_total_loss")
    assert sw.daily_reset(123, {"a": -5}, LOSS_HALTS) == ["a", "c"]
    assert sw.halted == {"b": "position_mismatch"}
    again = Switches.load(sw.dump() | {"from_a_newer_version": 1})
    assert (again.last_reset_ns, again.loss_base, again.halted) == (123, {"a": -5}, sw.halted)


def test_intake_liveness_reports_a_silent_quoter_once() -> None:
    intake = Intake(["a", "b"], start_ns=0)
    intake.forwarded("a", ((Level(4800, 1),), ()), 0)
    assert intake.silent(5, timeout_ns=10) == []
    intake.seen("b", 8)
    assert intake.silent(11, timeout_ns=10) == ["a"]
    assert "a" not in intake.live  # its cancel went out: the next intent is not a duplicate
    assert intake.silent(30, timeout_ns=10) == ["b"]
    intake.seen("a", 31)
    assert intake.silent(45, timeout_ns=10) == ["a"]


def test_intake_throttle_and_duplicates() -> None:
    intake = Intake(["a"], start_ns=0)
    assert not any(intake.throttled("a", 0, 0.0, 1) for _ in range(5))  # rate 0: off
    assert [intake.throttled("a", 0, 1.0, 2) for _ in range(3)] == [False, False, True]
    ladder = ((Level(4800, 1),), (), (), ())
    intake.forwarded("a", ladder, 100)
    assert intake.duplicate("a", ladder, 100 + 999_999, window_ms=1)
    assert not intake.duplicate("a", ladder, 100 + 1_000_000, window_ms=1)
    assert not intake.duplicate("a", ladder, 100, window_ms=0)
    intake.forget()
    assert not intake.duplicate("a", ladder, 100, window_ms=1)


def test_intake_event_context_sees_the_other_markets_live_quotes() -> None:
    intake = Intake(["a", "b"], start_ns=0)
    intake.forwarded("b", ((Level(4000, 1),), (Level(4500, 1),)), 0)
    ctx = intake.event_context(["b"], other_net=-300)
    assert (ctx.other_net, ctx.bids, ctx.asks) == (-300, (4000,), (4500,))
    assert intake.event_context([], other_net=0) == type(ctx)()
