"""Card field validation: Luhn, brand and length, expiry, security code, billing ZIP."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payments.cards import (
    SUPPORTED,
    Brand,
    CardNumberCheck,
    FieldError,
    brand_label,
    brand_of,
    check_code,
    check_number,
    check_zip,
    code_length,
    luhn_valid,
    parse_expiry,
)

# The processors' published test numbers.
PUBLISHED = [
    ("4242424242424242", Brand.VISA),
    ("4000056655665556", Brand.VISA),
    ("4012888888881881", Brand.VISA),
    ("4222222222222", Brand.VISA),
    ("5555555555554444", Brand.MASTERCARD),
    ("5200828282828210", Brand.MASTERCARD),
    ("2223003122003222", Brand.MASTERCARD),
    ("378282246310005", Brand.AMEX),
    ("371449635398431", Brand.AMEX),
    ("6011111111111117", Brand.DISCOVER),
    ("6011000990139424", Brand.DISCOVER),
    ("3056930009020004", Brand.DINERS),
    ("36227206271667", Brand.DINERS),
    ("3566002020360505", Brand.JCB),
]
NUMBERS = [number for number, _ in PUBLISHED]


def reference_luhn_sum(digits: str) -> int:
    """The Luhn sum, written independently of the code under test."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value // 10 + value % 10
    return total


def with_check_digit(body: str) -> str:
    """``body`` plus the digit that makes the whole number pass Luhn."""
    return body + str((10 - reference_luhn_sum(body + "0") % 10) % 10)


def one_digit_changed(number: str, position: int) -> str:
    changed = str((int(number[position]) + 1) % 10)
    return number[:position] + changed + number[position + 1 :]


# --- Luhn ---------------------------------------------------------------------------------


@pytest.mark.parametrize("number", NUMBERS)
def test_published_numbers_pass_luhn(number: str) -> None:
    assert luhn_valid(number)


@pytest.mark.parametrize("number", NUMBERS)
@pytest.mark.parametrize("position", [0, 6, -1])
def test_changing_one_digit_fails_luhn(number: str, position: int) -> None:
    altered = one_digit_changed(number, position % len(number))
    assert not luhn_valid(altered)
    assert check_number(altered) == CardNumberCheck(error=FieldError.NUMBER_INVALID)


@given(st.text(alphabet="0123456789", min_size=1, max_size=25))
def test_luhn_agrees_with_an_independent_implementation(digits: str) -> None:
    assert luhn_valid(digits) == (reference_luhn_sum(digits) % 10 == 0)


def test_the_check_digit_helper_is_sound() -> None:
    assert with_check_digit("424242424242424") == "4242424242424242"
    assert with_check_digit("37828224631000") == "378282246310005"


# --- brand and length ---------------------------------------------------------------------


@pytest.mark.parametrize(("number", "brand"), PUBLISHED)
def test_published_numbers_are_accepted_with_their_brand(number: str, brand: Brand) -> None:
    assert brand_of(number) is brand
    assert check_number(number) == CardNumberCheck(brand=brand, last4=number[-4:])


@pytest.mark.parametrize(("number", "brand"), PUBLISHED)
def test_the_verdict_never_carries_the_full_number(number: str, brand: Brand) -> None:
    verdict = check_number(number)
    assert verdict.last4 == number[-4:]
    assert number not in repr(verdict)
    assert all(number not in str(value) for value in vars(verdict).values())


@pytest.mark.parametrize(
    ("prefix", "brand"),
    [
        ("4", Brand.VISA),
        ("51", Brand.MASTERCARD),
        ("55", Brand.MASTERCARD),
        ("2221", Brand.MASTERCARD),
        ("2720", Brand.MASTERCARD),
        ("34", Brand.AMEX),
        ("37", Brand.AMEX),
        ("6011", Brand.DISCOVER),
        ("644", Brand.DISCOVER),
        ("649", Brand.DISCOVER),
        ("65", Brand.DISCOVER),
        ("300", Brand.DINERS),
        ("305", Brand.DINERS),
        ("36", Brand.DINERS),
        ("38", Brand.DINERS),
        ("39", Brand.DINERS),
        ("3528", Brand.JCB),
        ("3589", Brand.JCB),
        ("50", None),
        ("56", None),
        ("2220", None),
        ("2721", None),
        ("6010", None),
        ("643", None),
        ("306", None),
        ("35", None),
        ("3527", None),
        ("3590", None),
        ("1", None),
        ("9", None),
    ],
)
def test_brand_ranges_and_their_edges(prefix: str, brand: Brand | None) -> None:
    assert brand_of(prefix.ljust(16, "0")) is brand


