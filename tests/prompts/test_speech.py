"""How typed values are spoken: money, dates and digit strings, in each language."""

import datetime as dt

import pytest

from prompts import Money, SpokenDate, SpokenDigits


@pytest.mark.parametrize(
    ("cents", "english", "spanish"),
    [
        (0, "0 dollars", "0 dólares"),
        (1, "1 cent", "1 centavo"),
        (2, "2 cents", "2 centavos"),
        (99, "99 cents", "99 centavos"),
        (100, "1 dollar", "1 dólar"),
        (101, "1 dollar and 1 cent", "1 dólar con 1 centavo"),
        (10000, "100 dollars", "100 dólares"),
        (14250, "142 dollars and 50 cents", "142 dólares con 50 centavos"),
        # A negative balance is money the customer has with us.
        (-1, "a credit of 1 cent", "un crédito de 1 centavo"),
        (-2500, "a credit of 25 dollars", "un crédito de 25 dólares"),
        (-14200, "a credit of 142 dollars", "un crédito de 142 dólares"),
        (
            123_456_789_05,
            "123456789 dollars and 5 cents",
            "123456789 dólares con 5 centavos",
        ),
    ],
)
def test_money_is_spoken_in_words(cents: int, english: str, spanish: str) -> None:
    assert Money(cents).speak("en-US") == english
    assert Money(cents).speak("es-US") == spanish


@pytest.mark.parametrize(
    ("date", "english", "spanish"),
    [
        (dt.date(2026, 12, 19), "Saturday, December 19, 2026", "sábado 19 de diciembre de 2026"),
        (dt.date(2026, 1, 1), "Thursday, January 1, 2026", "jueves 1 de enero de 2026"),
        (dt.date(2025, 9, 3), "Wednesday, September 3, 2025", "miércoles 3 de septiembre de 2025"),
        (dt.date(2024, 2, 29), "Thursday, February 29, 2024", "jueves 29 de febrero de 2024"),
        (dt.date(2026, 3, 2), "Monday, March 2, 2026", "lunes 2 de marzo de 2026"),
    ],
)
def test_dates_are_spoken_with_their_weekday(date: dt.date, english: str, spanish: str) -> None:
    assert SpokenDate(date).speak("en-US") == english
    assert SpokenDate(date).speak("es-US") == spanish


@pytest.mark.parametrize("language", ["en-US", "es-US"])
@pytest.mark.parametrize(
    ("digits", "spoken"),
    [
        (SpokenDigits("5005550100", (3, 3, 4)), "5 0 0, 5 5 5, 0 1 0 0"),
        (SpokenDigits("5005550100"), "5 0 0 5 5 5 0 1 0 0"),
        (SpokenDigits("0001"), "0 0 0 1"),
        # SpokenDigits beyond the groups are read as one last group.
        (SpokenDigits("123456789", (2, 3)), "1 2, 3 4 5, 6 7 8 9"),
        # Groups longer than the value leave no empty pauses.
        (SpokenDigits("12345", (3, 3, 4)), "1 2 3, 4 5"),
        (SpokenDigits(""), ""),
    ],
)
def test_digits_are_read_one_at_a_time_in_groups(
    digits: SpokenDigits, spoken: str, language: str
) -> None:
    assert digits.speak(language) == spoken
