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
refuses on clear evidence. Polymarket's clients (polymarket-client 0.14.0 `BalanceAllowance`,
rs-clob-client) read `balance` and an optional `allowances` map, the Rust one taking
`balance` as a decimal that may come as a JSON number; older clients and third-party docs
show a single `allowance`. Only a needed spender listed at 0 blocks (`"max"` reads as no
limit). An answer without the map, a spender the map does not list, an answer that cannot
be read or decoded: each is logged and not held against the wallet (the venue still
refuses what it cannot fund). `/balance-allowance/update` goes first: the venue caches
the answer, and an approval just made would not show.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from decimal import Decimal

import msgspec
from py_clob_client_v2.client import ClobClient
from py_clob_client_v2.clob_types import AssetType, BalanceAllowanceParams
from py_clob_client_v2.config import get_contract_config
from py_clob_client_v2.exceptions import PolyException

from common import metrics
from common.errors import VenueError
from common.messages import MarketPosition
from common.wire_numbers import counter
from services.executor.orders import MarketTokens
from services.executor.polymarket_rest import error_text
from services.executor.polymarket_sdk import SdkCalls

__all__ = ["Funds", "Recheck", "check_funds", "check_wallet", "decode_funds", "missing_approvals",
           "read_funds", "read_positions", "spenders"]

log = logging.getLogger(__name__)

UNITS_PER_USD = 1_000_000
"""pUSD has 6 decimals."""
UNLIMITED = 2**256 - 1
"""The largest ERC-20 allowance, which is what an allowance of `"max"` reads as."""


class _Wire(msgspec.Struct):
    balance: str | int | float
    allowances: dict[str, str | int | float] | None = None


class Funds(msgspec.Struct, frozen=True):
    """Collateral held and each spender's allowance, in micro-dollars (lower-case keys);
    `allowances` None when the venue reported none."""

    balance: int
    allowances: dict[str, Decimal] | None
    """Amounts as the venue wrote them (a fraction of a unit still counts as approved)."""

    @property
    def balance_usd(self) -> float:
        return self.balance / UNITS_PER_USD


def decode_funds(raw: object) -> Funds:
    """The venue's answer as `Funds`; VenueError if it is not the documented shape."""
    try:
        wire = msgspec.convert(raw, _Wire)
        allowances = None if wire.allowances is None else {
            k.lower(): _amount(v) for k, v in wire.allowances.items()}
        return Funds(balance=int(_amount(wire.balance)), allowances=allowances)
    except (msgspec.ValidationError, ValueError, TypeError, ArithmeticError) as exc:
        raise VenueError(f"polymarket balance-allowance answer not understood: {exc}",
                         definitive=False) from exc


def _amount(value: str | int | float) -> Decimal:
    """An amount in 6-decimal units (`"max"`: no limit); raises ValueError if not a number."""
    if isinstance(value, str) and value.strip().lower() == "max":
        return Decimal(UNLIMITED)
    amount = Decimal(str(value))
    if not amount.is_finite():
        raise ValueError(f"not a finite amount: {value!r}")
    return amount


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
    """Raise VenueError naming the approvals the venue lists at 0 (no order could rest);
    a needed spender it does not list is only warned about."""
    if not funds.allowances:
        log.warning("the venue reported no per-exchange allowances for wallet %s: its "
                    "approvals are not checked", wallet)
        return
    unlisted = [a for a in sorted(needed) if a.lower() not in funds.allowances]
    if unlisted:
        log.warning("the venue lists no allowance of wallet %s for %s: not checked",
                    wallet, ", ".join(unlisted))
    missing = missing_approvals(funds, needed)
    if missing:
        collateral = get_contract_config(chain_id).collateral
        log.error("wallet %s has not approved its collateral for %s: nothing is sent until "
                  "it does", wallet, " and ".join(missing))
        raise VenueError(
            f"wallet {wallet} has not approved its collateral (pUSD {collateral}) for "
            f"{' and '.join(missing)}: the venue would refuse every order. Approve it from "
            "the wallet (Polymarket's site does on first deposit; or an ERC-20 approve), "
            "then the executor goes on by itself", definitive=False)


