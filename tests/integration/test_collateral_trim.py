"""Wallets smaller than the ladders: each executor trims its orders to the free collateral,
so the venues refuse none for want of balance (issue 18, item 4). Real stack on both
venues, real simulator with 150 USD per account ([sim] start_balance_usd), against
ladders of 50 contracts a level on seven markets (some 150 USD a market)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from tests.integration.stack import Stack, running
from tests.support.wait import eventually

pytestmark = pytest.mark.integration

START_USD = 150


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with running(quoters=1, base="demo-both.toml", extra=f"start_balance_usd = {START_USD}\n",
                 seed=23) as s:
        yield s


def _metric(stack: Stack, name: str, **labels: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{stack.exporter_port}/metrics", timeout=5).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _executor_logs(stack: Stack) -> str:
    return "\n".join(f.read_text(errors="replace")
                     for f in (stack.run_dir / "logs").glob("executor-*.log"))


def test_ladders_are_trimmed_to_the_collateral_and_none_is_refused_for_it(stack: Stack) -> None:
    for venue in ("polymarket", "kalshi"):
        eventually(lambda v=venue: _metric(stack, "pmm_orders_total", venue=v, action="place",
                                           outcome="unfunded") > 0,
                   timeout=90, what=f"{venue}: ladders trimmed for want of collateral")
    time.sleep(10)  # noqa: ASYNC251 - requotes and fills go on: none may be refused
    logs = _executor_logs(stack)
    assert "free collateral" in logs and "cannot fund the ladder" in logs
    refused = re.findall(r".*(not enough balance|insufficient.balance).*", logs, re.I)
    assert not refused, f"the venue refused orders for want of balance: {refused[:3]}"
    # What rests never exceeds what the account holds. (At a given moment an account may
    # have nothing resting: a requote in flight, or fills that spent what was free.)
    for address, acct in stack.sim_state()["accounts"].items():
        locked = sum(Decimal(o["price"]) * (Decimal(o["original_size"]) - Decimal(o["size_matched"]))
                     for o in acct["open_orders"])
        assert 0 <= locked <= Decimal(acct["collateral"]), (address, locked, acct["collateral"])

    doc = stack.status_cli()
    assert doc["collateral_usd"] is not None and 0 <= doc["locked_usd"] <= doc["collateral_usd"]
    assert doc["collateral_usd"] <= 2 * START_USD + 1  # two accounts, less what fills spent
    assert "collateral $" in stack.pmm("status").stdout
    for venue in ("polymarket", "kalshi"):
        assert 0 < _metric(stack, "pmm_venue_collateral_usd", venue=venue) <= START_USD + 1
        eventually(lambda v=venue: _metric(stack, "pmm_collateral_locked_usd", venue=v) > 0,
                   timeout=30, what=f"{venue}: orders resting, their lock exported")
