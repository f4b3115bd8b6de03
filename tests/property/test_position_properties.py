"""Property tests of exact position accounting (services/risk/position.py)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from common.messages import Fill
from common.prices import ONE_DOLLAR
from services.risk.position import Position, apply_fill, marked_pnl, realized_pnl, trade


def make_fill(i: int, outcome: str, side: str, price: int, size: int, fee: int = 0) -> Fill:
    return Fill(
        venue="polymarket", market="m", trade_id=f"t{i}", order_id=f"o{i}",
        outcome=outcome, side=side, price=price, size=size, fee=fee,  # type: ignore[arg-type]
        ts_venue_ms=0, ts_recv_ns=0,
    )


fills_st = st.lists(
    st.tuples(
        st.sampled_from(["YES", "NO"]),
        st.sampled_from(["BUY", "SELL"]),
        st.integers(1, ONE_DOLLAR - 1),
        st.integers(1, 1_000_000),
        st.integers(0, 10_000),
    ),
    max_size=60,
)


@settings(max_examples=500)
@given(fills_st)
def test_conservation_identity_holds_for_any_fill_sequence(raw: list[tuple]) -> None:
    pos = Position()
    for i, (outcome, side, price, size, fee) in enumerate(raw):
        pos = apply_fill(pos, make_fill(i, outcome, side, price, size, fee))
        assert pos.cash_flow + pos.basis == pos.realized
        assert pos.cash_flow - pos.fees + pos.basis == realized_pnl(pos)
        assert pos.net == pos.position_yes - pos.position_no
        if pos.net == 0:
            assert pos.basis == 0
    assert pos.fills == len(raw)


@settings(max_examples=300)
@given(fills_st, st.integers(0, ONE_DOLLAR))
def test_flattening_at_the_mark_realizes_the_marked_pnl(raw: list[tuple], mark: int) -> None:
    pos = Position()
    for i, (outcome, side, price, size, fee) in enumerate(raw):
        pos = apply_fill(pos, make_fill(i, outcome, side, price, size, fee))
    marked = marked_pnl(pos, mark)
    flat = trade(pos, -pos.net, mark)
    assert flat.net == 0 and flat.basis == 0
    assert flat.realized == pos.realized + marked


@settings(max_examples=300)
@given(
    st.lists(
        st.tuples(st.sampled_from(["BUY", "SELL"]), st.integers(1, ONE_DOLLAR - 1),
                  st.integers(1, 1_000_000)),
        max_size=40,
    )
)
def test_no_trades_net_like_the_equivalent_yes_trades(raw: list[tuple]) -> None:
    via_no = via_yes = Position()
    for i, (side, price, size) in enumerate(raw):
        via_no = apply_fill(via_no, make_fill(i, "NO", side, price, size))
        opposite = "SELL" if side == "BUY" else "BUY"
        via_yes = apply_fill(via_yes, make_fill(i, "YES", opposite, ONE_DOLLAR - price, size))
    for field in ("net", "basis", "realized", "cash_flow", "fills", "volume"):
        assert getattr(via_no, field) == getattr(via_yes, field), field
    assert via_no.position_no == -via_yes.position_yes
