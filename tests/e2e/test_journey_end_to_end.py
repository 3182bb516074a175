"""The caller's journey through the simulator: pay offered before a short menu, a person from
every prompt (before verification and during card capture too), help offered before any
goodbye, and the account's language leading; the ledger checked after each."""

import pytest
from sqlalchemy import select

from ivr.models import AgentCall, AuditEvent, CardCapture
from ivr.simulator.emulator import keys_from
from tests.conftest import simulator_for
from tests.support.factories import ADA_PHONE, STRANGER, add_account, balance, payments
from tests.support.keys import MENU, PAY_FULL, VERIFY, VISA, card
from tests.support.texting import Phone

MENU_WORDS = (
    "To pay, press 1. Your balance and last payment, 2. More time or a payment plan, 3. Other "
    "choices, 4. A representative, 0. To hear this again, star."
)
OTHER_CHANNELS = "You can also use this service by text message, or by TTY through 711."
OFFER_HELP = (
    "To hear that again, press star. For more time, press 1. For a representative, press 0."
)
FORGOT = "If you forgot your PIN or account number, press 0 for a representative."


def call(simulator, presses, caller=ADA_PHONE):
    return simulator.call(keys_from(presses), caller=caller)


def transfers(db):
    db.rollback()
    query = select(AuditEvent).where(AuditEvent.action == "call.transfer")
    return [(event.outcome, event.resource) for event in db.scalars(query)]


def test_a_balance_due_is_offered_first_and_paid_with_one_key(db, simulator, ada):
    record = call(simulator, [*PAY_FULL, *card(), "1", ""])
    offer = record.said.index("To pay it now, press 1. For anything else, 2.")
    assert record.said[offer - 1].startswith("Your balance is 142 dollars and 50 cents, due on")
    assert MENU_WORDS not in record.said  # paid without hearing a menu
    [payment] = payments(db)
    assert (payment.amount_cents, balance(db, ada)) == (14250, 0)


def test_the_menu_is_read_once_then_anything_else(simulator, ada):
    record = call(simulator, [*MENU, "2", "*", "2", ""])
    assert record.said.count(MENU_WORDS) == 2  # in full once, and again when asked with *
    assert record.said.count(OTHER_CHANNELS) == 1
    assert record.said.count("Anything else? For the menu, press star.") == 2
    assert record.said[-1] == "Thank you for calling. Goodbye."


@pytest.mark.parametrize(
    ("presses", "caller"),
    [
        pytest.param(["0"], ADA_PHONE, id="greeting"),
        pytest.param(["", "0"], ADA_PHONE, id="caller-id-question"),
        pytest.param(["", "0"], STRANGER, id="account-number"),
        pytest.param(["", "70000001#", "0"], STRANGER, id="pin"),
        pytest.param(["", "70000001#", "1234#", "0"], STRANGER, id="account-detail"),
    ],
)
def test_0_reaches_a_person_from_every_prompt_before_verifying(db, simulator, ada, presses, caller):
    record = call(simulator, presses, caller=caller)
    assert record.transfers == ["queue:agents"]
    assert record.said[-1] == "Please hold while I connect you with a representative."
    assert transfers(db) == [("unverified", None)]
    [handoff] = db.scalars(select(AgentCall)).all()
    assert (handoff.verified, handoff.account_id) == (False, None)


@pytest.mark.parametrize("keyed", [1, 2, 3, 4], ids=["number", "expiry", "code", "zip"])
def test_0_during_card_capture_wipes_the_card_and_reaches_a_person(db, simulator, ada, keyed):
    record = call(simulator, [*PAY_FULL, *card()[:keyed], "0"])
    assert record.transfers == ["queue:agents"]
    db.rollback()
    assert db.scalars(select(CardCapture)).all() == []
    assert payments(db) == [] and balance(db, ada) == 14250
    assert VISA not in "".join(record.responses)


def test_a_forgotten_pin_goes_to_a_person_marked_unverified(db, make_app, ada):
    record = call(simulator_for(make_app(AGENT_TRANSFER="dial")), ["", "1", "9999#", "94105", "0"])
    assert FORGOT in record.said
    assert record.agent_heard == [
        "Caller not verified: verification failed, may have forgotten the PIN or account number."
    ]
    assert transfers(db) == [("unverified", None)]


def test_silence_is_offered_more_time_and_a_person_before_goodbye(db, simulator, ada):
    record = call(simulator, [*VERIFY, "", "", "", "1", "", ""])
    # At the offer to pay, silence means "not now": the menu. There, the second silence is
    # the offer; 1 is more time; after that the question is the offer's last.
    assert record.said.count(OFFER_HELP) == 1
    assert "All right, take your time." in record.said
    assert record.said[-1] == (
        "We did not receive your answer. Please call again when you are ready. Goodbye."
    )
    assert record.hung_up_by == "ivr"
    assert payments(db) == []


def test_bad_keys_are_offered_a_person_who_is_reached_with_0(db, simulator, ada):
    record = call(simulator, [*MENU, "8", "8", "8", "0"])
    assert OFFER_HELP in record.said
    assert record.transfers == ["queue:agents"]
    assert transfers(db) == [("verified", "account:70000001")]


def test_a_spanish_account_is_served_in_spanish_once_its_caller_id_names_it(
    db, settings, simulator
):
    add_account(db, settings, language="es-US")
    record = call(simulator, [*VERIFY, "2", "9", "2"])
    assert "¿Llama por la cuenta que termina en 0 0 0 1? Oprima 1 para sí, 2 para no." in (
        record.said
    )
    spanish_menu = next(i for i, line in enumerate(record.said) if line.startswith("Para pagar,"))
    # 9 at the menu: the menu again in English, and the rest of the call in English too.
    assert record.said[spanish_menu + 2] == MENU_WORDS
    assert record.said[-4].startswith("Your balance is 142 dollars and 50 cents")
    assert record.said[-1] == "Anything else? For the menu, press star."


def test_a_zero_texted_at_the_pin_question_is_an_agent_request(client, ada):
    replies = Phone(client).conversation("hi", "0")
    assert replies[-1].startswith("To talk with a representative, call")
