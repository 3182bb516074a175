"""Text replies in text words, through ``/sms/incoming``: long account numbers that are not
cards, the voice line's settings kept off the text menu, and the words of every menu reply."""

import re

import pytest
from sqlalchemy import func, select

from ivr.models import Conversation, VoicePreference
from tests.support.card_scan import database_dump, leaks
from tests.support.factories import ADA_PHONE, add_account
from tests.support.keys import TEXT_VERIFY
from tests.support.texting import Phone

MENU = (
    "Reply 1 for your balance, 2 to pay, 3 for more time, 4 for your last payment, 5 to dispute "
    "a charge, 6 for help paying your bill, AGENT, HELP or STOP."
)
NOT_UNDERSTOOD = "Sorry, I did not understand that."
# Words a text reply must never say: keypad words, or telling a texter to use a phone.
PHONE_WORDS = re.compile(r"\bpress\b|\bby phone\b", re.IGNORECASE)
CARD_WARNING = "For your security, never send card numbers by text."


@pytest.fixture
def phone(client):
    return Phone(client)


def conversation(db):
    db.rollback()
    return db.get(Conversation, f"sms:{ADA_PHONE}", populate_existing=True)


@pytest.mark.parametrize(
    ("number", "typed"),
    [
        ("7000000000000016", "7000 0000 0000 0016"),  # 16 digits, no card brand
        ("30000000000004", "30000000000004"),  # 14 digits, Luhn-valid with a Diners prefix
    ],
)
def test_a_long_account_number_is_taken_at_the_account_prompt(
    db, settings, ada, phone, number, typed
):
    add_account(db, settings, account_number=number, balance="61.00", service_zip="10001")
    assert phone.send("hi") == "Reply with your account number."
    assert phone.send(typed) == "Reply with your PIN."
    assert number in str(conversation(db).data)
    phone.conversation("1234", "10001")
    assert phone.send("1").startswith("Your balance is $61.00")


def test_a_card_number_at_the_account_prompt_is_refused_and_never_kept(
    db, settings, ada, phone, caplog
):
    add_account(db, settings, account_number="7000000000000016")
    assert phone.send("hi") == "Reply with your account number."
    reply = phone.send("4242 4242 4242 4242")
    assert reply.startswith(CARD_WARNING)
    assert conversation(db).state == "text_choose_account"
    dump = database_dump(db)
    assert "4242424242424242" not in dump and "4242 4242 4242 4242" not in dump
    assert leaks(dump) == [] and leaks(caplog.text) == []
    assert "4242424242424242" not in caplog.text
    assert phone.send("7000000000000016") == "Reply with your PIN."


def test_a_long_number_elsewhere_is_still_refused(db, settings, ada, phone):
    """Outside the account prompt any card-shaped run is refused, even one that fails Luhn."""
    add_account(db, settings, account_number="7000000000000016")
    phone.conversation("hi", "7000000000000016", "1234", "94105")
    assert phone.send("7000000000000016").startswith(CARD_WARNING)


def test_seven_by_text_is_not_a_voice_setting(db, ada, phone):
    phone.conversation(*TEXT_VERIFY)
    assert phone.send("7") == f"{NOT_UNDERSTOOD} {MENU}"
    db.rollback()
    assert db.scalar(select(func.count()).select_from(VoicePreference)) == 0
    assert "slow" not in conversation(db).data.get("conversation", {})


def test_every_text_menu_reply_is_in_text_words(ada, phone):
    """Each main-menu choice (offered or not), one wrong answer in what it opens, and back."""
    phone.conversation(*TEXT_VERIFY)
    for choice in ("1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "*", "#", ".", "x"):
        phone.conversation(choice, "x", "MENU")
    phone.conversation("AGENT", "HELP", "LANG", "7", "x", "AGENT", "ENGLISH", "STOP")
    assert len(phone.replies) > 40
    for reply in phone.replies:
        assert not PHONE_WORDS.search(reply), reply
        assert reply.count("Sorry") <= 1 and reply.count("Lo siento") <= 1, reply
