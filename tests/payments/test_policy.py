"""Payment policy: keypad amounts, limits, over-payment and the convenience fee."""

from __future__ import annotations

import pytest

from ivr.config import load_settings
from payments.policy import (
    MAX_WRITTEN_CENTS,
    AmountError,
    PaymentPolicy,
    WrittenAmountError,
    parse_amount,
    parse_written_amount,
)

MIN, MAX = 100, 500_000


def policy(allow_overpayment: bool = False, flat: int = 0, basis_points: int = 0) -> PaymentPolicy:
    return PaymentPolicy(MIN, MAX, allow_overpayment, flat, basis_points)


@pytest.mark.parametrize(
    ("keys", "cents"),
    [
        ("25", 2500),
        ("25*5", 2550),
        ("25*50", 2550),
        ("25*05", 2505),
        ("25*00", 2500),
        ("0*99", 99),
        ("0*01", 1),
        ("0", 0),
        ("007", 700),
        ("1234567", 123_456_700),
        ("1234567*89", 123_456_789),
    ],
)
def test_keypad_amounts(keys: str, cents: int) -> None:
    assert parse_amount(keys) == cents


@pytest.mark.parametrize(
    "keys",
    [
        pytest.param("", id="empty"),
        pytest.param("*", id="star"),
        pytest.param("*5", id="no-dollars"),
        pytest.param("25*", id="no-cents-after-star"),
        pytest.param("1*234", id="three-cent-digits"),
        pytest.param("25**5", id="two-stars"),
        pytest.param("25*5*0", id="two-stars-apart"),
        pytest.param("12345678", id="eight-dollar-digits"),
        pytest.param("12345678*00", id="eight-dollar-digits-with-cents"),
        pytest.param("25.50", id="decimal-point"),
        pytest.param("25#", id="hash"),
        pytest.param("-25", id="sign"),
        pytest.param(" 25", id="space"),
        pytest.param("2a", id="letter"),
        pytest.param("25*a", id="letter-in-cents"),
    ],
)
def test_junk_is_not_an_amount(keys: str) -> None:
    assert parse_amount(keys) is None


@pytest.mark.parametrize("keys", ["\N{SUPERSCRIPT TWO}", "25*\N{SUPERSCRIPT TWO}"])
def test_a_non_ascii_digit_is_not_an_amount(keys: str) -> None:
    assert parse_amount(keys) is None


@pytest.mark.parametrize(
    ("amount", "payable", "expected"),
    [
        pytest.param(MIN, MAX, None, id="exactly-min"),
        pytest.param(MIN - 1, MAX, AmountError.TOO_SMALL, id="below-min"),
        pytest.param(0, MAX, AmountError.TOO_SMALL, id="zero"),
        pytest.param(MAX, MAX, None, id="exactly-max"),
        pytest.param(MAX + 1, MAX + 1, AmountError.TOO_LARGE, id="above-max"),
        pytest.param(14_250, 14_250, None, id="exactly-the-balance"),
        pytest.param(14_251, 14_250, AmountError.OVER_BALANCE, id="a-cent-over-the-balance"),
        pytest.param(MIN, 0, AmountError.OVER_BALANCE, id="nothing-owed"),
        pytest.param(MIN, -500, AmountError.OVER_BALANCE, id="in-credit"),
        pytest.param(MIN - 1, 0, AmountError.TOO_SMALL, id="too-small-wins-over-balance"),
        pytest.param(MAX + 1, 0, AmountError.TOO_LARGE, id="too-large-wins-over-balance"),
    ],
)
def test_limits_without_overpayment(amount: int, payable: int, expected: AmountError) -> None:
    assert policy().check(amount, payable) == expected


@pytest.mark.parametrize(
    ("amount", "payable", "expected"),
    [
        pytest.param(14_251, 14_250, None, id="a-cent-over-the-balance"),
        pytest.param(MIN, 0, None, id="nothing-owed"),
        pytest.param(MAX, 0, None, id="max-with-nothing-owed"),
        pytest.param(MAX + 1, 0, AmountError.TOO_LARGE, id="max-still-applies"),
        pytest.param(MIN - 1, MAX, AmountError.TOO_SMALL, id="min-still-applies"),
    ],
)
def test_limits_with_overpayment(amount: int, payable: int, expected: AmountError) -> None:
    assert policy(allow_overpayment=True).check(amount, payable) == expected


@pytest.mark.parametrize(
    ("flat", "basis_points", "amount", "fee"),
    [
        pytest.param(0, 0, 14_250, 0, id="no-fee"),
        pytest.param(150, 0, 14_250, 150, id="flat-only"),
        pytest.param(0, 250, 14_250, 356, id="2.5%-of-142.50-is-356.25-down"),
        pytest.param(0, 250, 14_220, 356, id="2.5%-of-142.20-is-355.5-up"),
        pytest.param(0, 250, 14_219, 355, id="2.5%-of-142.19-is-355.475-down"),
        pytest.param(0, 5, 1_000, 1, id="half-a-cent-rounds-up"),
        pytest.param(0, 5, 999, 0, id="just-under-half-a-cent-rounds-down"),
        pytest.param(0, 5, 2_999, 1, id="1.4995-cents-rounds-down"),
        pytest.param(0, 5, 3_000, 2, id="1.5-cents-rounds-up"),
        pytest.param(0, 5, 5_000, 3, id="2.5-cents-rounds-up-not-to-even"),
        pytest.param(95, 299, 10_000, 95 + 299, id="flat-plus-whole-percentage"),
        pytest.param(95, 299, 14_250, 95 + 426, id="flat-plus-rounded-percentage"),
        pytest.param(0, 10_000, 14_250, 14_250, id="one-hundred-percent"),
    ],
)
def test_fee_is_flat_plus_basis_points_rounded_half_up(
    flat: int, basis_points: int, amount: int, fee: int
) -> None:
    assert policy(flat=flat, basis_points=basis_points).fee(amount) == fee


def test_policy_from_settings() -> None:
    settings = load_settings(
        environ={},
        overrides={
            "PAYMENT_MIN_CENTS": 500,
            "PAYMENT_MAX_CENTS": 90_000,
            "ALLOW_OVERPAYMENT": True,
            "FEE_FLAT_CENTS": 125,
            "FEE_BASIS_POINTS": 275,
        },
    )
    assert PaymentPolicy.from_settings(settings) == PaymentPolicy(500, 90_000, True, 125, 275)


@pytest.mark.parametrize(
    ("text", "cents"),
    [("142.50", 14250), ("$1,042.50", 104250), (".5", 50), ("-$5.00", -500), (" 7 ", 700)],
)
def test_written_amounts(text: str, cents: int) -> None:
    assert parse_written_amount(text) == cents


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("12.345", "is not an amount like 142.50"),
        ("--5", "is not an amount like 142.50"),
        ("", "is not an amount like 142.50"),
        (f"{MAX_WRITTEN_CENTS // 100 + 1}", "is larger than any bill"),
        (f"-{MAX_WRITTEN_CENTS // 100 + 1}", "is larger than any bill"),
    ],
)
def test_written_junk_is_refused_with_why(text: str, why: str) -> None:
    with pytest.raises(WrittenAmountError) as refused:
        parse_written_amount(text)
    assert str(refused.value) == why