async def read_funds(sdk: SdkCalls, client: ClobClient) -> Funds | None:
    """`GET /balance-allowance` for the collateral, through the SDK, after asking the
    venue to re-read the chain (`/balance-allowance/update`: its answer is cached, and an
    approval just made would not show); None, logged, if it cannot be read."""
    params = BalanceAllowanceParams(asset_type=AssetType.COLLATERAL)
    try:
        await sdk.call("balance-update", client.update_balance_allowance, params)
    except PolyException as exc:
        log.warning("balance-allowance refresh failed: %s", error_text(exc))
    try:
        return decode_funds(await sdk.call("balance", client.get_balance_allowance, params))
    except PolyException as exc:
        log.error("cannot read the wallet's collateral: %s", error_text(exc))
    except VenueError as exc:
        log.error("%s", exc)
    return None


def missing_approvals(funds: Funds, needed: dict[str, str]) -> list[str]:
    """The needed spenders (address -> name) the venue lists at 0, as "name address"."""
    if not funds.allowances:
        return []
    return [f"{name} {address}" for address, name in sorted(needed.items())
            if funds.allowances.get(address.lower(), Decimal(1)) <= 0]


class Recheck:
    """The wallet's collateral read while running, its approvals checked again each time:
    an approval revoked after start (the venue then refuses every BUY) is an error log
    once a minute and `pmm_venue_approvals_missing{venue}` (alert PmmApprovalMissing)."""

    def __init__(self, *, wallet: str, chain_id: int, neg_risk: Iterable[bool],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.wallet = wallet
        self.needed = spenders(chain_id, neg_risk)
        self._clock = clock
        self._logged: float | None = None
        metrics.VENUE_APPROVALS_MISSING.labels(venue="polymarket").set(0)

    async def read(self, sdk: SdkCalls, client: ClobClient) -> Funds:
        """The funds now (VenueError if they cannot be read), approvals checked."""
        funds = await read_funds(sdk, client)
        if funds is None:
            raise VenueError("polymarket collateral not read", definitive=False)
        missing = missing_approvals(funds, self.needed)
        metrics.VENUE_APPROVALS_MISSING.labels(venue="polymarket").set(len(missing))
        now = self._clock()
        if missing and (self._logged is None or now - self._logged >= 60):
            self._logged = now
            log.error("wallet %s no longer approves its collateral for %s: the venue refuses "
                      "every order. Approve it again from the wallet (logged once a minute)",
                      self.wallet, " and ".join(missing))
        return funds


async def read_positions(sdk: SdkCalls, client: ClobClient,
                         markets: Iterable[MarketTokens]) -> list[MarketPosition]:
    """Conditional-token balances of `markets` (6-dp amounts -> centi-contracts); VenueError
    if one cannot be read."""
    out = []
    for m in markets:
        held = []
        for token in (m.yes_token, m.no_token):
            params = BalanceAllowanceParams(asset_type=AssetType.CONDITIONAL, token_id=token)
            try:
                resp = await sdk.call("balance", client.get_balance_allowance, params)
                held.append(counter(resp.get("balance") or "0", "balance") // 10_000)
            except (PolyException, ValueError, AttributeError) as exc:
                raise VenueError(f"positions of {m.market}: {exc}", definitive=False) from None
        out.append(MarketPosition(market=m.market, position_yes=held[0],
                                  position_no=held[1], net=held[0] - held[1]))
    return out


async def check_wallet(sdk: SdkCalls, client: ClobClient, *, wallet: str, chain_id: int,
                       neg_risk: Iterable[bool]) -> Funds | None:
    """Read the collateral (`pmm_venue_collateral_usd`), raise VenueError if an exchange
    our markets (`neg_risk`: each market's flag) trade on is listed as not approved, and
    warn if the wallet holds nothing. An answer it cannot read or understand is logged and
    not held against the wallet: the venue still refuses what it cannot fund."""
    funds = await read_funds(sdk, client)
    if funds is None:
        log.error("wallet %s: collateral unknown, approvals not checked", wallet)
        return None
    metrics.VENUE_COLLATERAL.labels(venue="polymarket").set(funds.balance_usd)
    check_funds(funds, wallet=wallet, chain_id=chain_id, needed=spenders(chain_id, neg_risk))
    if funds.balance <= 0:
        log.warning("wallet %s holds no collateral: every order will be refused until pUSD "
                    "is deposited", wallet)
    return funds