@pytest.mark.parametrize(
    ("prefix", "length"),
    [
        ("4", 14),
        ("4", 15),
        ("4", 18),
        ("5555", 15),
        ("2223", 17),
        ("3782", 14),
        ("3782", 16),
        ("6011", 15),
        ("3056", 13),
        ("3566", 15),
    ],
)
def test_a_luhn_valid_number_of_the_wrong_length_for_its_brand_is_refused(
    prefix: str, length: int
) -> None:
    number = with_check_digit(prefix.ljust(length - 1, "1"))
    assert (len(number), luhn_valid(number)) == (length, True)
    assert brand_of(number) is not None
    assert check_number(number) == CardNumberCheck(error=FieldError.NUMBER_INVALID)


@pytest.mark.parametrize(
    "number",
    [
        pytest.param(with_check_digit("1" * 15), id="unknown-prefix-1"),
        pytest.param(with_check_digit("9" * 15), id="unknown-prefix-9"),
        pytest.param(with_check_digit("50" + "0" * 13), id="unknown-prefix-50"),
        pytest.param("4242a24242424242", id="letter"),
        pytest.param("4242 4242 4242 4242", id="spaces"),
        pytest.param("4242-4242-4242-4242", id="dashes"),
        pytest.param(" 4242424242424242", id="leading-space"),
        pytest.param("", id="empty"),
        pytest.param(with_check_digit("4" * 19), id="20-digits"),
        pytest.param(with_check_digit("4" * 10), id="11-digits"),
    ],
)
def test_malformed_numbers_are_refused_without_detail(number: str) -> None:
    assert check_number(number) == CardNumberCheck(error=FieldError.NUMBER_INVALID)


def test_the_20_digit_case_really_passes_luhn_with_a_known_prefix() -> None:
    number = with_check_digit("4" * 19)
    assert (len(number), luhn_valid(number), brand_of(number)) == (20, True, Brand.VISA)


@pytest.mark.parametrize(("number", "brand"), PUBLISHED)
def test_an_unsupported_brand_is_named_but_its_digits_are_not_echoed(
    number: str, brand: Brand
) -> None:
    others = SUPPORTED - {brand}
    assert check_number(number, supported=others) == CardNumberCheck(
        brand=brand, error=FieldError.BRAND_UNSUPPORTED
    )


# --- expiry -------------------------------------------------------------------------------

MID_NOVEMBER = dt.date(2026, 11, 21)
LAST_DAY_OF_YEAR = dt.date(2026, 12, 31)
FIRST_DAY_OF_YEAR = dt.date(2027, 1, 1)


@pytest.mark.parametrize(
    ("mmyy", "today", "expected"),
    [
        pytest.param("1126", MID_NOVEMBER, (11, 2026), id="this-month"),
        pytest.param("1226", MID_NOVEMBER, (12, 2026), id="next-month"),
        pytest.param("1026", MID_NOVEMBER, FieldError.EXPIRED, id="last-month"),
        pytest.param("1125", MID_NOVEMBER, FieldError.EXPIRED, id="last-year"),
        pytest.param("0127", MID_NOVEMBER, (1, 2027), id="next-year"),
        pytest.param("1146", MID_NOVEMBER, (11, 2046), id="twenty-years-ahead"),
        pytest.param("0147", MID_NOVEMBER, FieldError.EXPIRY_INVALID, id="beyond-twenty-years"),
        pytest.param("1299", MID_NOVEMBER, FieldError.EXPIRY_INVALID, id="far-future"),
        pytest.param("1226", LAST_DAY_OF_YEAR, (12, 2026), id="december-this-month"),
        pytest.param("1126", LAST_DAY_OF_YEAR, FieldError.EXPIRED, id="december-last-month"),
        pytest.param("0127", LAST_DAY_OF_YEAR, (1, 2027), id="december-next-january"),
        pytest.param("0127", FIRST_DAY_OF_YEAR, (1, 2027), id="january-this-month"),
        pytest.param("1226", FIRST_DAY_OF_YEAR, FieldError.EXPIRED, id="january-last-december"),
        pytest.param("0227", FIRST_DAY_OF_YEAR, (2, 2027), id="january-next-month"),
    ],
)
def test_expiry_against_today(
    mmyy: str, today: dt.date, expected: tuple[int, int] | FieldError
) -> None:
    assert parse_expiry(mmyy, today) == expected


