"""Polymarket wallets' ERC-20 approvals in the simulator: what each exchange contract may
move of a wallet's collateral, as the venue checks it.

A wallet whose `Account.allowances` is None is approved without limit (`[sim] approved`,
the default). Otherwise a BUY is refused (`not enough balance / allowance`, the venue's
one answer for both) when its collateral, with what the wallet's resting BUYs on the same
exchange hold, passes that exchange's allowance; and a fill spends a finite allowance,
as the exchange's `transferFrom` does.
"""

from __future__ import annotations

from collections.abc import Mapping

from services.venue_sim.model import (
    EXCHANGE_V2,
    NEG_RISK_EXCHANGE_V2,
    NO_BALANCE,
    UNLIMITED,
    Account,
    OrderRejected,
    SimMarket,
    spender_of,
)

__all__ = ["approve", "check", "spend"]


def check(acct: Account, markets: Mapping[str, SimMarket], market: SimMarket,
          cost: int) -> None:
    """Raise OrderRejected if a BUY of `cost` micro-dollars in `market` is past the
    allowance of its exchange."""
    allowed = acct.allowance(spender_of(market.neg_risk))
    if allowed is None:
        return
    held = sum(o.price * o.remaining for o in acct.open_orders.values()
               if o.side == "BUY" and markets[o.market].neg_risk == market.neg_risk)
    if held + cost > allowed:
        raise OrderRejected(NO_BALANCE)


def approve(acct: Account, spender: str, amount: int) -> None:
    """The wallet's approval of `spender` for `amount` micro-dollars (the other exchange
    keeps what it had: no limit, for a wallet that had none)."""
    if acct.allowances is None:
        acct.allowances = {s: UNLIMITED for s in (EXCHANGE_V2, NEG_RISK_EXCHANGE_V2)}
    acct.allowances[spender] = amount


def spend(acct: Account, market: SimMarket, amount: int) -> None:
    """A BUY fill moved `amount` of the wallet's collateral through `market`'s exchange."""
    if acct.allowances is None:
        return
    spender = spender_of(market.neg_risk)
    left = acct.allowances.get(spender, 0)
    if left != UNLIMITED:
        acct.allowances[spender] = max(0, left - amount)
