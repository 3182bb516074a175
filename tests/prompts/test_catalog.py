"""The message catalogs: every language says everything, and rendering picks the language."""

import datetime as dt
import string

import pytest

from prompts import LANGUAGES, Money, Prompt, SpokenDate, SpokenDigits, render, voice_for
from prompts.catalog import en_us, es_us, messages

CATALOGS = {"en-US": en_us.MESSAGES, "es-US": es_us.MESSAGES}
# Typed values for the placeholders that take them; any other placeholder gets a plain string.
SAMPLE_VALUES = {
    "amount": Money(14250),
    "date": SpokenDate(dt.date(2026, 12, 19)),
    "number": SpokenDigits("5005550100", (3, 3, 4)),
    "last4": SpokenDigits("0001"),
    "company": "Riverside Utilities",
    "minutes": 30,
    "min": 4,
    "max": 16,
}


def placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


def test_languages_are_the_catalogs() -> None:
    assert set(LANGUAGES) == set(CATALOGS)
    for language, catalog in CATALOGS.items():
        assert messages(language) is catalog


def test_every_key_exists_in_every_language() -> None:
    assert set(en_us.MESSAGES) == set(es_us.MESSAGES)


@pytest.mark.parametrize("key", sorted(en_us.MESSAGES))
def test_translations_have_the_same_placeholders(key: str) -> None:
    assert placeholders(en_us.MESSAGES[key]) == placeholders(es_us.MESSAGES[key])


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("key", sorted(en_us.MESSAGES))
def test_every_message_renders_with_typed_values(key: str, language: str) -> None:
    names = placeholders(CATALOGS[language][key])
    assert all(name.isidentifier() for name in names), names
    params = {name: SAMPLE_VALUES.get(name, f"<{name}>") for name in names}
    words = render(Prompt(key, params), language)
    assert "{" not in words
    assert "}" not in words
    assert words.strip() == words
    assert words


def test_render_speaks_typed_values_in_the_callers_language() -> None:
    prompt = Prompt("balance", {"amount": Money(14250), "date": SpokenDate(dt.date(2026, 12, 19))})
    assert render(prompt, "en-US") == (
        "Your balance is 142 dollars and 50 cents, due on Saturday, December 19, 2026."
    )
    assert render(prompt, "es-US") == (
        "Su saldo es de 142 dólares con 50 centavos, con vencimiento el sábado 19 de diciembre "
        "de 2026."
    )


def test_render_spaces_digits_and_formats_plain_values() -> None:
    assert (
        render(Prompt("confirm_caller_account", {"last4": SpokenDigits("0001")}), "en-US")
        == "Is this about the account ending in 0 0 0 1? Press 1 for yes, 2 for no."
    )
    assert (
        render(Prompt("invalid_account_format", {"min": 4, "max": 16}), "es-US")
        == "Los números de cuenta tienen de 4 a 16 dígitos."
    )


@pytest.mark.parametrize(
    ("pinned", "callers", "expected"),
    [
        ("es-US", "en-US", "Gracias por llamar. Adiós."),
        ("en-US", "es-US", "Thank you for calling. Goodbye."),
    ],
)
def test_a_prompts_own_language_overrides_the_callers(
    pinned: str, callers: str, expected: str
) -> None:
    assert render(Prompt("goodbye", language=pinned), callers) == expected


def test_a_pinned_language_also_speaks_typed_values_in_that_language() -> None:
    prompt = Prompt("minimum_due", {"amount": Money(3500)}, language="es-US")
    assert render(prompt, "en-US") == "El pago mínimo es de 35 dólares."


@pytest.mark.parametrize("language", ["fr-FR", "es", "", "EN-us"])
def test_an_unknown_language_falls_back_to_english(language: str) -> None:
    assert messages(language) is en_us.MESSAGES
    assert render(Prompt("goodbye"), language) == "Thank you for calling. Goodbye."
    assert voice_for(language) == voice_for("en-US")


def test_each_language_has_its_own_voice() -> None:
    english, spanish = voice_for("en-US"), voice_for("es-US")
    assert (english.name, english.language) == ("Polly.Joanna", "en-US")
    assert (spanish.name, spanish.language) == ("Polly.Lupe", "es-US")


def test_an_unknown_key_is_an_error_not_silence() -> None:
    with pytest.raises(KeyError):
        render(Prompt("no_such_message"), "en-US")
