"""The exchange contract's wallet rules in the simulator, pinned to published vectors and the SDK."""

from __future__ import annotations

import msgspec
import pytest
from eth_account import Account
from eth_utils import keccak
from py_clob_client_v2.clob_types import CreateOrderOptions, OrderArgs
from py_clob_client_v2.order_builder.builder import OrderBuilder
from py_clob_client_v2.order_utils.model.order_data_v2 import order_to_json_v2
from py_clob_client_v2.order_utils.model.signature_type_v2 import SignatureTypeV2
from py_clob_client_v2.signer import Signer

from services.venue_sim.engine import OrderRejected
from services.venue_sim.signing import SendOrder, checked_hash
from services.venue_sim.wallets import funder_of, maker_allowed, proxy_wallet, safe_wallet

ANVIL_EOA = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
KEY = "0x" + keccak(text="pmm-wallet-rules").hex()
SIGNER = Account.from_key(KEY).address
TOKEN = "71321045679252212594626385532706912750332728571942532289631379312455583992563"


def test_create2_wallets_match_the_published_vectors() -> None:
    # the shared derivation vectors of Polymarket's Rust SDK (polymarket_client_sdk_v2)
    assert proxy_wallet(ANVIL_EOA).lower() == "0x365f0ca36ae1f641e02fe3b7743673da42a13a70"
    assert safe_wallet(ANVIL_EOA).lower() == "0xd93b25cb943d14d0d34fbaf01fc93a0f8b5f6e47"
    assert funder_of(ANVIL_EOA.lower(), 0) == ANVIL_EOA
    assert funder_of(ANVIL_EOA, 3) is None


def signed(sig_type: int, funder: str | None) -> SendOrder:
    builder = OrderBuilder(Signer(KEY, 137), SignatureTypeV2(sig_type), funder)
    order = builder.build_order(OrderArgs(token_id=TOKEN, price=0.4, size=10, side="BUY"),
                                CreateOrderOptions(tick_size="0.01", neg_risk=False))
    return msgspec.convert(order_to_json_v2(order, "owner", "GTC"), SendOrder)


@pytest.mark.parametrize(("sig_type", "funder", "accepted"), [
    (0, None, True),
    (0, ANVIL_EOA, False),  # EOA: the maker must be the signer
    (1, proxy_wallet(SIGNER), True),
    (1, safe_wallet(SIGNER), False),
    (1, None, False),  # the SDK defaults the funder to the signer: not a proxy
    (2, safe_wallet(SIGNER), True),
    (2, proxy_wallet(SIGNER), False),
    (2, safe_wallet(ANVIL_EOA), False),  # someone else's Safe
])
def test_maker_rules_of_signatures_sol(sig_type: int, funder: str | None, accepted: bool) -> None:
    send = signed(sig_type, funder)
    assert maker_allowed(send.order.signer, send.order.maker, sig_type) is accepted
    if accepted:
        assert checked_hash(send.order, neg_risk=False, verify=True).startswith("0x")
    else:
        with pytest.raises(OrderRejected, match="^invalid signature$"):
            checked_hash(send.order, neg_risk=False, verify=False)
