"""Whole calls through the simulator, exactly as Twilio would drive the app."""

import datetime as dt

import pytest
from sqlalchemy import select

from ivr.models import (
    AuditEvent,
    Conversation,
    LockoutCounter,
    Payment,
    PaymentStatus,
    SessionStatus,
)
from ivr.simulator.emulator import keys_from
from tests.conftest import simulator_for
from tests.support.factories import ADA_PHONE, STRANGER, add_account
from tests.support.keys import BALANCE, MENU, VERIFY, VERIFY_BY_NUMBER, VERIFY_IN_SPANISH
from verification import lockout


def call(simulator, presses, caller=ADA_PHONE):
    return simulator.call(keys_from(presses), caller=caller)


def test_caller_id_match_verifies_and_hears_balance_and_due_date(simulator, ada):
    record = call(simulator, BALANCE)
    assert "Is this about the account ending in 0 0 0 1?" in record.text
    assert (
        "Your balance is 142 dollars and 50 cents, due on Saturday, December 19, 2026."
        in record.said
    )
    assert "The minimum payment due is 35 dollars." in record.said
    assert record.hung_up_by == "caller"


def test_unknown_caller_enters_the_account_number(simulator, ada):
    record = call(simulator, VERIFY_BY_NUMBER, caller=STRANGER)
    assert "Please enter your account number, followed by the pound key." in record.said
    assert "Thank you." in record.said


def test_ssn_last4_is_asked_when_no_service_zip(simulator, db, settings):
    add_account(db, settings, account_number="70000003", phone="", service_zip="", ssn_last4="6789")
    record = call(simulator, ["", "70000003#", "1234#", "6789"], caller=STRANGER)
    assert any("Social Security" in line for line in record.said)
    assert "Thank you." in record.said


def test_spanish_caller_hears_every_prompt_in_spanish(simulator, ada):
    record = call(simulator, VERIFY_IN_SPANISH)
    assert (
        "¿Llama por la cuenta que termina en 0 0 0 1? Oprima 1 para sí, 2 para no." in record.said
    )
    assert any(
        line.startswith("Su saldo es de 142 dólares con 50 centavos") for line in record.said
    )


def test_wrong_answers_retry_then_lock_the_account(simulator, db, ada, settings):
    wrong = ["", "1"] + ["9999#", "94105"] * settings.MAX_ACCOUNT_FAILURES + ["", ""]
    record = call(simulator, wrong)
    assert record.said.count("Sorry, we could not verify those details.") == 2
    assert any("locked for the next 30 minutes" in line for line in record.said)
    # A second call, even with the right answers and another phone, meets the lock.
    again = call(simulator, VERIFY_BY_NUMBER, caller=STRANGER)
    assert any("locked" in line for line in again.said)
    assert "Thank you." not in again.said
    outcomes = db.scalars(
        select(AuditEvent.outcome).where(AuditEvent.action == "verification.attempt")
    ).all()
    assert outcomes.count("locked") == 1


def test_one_caller_id_trying_many_accounts_is_locked(simulator, db, settings):
    for n in range(settings.MAX_CALLER_FAILURES + 1):
        add_account(db, settings, account_number=f"8000000{n}", phone="")
    said = []
    for n in range(settings.MAX_CALLER_FAILURES + 1):
        said += call(simulator, ["", f"8000000{n}#", "0000#", "00000", ""], caller=STRANGER).said
    assert any("locked" in line for line in said)


def test_a_hard_locked_account_is_told_to_wait_for_the_billing_team(simulator, db, ada):
    db.add(LockoutCounter(subject="account:70000001", failures=0, locked_until=lockout.HARD_LOCK))
    db.commit()
    record = call(simulator, [*VERIFY, ""])
    assert (
        "For your security, phone access to this account is locked until our billing team "
        "unlocks it. To speak with a representative now, press 0." in record.said
    )


def test_invented_account_behaves_like_a_real_one_with_wrong_answers(simulator, ada):
    real = call(simulator, ["", "70000001#", "0000#", "00000"], caller=STRANGER)
    invented = call(simulator, ["", "79999999#", "0000#", "00000"], caller="+12025550188")
    assert real.said == invented.said


def test_silence_repeats_once_offers_help_then_says_goodbye(simulator, ada):
    record = call(simulator, ["", "", "", ""])
    assert record.said.count("Sorry, I did not hear anything.") == 1
    assert (
        "To hear that again, press star. For more time, press 1. For a representative, press 0."
        in record.said
    )
    assert record.said[-1] == "Thank you for calling. Goodbye."
    assert record.hung_up_by == "ivr"


@pytest.mark.parametrize("junk", ["#", "8"])
def test_junk_at_the_menu_is_re_prompted(simulator, ada, junk):
    record = call(simulator, [*MENU, junk, "2"])
    assert "Sorry, that is not one of the choices." in record.said
    assert any(line.startswith("Your balance is") for line in record.said)


def test_star_repeats_the_menu(simulator, ada):
    record = call(simulator, [*MENU, "*", "*"])
    menus = [line for line in record.said if line.startswith("To pay, press 1.")]
    assert len(menus) == 3


def test_last_payment_is_read_with_its_confirmation_number(simulator, db, ada):
    db.add(
        Payment(
            account_id=ada.id,
            amount_cents=5000,
            status=PaymentStatus.APPROVED,
            idempotency_key="test-1",
            confirmation_number="4829130057",
            channel="voice",
            gateway="sandbox",
            created_at=dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC),
        )
    )
    db.commit()
    record = call(simulator, BALANCE)
    # 03:00 UTC on the 20th is still the 19th in New York.
    assert (
        "Your last payment was 50 dollars on Thursday, November 19, 2026. "
        "Its confirmation number is 4 8 2, 9 1 3, 0 0 5 7." in record.said
    )


def test_agent_transfer_carries_the_verified_account(make_app, db, ada, settings):
    simulator = simulator_for(make_app(AGENT_TRANSFER="dial"))
    record = call(simulator, [*VERIFY, "0"])
    assert record.transfers == [settings.AGENT_NUMBER]
    assert record.agent_heard == ["Verified caller. Account ending in 0 0 0 1."]
    transfer = db.scalars(select(AuditEvent).where(AuditEvent.action == "call.transfer")).one()
    assert (transfer.outcome, transfer.resource) == ("verified", "account:70000001")


def test_hangup_mid_flow_ends_the_session(simulator, db, ada):
    record = call(simulator, ["", "1", "1234#"])
    assert record.hung_up_by == "caller"
    db.expire_all()
    session = db.get(Conversation, record.call_sid)
    assert session.status is SessionStatus.ENDED
    assert session.data == {}


def test_no_secret_reaches_twiml_audit_or_session(simulator, db, ada):
    record = call(simulator, BALANCE)
    twiml = "".join(record.responses)
    audit = " ".join(
        str((e.actor, e.resource, e.origin, e.detail)) for e in db.scalars(select(AuditEvent))
    )
    for secret in ("1234", "94105"):
        assert secret not in twiml
        assert secret not in audit
