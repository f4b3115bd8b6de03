"""A Polymarket wallet that has not approved its collateral for the exchange: the executor
says exactly what to approve and sends nothing, then quotes by itself once the approval
is made (issue 18, item 4). Real stack, real simulator (`[sim] approved = false`, and
`POST /_sim/approve` standing in for the on-chain approval)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.integration.stack import Stack, running
from tests.support.wait import eventually

pytestmark = pytest.mark.integration

EXCHANGE_V2 = "0xE111180000d2663C0091e4f400237545B87B996B"
"""py-clob-client-v2 get_contract_config(137).exchange_v2 (demo.toml's markets are not
neg-risk, so this is the one approval they need)."""


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with running(quoters=1, extra="approved = false\n[executor]\ncollateral_check_interval_ms = 1000\n",
                 seed=17) as s:
        yield s


def _executor_log(stack: Stack) -> str:
    return "\n".join(f.read_text(errors="replace")
                     for f in (stack.run_dir / "logs").glob("executor-polymarket*.log"))


def _collateral_usd(stack: Stack) -> float | None:
    text = httpx.get(f"http://127.0.0.1:{stack.exporter_port}/metrics", timeout=5).text
    found = re.search(r'^pmm_venue_collateral_usd\{venue="polymarket"\} (\S+)$', text, re.M)
    return float(found.group(1)) if found else None


def test_an_unapproved_wallet_sends_nothing_and_says_what_to_approve(stack: Stack) -> None:
    said = eventually(lambda: re.search(
        r"wallet (0x[0-9a-fA-F]{40}) has not approved its collateral \(pUSD 0x[0-9a-fA-F]{40}\)"
        rf" for CTF Exchange V2 {EXCHANGE_V2}", _executor_log(stack)),
        timeout=60, what="the executor names the missing approval")
    assert eventually(lambda: _collateral_usd(stack), timeout=20,
                      what="the collateral gauge") == 1_000_000.0  # [sim] start_balance_usd
    time.sleep(3)  # noqa: ASYNC251 - quoters and risk are up: nothing may reach the venue
    assert sum(stack.open_orders_by_market().values()) == 0
    assert stack.sim_state()["accounts"][said.group(1)]["open_orders"] == []

    r = httpx.post(f"http://127.0.0.1:{stack.sim_port}/_sim/approve", timeout=5,
                   json={"address": said.group(1), "spender": EXCHANGE_V2, "amount_usd": None})
    assert r.status_code == 200, r.text
    approved = time.monotonic()
    markets = {m.id for m in stack.cfg.markets}
    seen: set[str] = set()

    def all_quoted() -> bool:
        seen.update(m for m, n in stack.open_orders_by_market().items() if n > 0)
        return markets <= seen
    eventually(all_quoted, timeout=45, what=f"every market quoted after the approval: {markets}")
    print(f"\nquoting {time.monotonic() - approved:.1f} s after the approval")

    # revoked while running: the next collateral read (every second here) says so
    assert _approvals_missing(stack) == 0
    r = httpx.post(f"http://127.0.0.1:{stack.sim_port}/_sim/approve", timeout=5,
                   json={"address": said.group(1), "spender": EXCHANGE_V2, "amount_usd": 0})
    assert r.status_code == 200, r.text
    eventually(lambda: _approvals_missing(stack) == 1, timeout=20,
               what="pmm_venue_approvals_missing after the approval is revoked")
    eventually(lambda: f"wallet {said.group(1)} no longer approves its collateral for CTF "
               f"Exchange V2 {EXCHANGE_V2}" in _executor_log(stack), timeout=10,
               what="the executor's error naming the revoked approval")
    r = httpx.post(f"http://127.0.0.1:{stack.sim_port}/_sim/approve", timeout=5,
                   json={"address": said.group(1), "spender": EXCHANGE_V2, "amount_usd": None})
    assert r.status_code == 200, r.text
    eventually(lambda: _approvals_missing(stack) == 0, timeout=20,
               what="the gauge back at 0 once approved again")


def _approvals_missing(stack: Stack) -> float | None:
    text = httpx.get(f"http://127.0.0.1:{stack.exporter_port}/metrics", timeout=5).text
    found = re.search(r'^pmm_venue_approvals_missing\{venue="polymarket"\} (\S+)$', text, re.M)
    return float(found.group(1)) if found else None


def test_the_simulator_refuses_an_approval_of_an_unknown_spender(stack: Stack) -> None:
    r = httpx.post(f"http://127.0.0.1:{stack.sim_port}/_sim/approve", timeout=5,
                   json={"address": "0x" + "1" * 40, "spender": "0x" + "2" * 40,
                         "amount_usd": 5})
    assert r.status_code == 400 and "spender must be one of" in r.text
