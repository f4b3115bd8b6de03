"""services/executor/polymarket_funds.py: the wallet's collateral approvals, read before
quoting. Refuses only on clear evidence; any answer decodes or raises VenueError."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st
from py_clob_client_v2.config import get_contract_config

from common.errors import VenueError
from services.executor.polymarket_funds import (
    UNLIMITED,
    Funds,
    check_funds,
    decode_funds,
    spenders,
)

CONTRACTS = get_contract_config(137)
EXCHANGE, NEG = CONTRACTS.exchange_v2, CONTRACTS.neg_risk_exchange_v2


def test_the_documented_answer_decodes_in_micro_dollars_with_lower_case_spenders() -> None:
    funds = decode_funds({"balance": "1000000000", "allowances": {EXCHANGE: "5000000",
                                                                   NEG: "max"}})
    assert funds == Funds(balance=1_000_000_000,
                          allowances={EXCHANGE.lower(): 5_000_000, NEG.lower(): UNLIMITED})
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
    funds = Funds(balance=5, allowances={EXCHANGE.lower(): UNLIMITED, NEG.lower(): 0})
    with pytest.raises(VenueError) as refused:
        check_funds(funds, wallet="0xW", chain_id=137, needed=spenders(137, [True, False]))
    text = str(refused.value)
    assert f"Neg Risk CTF Exchange V2 {NEG}" in text and "CTF Exchange V2 0xE111" not in text
    assert CONTRACTS.collateral in text and "0xW" in text
    # only the plain exchange needed: passes; a spender absent from the map counts as 0
    check_funds(funds, wallet="0xW", chain_id=137, needed=spenders(137, [False]))
    with pytest.raises(VenueError):
        check_funds(Funds(balance=5, allowances={"0x" + "1" * 40: 9}), wallet="0xW",
                    chain_id=137, needed=spenders(137, [False]))


def test_an_answer_without_allowances_is_not_checked_but_said(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        check_funds(Funds(balance=5, allowances=None), wallet="0xW", chain_id=137,
                    needed=spenders(137, [False]))
    assert "approvals are not checked" in caplog.text