@pytest.mark.parametrize(
    "mmyy",
    [
        pytest.param("0027", id="month-00"),
        pytest.param("1327", id="month-13"),
        pytest.param("9927", id="month-99"),
        pytest.param("0020", id="month-00-in-the-past"),
        pytest.param("1320", id="month-13-in-the-past"),
        pytest.param("12/27", id="slash"),
        pytest.param("1a27", id="letter"),
        pytest.param(" 127", id="space"),
        pytest.param("-127", id="sign"),
        pytest.param("127", id="three-digits"),
        pytest.param("12027", id="five-digits"),
        pytest.param("", id="empty"),
    ],
)
def test_expiry_that_is_not_a_real_month_is_invalid(mmyy: str) -> None:
    assert parse_expiry(mmyy, MID_NOVEMBER) is FieldError.EXPIRY_INVALID


# --- security code and ZIP ----------------------------------------------------------------


@pytest.mark.parametrize("brand", list(Brand))
def test_only_amex_has_a_four_digit_code(brand: Brand) -> None:
    assert code_length(brand) == (4 if brand is Brand.AMEX else 3)


@pytest.mark.parametrize(
    ("code", "brand", "expected"),
    [
        ("739", Brand.VISA, None),
        ("000", Brand.MASTERCARD, None),
        ("7391", Brand.AMEX, None),
        ("7391", Brand.VISA, FieldError.CODE_INVALID),
        ("739", Brand.AMEX, FieldError.CODE_INVALID),
        ("73", Brand.DISCOVER, FieldError.CODE_INVALID),
        ("73915", Brand.AMEX, FieldError.CODE_INVALID),
        ("73a", Brand.JCB, FieldError.CODE_INVALID),
        ("7 3", Brand.DINERS, FieldError.CODE_INVALID),
        ("", Brand.VISA, FieldError.CODE_INVALID),
    ],
)
def test_security_code(code: str, brand: Brand, expected: FieldError | None) -> None:
    assert check_code(code, brand) == expected


@pytest.mark.parametrize(
    ("postal", "expected"),
    [
        ("94105", None),
        ("00501", None),
        ("9410", FieldError.ZIP_INVALID),
        ("941050", FieldError.ZIP_INVALID),
        ("94105-1234", FieldError.ZIP_INVALID),
        ("9410a", FieldError.ZIP_INVALID),
        (" 9410", FieldError.ZIP_INVALID),
        ("", FieldError.ZIP_INVALID),
    ],
)
def test_zip(postal: str, expected: FieldError | None) -> None:
    assert check_zip(postal) == expected


# --- non-ASCII digits ---------------------------------------------------------------------

SUPERSCRIPT_TWO = "\N{SUPERSCRIPT TWO}"  # str.isdigit() is true, int() refuses it


def foreign(digits: str, zero: int) -> str:
    """``digits`` in another Unicode digit block (0xFF10 fullwidth, 0x0660 Arabic-Indic)."""
    return "".join(chr(zero + int(char)) for char in digits)


@pytest.mark.parametrize(
    "refused",
    [
        pytest.param(
            lambda: (
                check_number(foreign("4242424242424242", 0xFF10))
                == CardNumberCheck(error=FieldError.NUMBER_INVALID)
            ),
            id="number-fullwidth-accepted-as-visa",
        ),
        pytest.param(
            lambda: (
                check_number(f"4{SUPERSCRIPT_TWO}00000000000002")
                == CardNumberCheck(error=FieldError.NUMBER_INVALID)
            ),
            id="number-superscript-raises",
        ),
        pytest.param(
            lambda: (
                parse_expiry(SUPERSCRIPT_TWO * 2 + "27", MID_NOVEMBER) is FieldError.EXPIRY_INVALID
            ),
            id="expiry-superscript-raises",
        ),
        pytest.param(
            lambda: check_code(foreign("739", 0x0660), Brand.VISA) is FieldError.CODE_INVALID,
            id="code-arabic-indic-accepted",
        ),
        pytest.param(
            lambda: check_zip(foreign("94105", 0xFF10)) is FieldError.ZIP_INVALID,
            id="zip-fullwidth-accepted",
        ),
    ],
)
def test_non_ascii_digits_are_refused(refused: Callable[[], bool]) -> None:
    assert refused()


@pytest.mark.parametrize(
    ("stored", "label"),
    [
        ("visa", "Visa"),
        ("amex", "American Express"),
        ("diners", "Diners Club"),
        ("jcb", "JCB"),
        ("maestro", "maestro"),  # a payment connector's brand that is not ours: as stored
        (None, ""),
    ],
)
def test_brand_labels_are_as_people_write_them(stored: str | None, label: str) -> None:
    assert brand_label(stored) == label


def test_every_brand_has_a_label() -> None:
    assert all(brand_label(brand) != brand.value for brand in Brand)
