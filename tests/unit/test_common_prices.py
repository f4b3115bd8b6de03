import pytest
from hypothesis import given
from hypothesis import strategies as st

from common import prices
from common.errors import PriceError


@pytest.mark.parametrize(
    ("text", "pips"), [("0.5", 5000), ("0.51", 5100), ("0.001", 10), ("1", 10000), ("0.0001", 1)]
)
def test_price_from_venue_strings(text: str, pips: int) -> None:
    assert prices.price_from_str(text) == pips


def test_price_finer_than_a_pip_is_refused() -> None:
    with pytest.raises(PriceError, match="finer"):
        prices.price_from_str("0.00005")


def test_garbage_price_is_refused() -> None:
    with pytest.raises(PriceError, match="not a decimal"):
        prices.price_from_str("abc")


def test_sizes_truncate_dust_and_refuse_negative() -> None:
    assert prices.size_from_str("25.0") == 2500
    assert prices.size_from_str("100.0000") == 10000
    assert prices.size_from_str("1.239") == 123
    with pytest.raises(PriceError):
        prices.size_from_str("-1")
    with pytest.raises(PriceError):
        prices.size_from_str("NaN")


@given(st.integers(min_value=0, max_value=10_000))
def test_price_string_round_trip(pips: int) -> None:
    assert prices.price_from_str(prices.price_to_str(pips)) == pips


@given(st.integers(min_value=0, max_value=10**9))
def test_size_string_round_trip(centi: int) -> None:
    assert prices.size_from_str(prices.size_to_str(centi)) == centi


@given(st.integers(min_value=-20_000, max_value=20_000), st.sampled_from([1, 10, 100, 1000]))
def test_snapping_lands_on_grid_and_brackets(pips: int, tick: int) -> None:
    down, up = prices.snap_down(pips, tick), prices.snap_up(pips, tick)
    assert down % tick == 0 and up % tick == 0
    assert down <= pips <= up
    assert up - down in (0, tick)


@given(st.integers(min_value=1, max_value=9_999))
def test_complement_is_an_involution(pips: int) -> None:
    assert prices.complement(prices.complement(pips)) == pips
    assert prices.complement(pips) + pips == prices.ONE_DOLLAR


@given(st.sampled_from([1, 10, 100]), st.integers(min_value=-100, max_value=10_100))
def test_valid_price_means_strictly_inside_on_grid(tick: int, pips: int) -> None:
    ok = prices.valid_price(pips, tick)
    assert ok == (0 < pips < 10_000 and pips % tick == 0 and tick <= pips <= 10_000 - tick)


@given(st.floats(min_value=0.0001, max_value=0.9999, allow_nan=False))
def test_float_price_rounds_to_nearest_pip(value: float) -> None:
    pips = prices.price_from_float(value)
    assert abs(pips / 10_000 - value) <= 0.00005 + 1e-12


@pytest.mark.parametrize(("text", "message"), [
    ("inf", "not a decimal price: 'inf'"),
    ("NaN", "not a decimal price: 'NaN'"),
    ("Infinity", "not a decimal price: 'Infinity'"),
    ("1_0", "not a decimal price: '1_0'"),
    ("\u0663", "not a decimal price: '\u0663'"),
    (" 0.5", "not a decimal price: ' 0.5'"),
    ("0." + "0" * 27 + "1", "not a decimal price: '0.00000000000000000000000000'"),  # 28 shown
    ("1e999999", "price '1e999999' is out of range"),
    ("1e-999999", "price '1e-999999' is out of range"),
])
def test_price_text_is_bounded_before_any_conversion(text: str, message: str) -> None:
    with pytest.raises(PriceError) as info:
        prices.price_from_str(text)
    assert str(info.value) == message


@pytest.mark.parametrize(("text", "centi"), [("1e9", 10**11), ("1E+2", 10_000), ("0.009", 0)])
def test_sizes_up_to_the_cap_read_exactly(text: str, centi: int) -> None:
    assert prices.size_from_str(text) == centi


@pytest.mark.parametrize("text", ["1e30", "1000000000.01", "-0.01", "inf"])
def test_sizes_beyond_the_cap_or_negative_are_refused(text: str) -> None:
    with pytest.raises(PriceError):
        prices.size_from_str(text)
