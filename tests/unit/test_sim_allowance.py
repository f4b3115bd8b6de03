"""The simulator's Polymarket wallets: BUYs are funded only as far as the wallet approved
the market's exchange contract (`[sim] approved`, `POST /_sim/approve`), as on the venue,
which refuses them with `not enough balance / allowance`."""

from __future__ import annotations

import pytest

from services.venue_sim import allowances
from services.venue_sim.engine import Engine, OrderRejected, SimMarket
from services.venue_sim.model import EXCHANGE_V2, NEG_RISK_EXCHANGE_V2, NO_BALANCE, UNLIMITED
from tests.unit.test_sim_engine import START, Clock, order

M = 1_000_000
PLAIN = SimMarket(condition_id="0xplain", yes_token="11", no_token="12", tick=100, min_size=500)
NEG = SimMarket(condition_id="0xneg", yes_token="21", no_token="22", tick=100, min_size=500,
                neg_risk=True)


def engine(approved: bool) -> Engine:
    e = Engine([PLAIN, NEG], clock_ms=Clock(), id_seed=1)
    e.wallets_approved = approved
    e.open_wallet("w", START)
    return e


def test_an_approved_wallet_buys_on_both_exchanges() -> None:
    e = engine(approved=True)
    e.place(order("w", "11", "BUY", 4500, 1000))
    e.place(order("w", "21", "BUY", 4500, 1000))
    assert e.accounts["w"].allowance(EXCHANGE_V2) is None  # no limit


def test_a_wallet_without_approval_is_refused_until_it_approves_that_exchange() -> None:
    e = engine(approved=False)
    with pytest.raises(OrderRejected) as refused:
        e.place(order("w", "11", "BUY", 4500, 1000))
    assert refused.value.message == NO_BALANCE
    acct = e.accounts["w"]
    allowances.approve(acct, EXCHANGE_V2, UNLIMITED)
    e.place(order("w", "11", "BUY", 4500, 1000))
    with pytest.raises(OrderRejected):  # the neg-risk exchange is a separate approval
        e.place(order("w", "21", "BUY", 4500, 1000))
    allowances.approve(acct, NEG_RISK_EXCHANGE_V2, UNLIMITED)
    e.place(order("w", "21", "BUY", 4500, 1000))


def test_an_allowance_caps_what_all_resting_buys_may_lock() -> None:
    e = engine(approved=False)
    acct = e.accounts["w"]
    allowances.approve(acct, EXCHANGE_V2, 10 * M)  # 10 USD
    e.place(order("w", "11", "BUY", 4500, 1000))  # 4.50 locked
    e.place(order("w", "12", "BUY", 5000, 1000))  # 5.00 more: 9.50
    with pytest.raises(OrderRejected):
        e.place(order("w", "11", "BUY", 4400, 1000))  # 4.40 more would pass 10
    assert acct.locked == 9_500_000  # nothing of the refused order stayed


def test_approving_first_leaves_the_other_exchange_unlimited() -> None:
    """An approval on a wallet that had no limits keeps the other spender unlimited."""
    e = engine(approved=True)
    acct = e.accounts["w"]
    allowances.approve(acct, EXCHANGE_V2, 0)
    with pytest.raises(OrderRejected):
        e.place(order("w", "11", "BUY", 4500, 1000))
    e.place(order("w", "21", "BUY", 4500, 1000))
    assert acct.allowance(NEG_RISK_EXCHANGE_V2) == UNLIMITED


def test_each_exchange_allowance_counts_only_the_buys_it_funds() -> None:
    e = engine(approved=False)
    acct = e.accounts["w"]
    allowances.approve(acct, EXCHANGE_V2, 5 * M)
    allowances.approve(acct, NEG_RISK_EXCHANGE_V2, 50 * M)
    e.place(order("w", "21", "BUY", 4500, 5000))  # 22.50 on the neg-risk exchange
    e.place(order("w", "11", "BUY", 4500, 1000))  # 4.50 of the plain exchange's 5: fine


def test_a_fill_spends_a_finite_allowance_but_not_an_unlimited_one() -> None:
    e = engine(approved=False)
    acct = e.accounts["w"]
    allowances.approve(acct, EXCHANGE_V2, 10 * M)
    e.open_account("seller", START)
    e.place(order("seller", "12", "BUY", 5500, 1000))  # asks YES at 0.45
    e.place(order("w", "11", "BUY", 4500, 1000, order_type="FAK"))  # takes it: 4.50 moved
    assert acct.allowance(EXCHANGE_V2) == 10 * M - 4_500_000
    allowances.approve(acct, EXCHANGE_V2, UNLIMITED)
    e.place(order("seller", "12", "BUY", 5500, 1000))
    e.place(order("w", "11", "BUY", 4500, 1000, order_type="FAK"))
    assert acct.allowance(EXCHANGE_V2) == UNLIMITED
