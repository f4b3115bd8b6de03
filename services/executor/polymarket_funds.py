"""The Polymarket wallet's collateral and its approvals, checked before quoting.

Every resting order of ours is a BUY (an ask is a BUY of NO), paid in collateral (pUSD)
that the exchange contract moves out of the wallet when it matches. The venue refuses a
BUY the wallet cannot fund *or has not approved that exchange to move*: a wallet that
never approved the CTF Exchange V2 (or, for neg-risk markets, the Neg Risk CTF Exchange
V2) has every order refused with `not enough balance / allowance`. So the executor reads
`GET /balance-allowance?asset_type=COLLATERAL` (py-clob-client-v2
`get_balance_allowance`; shared/venues.md: `{"balance": "...", "allowances": {spender:
amount}}`, 6-decimal integers) before it starts, and refuses to start, saying exactly
what to approve, while an exchange one of its markets trades on has no allowance.
Spender addresses come from the SDK's own contract config for the chain.

Sources disagree on the answer's details, so the decoder is lenient and the check only
refuses on clear evidence: Polymarket's Rust SDK (rs-clob-client) reads `balance` as a
decimal that may come as a JSON number and `allowances` as an optional map; older
clients and third-party docs show a single `allowance` instead. A spender listed at 0, or
missing from a non-empty map, blocks; an answer without the map is logged and not
checked (the venue still refuses what the wallet cannot fund). `"max"` reads as no limit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from decimal import Decimal

import msgspec
from py_clob_client_v2.client import ClobClient
from py_clob_client_v2.clob_types import AssetType, BalanceAllowanceParams
from py_clob_client_v2.config import get_contract_config
from py_clob_client_v2.exceptions import PolyException

from common import metrics
from common.errors import VenueError
from services.executor.polymarket_rest import error_text
from services.executor.polymarket_sdk import SdkCalls

__all__ = ["Funds", "check_funds", "check_wallet", "decode_funds", "read_funds", "spenders"]

log = logging.getLogger(__name__)

UNITS_PER_USD = 1_000_000
"""pUSD has 6 decimals."""


UNLIMITED = 2**256 - 1


class _Wire(msgspec.Struct):
    balance: str | int | float
    allowances: dict[str, str | int | float] | None = None


class Funds(msgspec.Struct, frozen=True):
    """Collateral held and each spender's allowance, in micro-dollars (lower-case keys);
    `allowances` None when the venue reported none."""

    balance: int
    allowances: dict[str, int] | None

    @property
    def balance_usd(self) -> float:
        return self.balance / UNITS_PER_USD


def decode_funds(raw: object) -> Funds:
    """The venue's answer as `Funds`; VenueError if it is not the documented shape."""
    try:
        wire = msgspec.convert(raw, _Wire)
        allowances = None if wire.allowances is None else {
            k.lower(): _units(v) for k, v in wire.allowances.items()}
        return Funds(balance=_units(wire.balance), allowances=allowances)
    except (msgspec.ValidationError, ValueError, TypeError, ArithmeticError) as exc:
        raise VenueError(f"polymarket balance-allowance answer not understood: {exc}",
                         definitive=False) from exc


def _units(value: str | int | float) -> int:
    """A 6-decimal integer amount (`"max"`: no limit); raises ValueError if not a number."""
    if isinstance(value, str) and value.strip().lower() == "max":
        return UNLIMITED
    amount = Decimal(str(value))
    if not amount.is_finite():
        raise ValueError(f"not a finite amount: {value!r}")
    return int(amount)


def spenders(chain_id: int, neg_risk: Iterable[bool]) -> dict[str, str]:
    """The exchange contracts our markets trade on: address -> name."""
    contracts = get_contract_config(chain_id)
    out = {}
    for flag in set(neg_risk):
        if flag:
            out[contracts.neg_risk_exchange_v2] = "Neg Risk CTF Exchange V2"
        else:
            out[contracts.exchange_v2] = "CTF Exchange V2"
    return out


def check_funds(funds: Funds, *, wallet: str, chain_id: int,
                needed: dict[str, str]) -> None:
    """Raise VenueError naming the approvals the wallet lacks (no order could rest)."""
    if not funds.allowances:
        log.warning("the venue reported no per-exchange allowances for wallet %s: its "
                    "approvals are not checked", wallet)
        return
    missing = [f"{name} {address}" for address, name in sorted(needed.items())
               if funds.allowances.get(address.lower(), 0) <= 0]
    if missing:
        collateral = get_contract_config(chain_id).collateral
        raise VenueError(
            f"wallet {wallet} has not approved its collateral (pUSD {collateral}) for "
            f"{' and '.join(missing)}: the venue would refuse every order. Approve it from "
            "the wallet (Polymarket's site does on first deposit; or an ERC-20 approve), "
            "then the executor goes on by itself", definitive=False)


async def read_funds(sdk: SdkCalls, client: ClobClient) -> Funds:
    """`GET /balance-allowance` for the collateral, through the SDK."""
    try:
        raw = await sdk.call("balance", client.get_balance_allowance,
                             BalanceAllowanceParams(asset_type=AssetType.COLLATERAL))
    except PolyException as exc:
        raise VenueError(f"cannot read the wallet's collateral: {error_text(exc)}",
                         definitive=False) from exc
    return decode_funds(raw)


async def check_wallet(sdk: SdkCalls, client: ClobClient, *, wallet: str, chain_id: int,
                       neg_risk: Iterable[bool]) -> Funds:
    """Read the collateral (`pmm_venue_collateral_usd`), raise VenueError if an exchange
    our markets (`neg_risk`: each market's flag) trade on is not approved, and warn if the
    wallet holds nothing."""
    funds = await read_funds(sdk, client)
    metrics.VENUE_COLLATERAL.labels(venue="polymarket").set(funds.balance_usd)
    check_funds(funds, wallet=wallet, chain_id=chain_id, needed=spenders(chain_id, neg_risk))
    if funds.balance <= 0:
        log.warning("wallet %s holds no collateral: every order will be refused until pUSD "
                    "is deposited", wallet)
    return funds
