"""Plain records of the venue simulator: markets, order requests, trades, accounts, events."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from common.errors import PmmError
from services.venue_sim.book import Order, Side

EXCHANGE_V2 = "0xE111180000d2663C0091e4f400237545B87B996B"
NEG_RISK_EXCHANGE_V2 = "0xe2222d279d744050d28e00520010520000310F59"
"""Polymarket's CTF Exchange V2 contracts (py-clob-client-v2 config.get_contract_config,
chain 137): the spenders a wallet approves its collateral for, and the EIP-712 domains."""
UNLIMITED = 2**256 - 1
"""The largest ERC-20 allowance: what "approve without limit" sets."""


def spender_of(neg_risk: bool) -> str:
    """The exchange contract that moves a wallet's collateral for a market of this kind."""
    return NEG_RISK_EXCHANGE_V2 if neg_risk else EXCHANGE_V2

__all__ = [
    "FAK_KILLED", "FOK_KILLED", "GTD_BUFFER_S", "NO_BALANCE", "ORDER_TYPES", "POST_ONLY_CROSSES",
    "POST_ONLY_TYPES", "TRADES_KEEP", "Account", "Event", "LevelChanged", "OrderChanged",
    "OrderRejected", "OrderRequest", "Placement", "SimMarket", "Trade", "Traded",
]

GTD_BUFFER_S = 60
"""Polymarket keeps GTD orders until `expiration - 60 s`."""

FOK_KILLED = "order couldn't be fully filled. FOK orders are fully filled or killed."
FAK_KILLED = (
    "no orders found to match with FAK order. FAK orders are partially filled or killed if no "
    "match is found."
)
POST_ONLY_CROSSES = "invalid post-only order: order crosses book"
POST_ONLY_TYPES = "invalid post-only order: only GTC and GTD order types are allowed"
NO_BALANCE = "not enough balance / allowance"
ORDER_TYPES = frozenset({"GTC", "GTD", "FOK", "FAK"})
TRADES_KEEP = 5_000
"""Trades kept per external account (REST trade history, `/_sim/state` fills).

Older trades are dropped so a long soak's memory stays flat; `Account.trades_total`
still counts every trade and `positions`/`collateral` stay exact. No test comes near it.
"""


class OrderRejected(PmmError):
    """A definitive reject of an order, with the venue's message and HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True, slots=True)
class SimMarket:
    condition_id: str
    yes_token: str
    no_token: str
    tick: int
    min_size: int
    neg_risk: bool = False
    start_probability: float = 0.5
    name: str = ""
    venue: str = "polymarket"
    activity: float = 1.0
    """Multiplier of the noise traders' rate (issue 5 candidates differ in volume)."""
    depth: float = 1.0
    """Multiplier of the background makers' size (candidates differ in liquidity)."""
    resolves_at_s: int = 0
    """Unix seconds the market resolves (listings' end date); 0 unknown."""
    base_volume_usd: float = 0.0
    """Seeded traded volume before the simulator started (listings' 24h volume)."""


@dataclass(frozen=True, slots=True)
class OrderRequest:
    order_id: str
    account: str
    asset_id: str
    side: Side
    price: int
    size: int
    order_type: str = "GTC"
    post_only: bool = False
    expiration: int = 0


@dataclass(frozen=True, slots=True)
class Trade:
    """One match between a taker order and one maker order; prices in each order's token."""

    id: str
    market: str
    match_ms: int
    tx_hash: str
    size: int
    yes_price: int
    taker_order_id: str
    taker_account: str
    taker_asset: str
    taker_outcome: str
    taker_side: Side
    taker_price: int
    maker_order_id: str
    maker_account: str
    maker_asset: str
    maker_outcome: str
    maker_side: Side
    maker_price: int


@dataclass(slots=True)
class Account:
    address: str
    internal: bool
    collateral: int = 0
    """Micro-dollars held, including the part locked by resting BUY orders."""
    locked: int = 0
    allowances: dict[str, int] | None = None
    """Micro-dollars of collateral each Polymarket exchange contract may move for this
    wallet (spender address -> amount, the ERC-20 approvals); None: approved without
    limit (`[sim] approved`, the default)."""
    positions: dict[str, int] = field(default_factory=dict)
    reserved: dict[str, int] = field(default_factory=dict)
    open_orders: dict[str, Order] = field(default_factory=dict)
    trades: deque[Trade] = field(default_factory=lambda: deque(maxlen=TRADES_KEEP))
    """The newest TRADES_KEEP trades of this (external) account, oldest first."""
    trades_total: int = 0

    def free_collateral(self) -> int:
        return self.collateral - self.locked

    def free_tokens(self, token: str) -> int:
        return self.positions.get(token, 0) - self.reserved.get(token, 0)

    def allowance(self, spender: str) -> int | None:
        """What `spender` may move (None: no limit)."""
        return None if self.allowances is None else self.allowances.get(spender, 0)


# --- events drained by the server ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderChanged:
    kind: str  # PLACEMENT | UPDATE | CANCELLATION
    order: Order
    size_matched: int
    status: str
    ts_ms: int


@dataclass(frozen=True, slots=True)
class LevelChanged:
    market: str
    yes_bid: bool
    price: int
    size: int
    order_id: str


@dataclass(frozen=True, slots=True)
class Traded:
    trade: Trade


Event = OrderChanged | LevelChanged | Traded


@dataclass(frozen=True, slots=True)
class Placement:
    order: Order
    trades: tuple[Trade, ...]
