"""Kalshi conformance: kalshi-python-sync 3.34.0, unchanged, against the simulator.

One test per call the official client makes (kalshi_calls.CALLS), so this module's output
is the conformance table. A call passes when the SDK's own response models accept the
answer and the answer means what the venue's spec says (a resting order rests, an
immediate-or-cancel fill reports its fill price ...); a bad request passes when the venue
refuses it with the status and error body the spec lists.
"""

from __future__ import annotations

import pytest

from tests.conformance.kalshi_calls import CALLS


def test_the_driver_reports_every_call_once(kalshi_results: dict[str, dict[str, object]]) -> None:
    assert sorted(kalshi_results) == sorted(CALLS)


@pytest.mark.parametrize("call", CALLS)
def test_call(call: str, kalshi_results: dict[str, dict[str, object]]) -> None:
    result = kalshi_results.get(call)
    assert result is not None, f"{call} did not run"
    assert result["ok"], result["error"]
