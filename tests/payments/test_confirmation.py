"""Confirmation numbers: 9 random digits and a Damm check digit."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from payments.confirmation import LENGTH, damm_digit, is_valid, new_confirmation_number

bodies = st.text(alphabet="0123456789", min_size=LENGTH - 1, max_size=LENGTH - 1)
positions = st.integers(min_value=0, max_value=LENGTH - 1)


def complete(body: str) -> str:
    return body + damm_digit(body)


@pytest.mark.parametrize(
    ("digits", "check"),
    [
        ("572", "4"),  # the worked example in Damm's and Wikipedia's descriptions
        ("5724", "0"),  # a number with its check digit checks to zero
        ("", "0"),
        ("0", "0"),
    ],
)
def test_damm_known_vectors(digits: str, check: str) -> None:
    assert damm_digit(digits) == check


@given(bodies)
def test_every_body_completes_to_a_valid_number(body: str) -> None:
    number = complete(body)
    assert len(number) == LENGTH
    assert is_valid(number)


@given(bodies, positions, st.integers(min_value=1, max_value=9))
def test_every_single_digit_substitution_is_detected(body: str, position: int, shift: int) -> None:
    number = complete(body)
    wrong = str((int(number[position]) + shift) % 10)
    assert not is_valid(number[:position] + wrong + number[position + 1 :])


@given(bodies, st.integers(min_value=0, max_value=LENGTH - 2))
def test_every_adjacent_transposition_is_detected(body: str, position: int) -> None:
    number = complete(body)
    first, second = number[position], number[position + 1]
    assume(first != second)
    swapped = number[:position] + second + first + number[position + 2 :]
    assert not is_valid(swapped)


@pytest.mark.parametrize(
    "number",
    [
        pytest.param(complete("57200000"), id="nine-digits"),
        pytest.param(complete("123456789") + "0", id="eleven-digits"),
    ],
)
def test_a_number_that_checks_but_has_the_wrong_length_is_invalid(number: str) -> None:
    assert damm_digit(number) == "0"
    assert not is_valid(number)


@pytest.mark.parametrize("number", ["", "572-000-00", "57200000a4", " 572000000"])
def test_malformed_numbers_are_invalid(number: str) -> None:
    assert not is_valid(number)


def test_a_non_ascii_digit_string_is_invalid_not_an_error() -> None:
    assert not is_valid("\N{SUPERSCRIPT TWO}" * LENGTH)


# --- new numbers --------------------------------------------------------------------------


def never_taken(_number: str) -> bool:
    return False


def test_new_numbers_are_ten_valid_digits_without_a_leading_zero() -> None:
    for _ in range(200):
        number = new_confirmation_number(never_taken)
        assert len(number) == LENGTH
        assert number.isascii()
        assert number.isdigit()
        assert number[0] != "0"
        assert is_valid(number)


def test_new_numbers_are_random_not_sequential() -> None:
    draws = [new_confirmation_number(never_taken) for _ in range(1000)]
    assert len(set(draws)) == len(draws)
    assert draws != sorted(draws)
    assert draws != sorted(draws, reverse=True)


@pytest.mark.parametrize("collisions", [1, 3, 19])
def test_a_taken_number_is_skipped(collisions: int) -> None:
    offered: list[str] = []

    def taken(number: str) -> bool:
        offered.append(number)
        return len(offered) <= collisions

    number = new_confirmation_number(taken)
    assert len(offered) == collisions + 1
    assert number == offered[-1]
    assert all(is_valid(candidate) for candidate in offered)


@pytest.mark.parametrize(("attempts", "expected"), [(1, 1), (5, 5), (None, 20)])
def test_too_many_collisions_raise_after_exactly_the_allowed_attempts(
    attempts: int | None, expected: int
) -> None:
    offered: list[str] = []

    def always_taken(number: str) -> bool:
        offered.append(number)
        return True

    options = {} if attempts is None else {"attempts": attempts}
    with pytest.raises(RuntimeError, match="no free confirmation number"):
        new_confirmation_number(always_taken, **options)
    assert len(offered) == expected
