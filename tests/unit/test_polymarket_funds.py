"""services/executor/polymarket_funds.py: the wallet's collateral approvals, read before
quoting. Refuses only on clear evidence; any answer decodes or raises VenueError."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from py_clob_client_v2.config import get_contract_config
from py_clob_client_v2.exceptions import PolyApiException

from common.errors import VenueError
from common import metrics
from services.executor.polymarket_funds import (
    UNLIMITED,
    Funds,
    Recheck,
    check_funds,
    check_wallet,
    decode_funds,
    spenders,
)

CONTRACTS = get_contract_config(137)
EXCHANGE, NEG = CONTRACTS.exchange_v2, CONTRACTS.neg_risk_exchange_v2


def test_the_documented_answer_decodes_in_micro_dollars_with_lower_case_spenders() -> None:
    funds = decode_funds({"balance": "1000000000", "allowances": {EXCHANGE: "5000000",
                                                                   NEG: "max"}})
    assert funds == Funds(balance=1_000_000_000, allowances={
        EXCHANGE.lower(): Decimal(5_000_000), NEG.lower(): Decimal(UNLIMITED)})
    assert funds.balance_usd == 1000.0
    # a JSON number, as Polymarket's Rust SDK accepts; an answer without the map
    assert decode_funds({"balance": 0, "allowance": "1"}) == Funds(balance=0, allowances=None)


@pytest.mark.parametrize("raw", [None, [], "x", {}, {"balance": "ten"},
                                 {"balance": "1", "allowances": {"0x1": "lots"}},
                                 {"balance": "NaN"}, {"balance": "1", "allowances": ["0x1"]}])
def test_an_answer_of_another_shape_is_a_venue_error(raw: object) -> None:
    with pytest.raises(VenueError, match="balance-allowance answer not understood"):
        decode_funds(raw)


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
                    max_leaves=10))
def test_any_json_decodes_or_is_a_venue_error(raw: object) -> None:
    try:
        decode_funds(raw)
    except VenueError:
        pass


def test_spenders_are_the_sdks_exchanges_for_the_markets_kinds() -> None:
    assert spenders(137, [False, False]) == {EXCHANGE: "CTF Exchange V2"}
    assert spenders(137, [True, False]) == {EXCHANGE: "CTF Exchange V2",
                                            NEG: "Neg Risk CTF Exchange V2"}


def test_a_missing_approval_refuses_and_says_what_to_approve() -> None:
    funds = Funds(balance=5, allowances={EXCHANGE.lower(): Decimal(UNLIMITED),
                                         NEG.lower(): Decimal(0)})
    with pytest.raises(VenueError) as refused:
        check_funds(funds, wallet="0xW", chain_id=137, needed=spenders(137, [True, False]))
    text = str(refused.value)
    assert f"Neg Risk CTF Exchange V2 {NEG}" in text and "CTF Exchange V2 0xE111" not in text
    assert CONTRACTS.collateral in text and "0xW" in text
    # only the plain exchange needed: passes
    check_funds(funds, wallet="0xW", chain_id=137, needed=spenders(137, [False]))
    # a fraction of a unit is an approval (not truncated to 0)
    check_funds(Funds(balance=5, allowances={EXCHANGE.lower(): Decimal("0.5")}),
                wallet="0xW", chain_id=137, needed=spenders(137, [False]))


def test_a_spender_the_map_does_not_list_is_warned_about_not_refused(
        caplog: pytest.LogCaptureFixture) -> None:
    """Not clear evidence: during a migration the venue may list other spenders."""
    with caplog.at_level(logging.WARNING):
        check_funds(Funds(balance=5, allowances={"0x" + "1" * 40: Decimal(9)}),
                    wallet="0xW", chain_id=137, needed=spenders(137, [False]))
    assert f"lists no allowance of wallet 0xW for {EXCHANGE}" in caplog.text


def test_an_answer_without_allowances_is_not_checked_but_said(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        check_funds(Funds(balance=5, allowances=None), wallet="0xW", chain_id=137,
                    needed=spenders(137, [False]))
    assert "approvals are not checked" in caplog.text


class _Sdk:
    """Runs the SDK call inline (SdkCalls runs it in a worker thread)."""

    def __init__(self) -> None:
        self.endpoints: list[str] = []

    async def call(self, endpoint: str, fn: Any, *args: Any) -> Any:
        self.endpoints.append(endpoint)
        return fn(*args)


class _Client:
    def __init__(self, answer: object, fail: Exception | None = None) -> None:
        self.answer, self.fail = answer, fail

    def update_balance_allowance(self, params: Any) -> object:
        return {}

    def get_balance_allowance(self, params: Any) -> object:
        assert params.asset_type == "COLLATERAL"
        if self.fail is not None:
            raise self.fail
        return self.answer


def _check(answer: object, fail: Exception | None = None) -> tuple[Funds | None, list[str]]:
    sdk = _Sdk()
    client: Any = _Client(answer, fail)
    funds = asyncio.run(check_wallet(sdk, client, wallet="0xW",  # type: ignore[arg-type]
                                     chain_id=137, neg_risk=[False]))
    return funds, sdk.endpoints


def test_the_wallet_check_refreshes_first_and_sets_the_collateral_gauge() -> None:
    funds, endpoints = _check({"balance": "2500000", "allowances": {EXCHANGE: "max"}})
    assert endpoints == ["balance-update", "balance"]
    assert funds is not None and funds.balance_usd == 2.5
    gauge = metrics.VENUE_COLLATERAL.labels(venue="polymarket")
    assert gauge._value.get() == 2.5
    with pytest.raises(VenueError, match="has not approved"):
        _check({"balance": "2500000", "allowances": {EXCHANGE: "0"}})


def test_an_answer_it_cannot_read_or_understand_does_not_block_the_wallet(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        assert _check("<html>", None) == (None, ["balance-update", "balance"])
        assert _check(None, PolyApiException(error_msg="not found"))[0] is None
    assert caplog.text.count("approvals not checked") == 2


def test_an_approval_revoked_while_running_is_an_error_once_a_minute_and_a_gauge(
        caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    recheck = Recheck(wallet="0xW", chain_id=137, neg_risk=[False], clock=lambda: now[0])
    gauge = metrics.VENUE_APPROVALS_MISSING.labels(venue="polymarket")
    assert gauge._value.get() == 0
    client: Any = _Client({"balance": "5000000", "allowances": {EXCHANGE: "0"}})
    with caplog.at_level(logging.ERROR):
        funds = asyncio.run(recheck.read(_Sdk(), client))  # type: ignore[arg-type]
        now[0] = 30.0
        asyncio.run(recheck.read(_Sdk(), client))  # type: ignore[arg-type]
    assert funds.balance == 5_000_000 and gauge._value.get() == 1
    assert caplog.text.count("no longer approves its collateral for CTF Exchange V2") == 1
    now[0] = 61.0
    with caplog.at_level(logging.ERROR):
        asyncio.run(recheck.read(_Sdk(), client))  # type: ignore[arg-type]
    assert caplog.text.count("no longer approves") == 2
    client.answer = {"balance": "5000000", "allowances": {EXCHANGE: "max"}}
    asyncio.run(recheck.read(_Sdk(), client))  # type: ignore[arg-type]
    assert gauge._value.get() == 0
    client.fail = PolyApiException(error_msg="down")
    with pytest.raises(VenueError, match="collateral not read"):
        asyncio.run(recheck.read(_Sdk(), client))  # type: ignore[arg-type]
