"""The text channel's own rules, without HTTP: keywords, card-shaped text, typed answers."""

import pytest

from flows.text import Keyword, keys_from, keyword_of, looks_like_card


@pytest.mark.parametrize(
    ("body", "word"),
    [
        ("STOP", Keyword.STOP),
        (" stop ", Keyword.STOP),
        ("Unsubscribe", Keyword.STOP),
        ("cancel", Keyword.STOP),
        ("START", Keyword.START),
        ("unstop", Keyword.START),
        ("help", Keyword.HELP),
        ("Ayuda", Keyword.HELP),
        ("menu", Keyword.MENU),
        ("Menú", Keyword.MENU),
        ("agent", Keyword.AGENT),
        ("AGENTE", Keyword.AGENT),
        ("lang", Keyword.LANGUAGE),
        ("español", Keyword.SPANISH),
        ("ESPANOL", Keyword.SPANISH),
        ("Espan\u0303ol", Keyword.SPANISH),  # decomposed ñ, as some phones send it
        ("english!", Keyword.ENGLISH),
        ("1", None),
        ("stop it", None),
        ("", None),
    ],
)
def test_keywords_are_whole_messages_in_any_case(body, word):
    assert keyword_of(body) is word


@pytest.mark.parametrize(
    "body",
    [
        "4242424242424242",
        "4242 4242 4242 4242",
        "4242-4242-4242-4242",
        "card 378282246310005 exp 1230",
        "1234567890123",
    ],
)
def test_card_shaped_text_is_recognised(body):
    assert looks_like_card(body)


@pytest.mark.parametrize(
    "body", ["1234", "94105", "70000001", "$142.50", "+1 500 555 0006", "12/30", "123456789012"]
)
def test_ordinary_answers_are_not_card_shaped(body):
    assert not looks_like_card(body)


@pytest.mark.parametrize(
    ("body", "keys"),
    [
        ("1", "1"),
        (" 1234 ", "1234"),
        ("$25.50", "25*50"),
        ("25.5", "25*5"),
        ("1,250", "1250"),
        ("03/05", "0305"),
        ("7000-0001", "70000001"),
        ("yes", "yes"),
    ],
)
def test_text_answers_become_keypad_answers(body, keys):
    assert keys_from(body) == keys
