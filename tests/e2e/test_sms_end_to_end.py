"""Whole text conversations through ``/sms/incoming``: verification and lockout, balance,
keywords, STOP, time-outs, replays, races, and card-shaped text that must never be kept."""

import datetime as dt
import re
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from flows.text import looks_like_card
from ivr.models import Account, AuditEvent, Conversation, Dispute, LockoutCounter, TextMessage
from ivr.simulator.emulator import keys_from
from tests.support.card_scan import database_dump, leaks
from tests.support.factories import ADA_PHONE, add_account
from tests.support.keys import TEXT_VERIFY
from tests.support.texting import Phone, message_form, reply_of
from tests.support.webhooks import post, row_counts, sign

MENU = (
    "Reply 1 for your balance, 2 to pay, 3 for more time, 4 for your last payment, 5 to dispute "
    "a charge, 6 for help paying your bill, AGENT, HELP or STOP."
)


@pytest.fixture
def phone(client):
    return Phone(client)


def count(db, model):
    db.rollback()
    return db.scalar(select(func.count()).select_from(model))


def conversation(db):
    db.rollback()
    return db.get(Conversation, f"sms:{ADA_PHONE}", populate_existing=True)


def test_verify_then_balance_in_plain_words(ada, phone):
    replies = phone.conversation(*TEXT_VERIFY, "1")
    assert replies == [
        "Riverside Utilities: account ending 0001. Reply with your PIN.",
        "Now reply with the 5-digit ZIP code of your service address, or the last 4 digits of "
        "the SSN on the account.",
        f"Thank you. {MENU}",
        f"Your balance is $142.50, due on 12/19/2026. The minimum payment due is $35.00. {MENU}",
    ]


def test_unsigned_or_forged_messages_are_refused_and_change_nothing(client, db, ada):
    before = row_counts(db)
    form = message_form("hi")
    assert client.post("/sms/incoming", data=form).status_code == 403
    forged = {"X-Twilio-Signature": sign("https://pay.example.com/sms/incoming", form, "wrong")}
    assert client.post("/sms/incoming", data=form, headers=forged).status_code == 403
    assert row_counts(db) == before
    assert count(db, TextMessage) == 0


def test_a_number_on_no_account_is_told_so_and_gets_no_questions(client, db, ada):
    stranger = Phone(client, "+15005550001")
    reply = stranger.send("balance")
    assert reply.startswith("Riverside Utilities: this phone number is not on an account")
    assert stranger.send("1234") == reply  # no PIN is ever asked, so none can be guessed
    assert count(db, LockoutCounter) == 0


def test_a_number_on_two_accounts_names_one_of_them(client, db, settings):
    shared = "+15005550010"
    add_account(db, settings, account_number="70000005", phone=shared, pin="8642")
    add_account(db, settings, account_number="70000006", phone=shared, pin="9753")
    add_account(db, settings, account_number="70000007", phone="+15005550011", pin="1111")
    texter = Phone(client, shared)
    assert texter.send("hi") == "Reply with your account number."
    assert texter.send("70000007") == (
        "That account is not linked to this phone number. Reply with your account number."
    )
    assert texter.send("70000006") == "Reply with your PIN."
    texter.send("9753")
    assert texter.send("94105").startswith("Thank you.")


def test_wrong_answers_lock_the_account_for_text_and_voice_alike(client, db, ada, simulator):
    replies = Phone(client).conversation("hi", "1111", "94105", "1111", "94105", "1111", "94105")
    assert replies[2] == (
        "Sorry, we could not verify those details. If you forgot your PIN or account number, "
        "reply AGENT. Reply with your PIN."
    )
    assert replies[-1] == (
        "For your security, access to this account is locked for the next 30 minutes. "
        "Reply AGENT to reach a representative."
    )
    # The right answers do not help while the lock lasts, on either channel.
    for reply in Phone(client).conversation("MENU", "1234", "94105"):
        assert "locked for the next" in reply or reply.startswith("Thanks for texting.")
    record = simulator.call(keys_from(["", "1"]), caller=ADA_PHONE)
    assert any("phone access to this account is locked" in line for line in record.said)
    db.rollback()
    outcomes = db.scalars(
        select(AuditEvent.outcome).where(AuditEvent.action == "verification.attempt")
    ).all()
    assert outcomes.count("locked") >= 1 and "success" not in outcomes


def test_agent_keyword_gives_a_number_to_call(ada, phone):
    agent = (
        "To talk with a representative, call (500) 555-0100. If you use TTY or a relay service, "
        "dial 711 and ask for (500) 555-0100."
    )
    assert phone.send("AGENT") == agent
    phone.conversation(*TEXT_VERIFY)
    assert phone.send("agent") == f"{agent} {MENU}"


def test_help_and_language_keep_the_place_in_the_conversation(ada, phone):
    phone.send("hi")
    assert phone.send("help").startswith("Riverside Utilities bill payments. Reply MENU")
    assert phone.send("ESPAÑOL") == "Responda con su PIN."
    assert phone.send("1234").startswith("Ahora responda con el código postal")
    assert phone.send("English") == (
        "Now reply with the 5-digit ZIP code of your service address, or the last 4 digits of "
        "the SSN on the account."
    )
    assert phone.send("94105").startswith("Thank you.")


def test_nonsense_gets_a_one_line_hint_and_the_question_again(ada, phone):
    phone.conversation(*TEXT_VERIFY)
    assert phone.send("what?") == f"Sorry, I did not understand that. {MENU}"
    assert phone.send("9") == f"Sorry, I did not understand that. {MENU}"
    assert phone.send("1").startswith("Your balance is $142.50")


def test_stop_silences_everything_until_start(client, db, ada, phone):
    phone.conversation(*TEXT_VERIFY)
    assert phone.send("STOP") == (
        "You are unsubscribed from Riverside Utilities texts and will get no more messages. "
        "Reply START to subscribe again."
    )
    assert phone.send("1") == ""
    assert phone.send("HELP") == ""
    assert phone.send("start") == (
        "You are subscribed to Riverside Utilities texts again. Riverside Utilities: account "
        "ending 0001. Reply with your PIN."
    )
    assert not conversation(db).verified


@pytest.mark.parametrize(
    "body",
    [
        "4242424242424242",
        "my card is 4242 4242 4242 4242 exp 12/30",
        "4000-0000-0000-0002",
        "378282246310005 7391",
        "1234567890123",  # not a card (fails Luhn), but card-shaped: treated the same
    ],
)
def test_card_shaped_text_is_refused_and_never_kept(client, db, ada, phone, caplog, body):
    phone.conversation(*TEXT_VERIFY)
    state = conversation(db).state
    reply = phone.send(body)
    assert reply.startswith("For your security, never send card numbers by text.")
    assert conversation(db).state == state
    digits = re.sub(r"\D", "", body)
    dump = database_dump(db)
    assert body not in dump and digits not in dump
    assert leaks(dump) == []
    assert leaks(caplog.text) == [] and digits not in caplog.text


def test_a_repeated_webhook_gets_the_same_reply_and_changes_nothing(client, db, ada, phone):
    phone.conversation(*TEXT_VERIFY)
    first = phone.send("1", sid="SM" + "a" * 32)
    turn = conversation(db).turn
    for _ in range(2):
        assert phone.send("1", sid="SM" + "a" * 32) == first
    assert conversation(db).turn == turn
    assert count(db, TextMessage) == 4


def test_an_old_message_arriving_late_is_answered_as_before(client, db, ada, phone):
    phone.send("hi", sid="SM" + "1" * 32)
    pin_reply = phone.send("1234", sid="SM" + "2" * 32)
    phone.send("94105", sid="SM" + "3" * 32)
    state = conversation(db).state
    assert phone.send("1234", sid="SM" + "2" * 32) == pin_reply
    assert conversation(db).state == state == "main_menu"


def test_an_idle_conversation_starts_over(make_app, db, ada):
    texter = Phone(make_app(TEXT_SESSION_IDLE_MINUTES=0).test_client())
    texter.conversation("hi", "1234")
    assert texter.send("94105") == (
        "Your earlier conversation timed out, so let's start again. "
        "Riverside Utilities: account ending 0001. Reply with your PIN."
    )


def test_a_verified_conversation_that_sat_idle_proves_who_it_is_again(db, ada, phone):
    """Unlike a call, a text conversation never ends; but once idle past its expiry it
    forgets who it was talking to before it takes the next answer."""
    phone.conversation(*TEXT_VERIFY)
    row = conversation(db)
    row.expires_at = row.expires_at - dt.timedelta(days=1)
    db.commit()

    reply = phone.send("1")

    assert reply.startswith("Your earlier conversation timed out, so let's start again.")
    assert "$142.50" not in reply
    row = conversation(db)
    assert (row.verified, row.account_id) == (False, None)


def test_spanish_accounts_are_answered_in_spanish(client, db, settings):
    add_account(db, settings, language="es-US")
    replies = Phone(client).conversation(*TEXT_VERIFY, "1")
    assert replies[0] == "Riverside Utilities: cuenta que termina en 0001. Responda con su PIN."
    assert replies[-1].startswith("Su saldo es de $142.50, con vencimiento el 19/12/2026.")


def test_more_time_by_text_moves_the_due_date(client, db, ada, phone):
    billed = ada.due_date
    phone.conversation(*TEXT_VERIFY)
    offer = phone.send("3")
    assert offer.startswith("I can move your due date to as late as ")
    terms = phone.send("1")
    assert terms.startswith("The terms: your balance of $142.50 will be due on ")
    made = phone.send("1")
    assert made.startswith("Your arrangement is set. Your confirmation number is ")
    db.rollback()
    assert db.scalar(select(Account.due_date).where(Account.id == ada.id)) > billed


def test_messages_sent_at_once_from_one_phone_are_answered_one_at_a_time(app, db, ada):
    Phone(app.test_client()).conversation(*TEXT_VERIFY)
    turn = conversation(db).turn
    replies: list[str] = []
    start = threading.Barrier(4)

    def send(body: str) -> None:
        client = app.test_client()
        start.wait()
        response = post(client, "/sms/incoming", message_form(body))
        replies.append(reply_of(response.get_data(as_text=True)))

    threads = [threading.Thread(target=send, args=(body,)) for body in ("1", "4", "1", "4")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(replies) == 4 and all(reply.endswith(MENU) for reply in replies)
    assert conversation(db).turn == turn + 4


def test_an_ended_conversation_must_verify_again(client, db, ada, phone):
    phone.conversation(*TEXT_VERIFY)
    assert phone.conversation("9", "9", "9")[-1] == (
        "Sorry, we are having trouble with your replies. Text again to start over, or reply AGENT."
    )
    assert phone.send("AGENT").startswith("To talk with a representative, call (500) 555-0100.")
    assert phone.send("1") == "Riverside Utilities: account ending 0001. Reply with your PIN."
    assert phone.send("MENU") == "Riverside Utilities: account ending 0001. Reply with your PIN."
    assert not conversation(db).verified


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.text(max_size=200), sender=st.sampled_from([ADA_PHONE, "", "abc", "+1", "12345"]))
def test_any_text_from_anyone_gets_twiml_never_an_error(client, db, ada, body, sender):
    response = post(client, "/sms/incoming", message_form(body, sender))
    assert response.status_code == 200
    reply = reply_of(response.get_data(as_text=True))
    if sender != ADA_PHONE:
        assert reply == ""  # no usable number to answer
    if len(re.sub(r"\D", "", body)) >= 13 and looks_like_card(body):
        assert reply.startswith("For your security") or reply == ""


def test_every_arrangement_choice_reads_as_text(client, db, ada, phone):
    phone.conversation(*TEXT_VERIFY)
    offer = phone.send("3")
    assert "Reply 3 to pay in monthly installments." in offer
    plans = phone.send("3")
    assert plans.startswith("Payments are monthly, the first on ")
    assert "Reply 2 for 2 payments of $71.25." in plans
    assert plans.endswith("Reply MENU to go back.")
    phone.send("MENU")
    phone.send("3")
    ask_date = phone.send("2")
    assert ask_date.startswith("Reply with the new due date as MM/DD, a weekday no later than ")
    assert phone.send("02/30").startswith("Sorry, that is not a date I can use.")
    latest = re.search(r"as late as (\d\d)/(\d\d)/\d{4}", offer)
    terms = phone.send(f"{latest.group(1)}/{latest.group(2)}")
    assert terms.startswith("The terms: your balance of $142.50 will be due on ")
    assert phone.send("2") == f"All right, nothing was changed. {MENU}"


def test_a_closed_account_is_told_why_not_and_who_can_help(client, db, settings, phone):
    add_account(db, settings, status="closed")
    phone.conversation(*TEXT_VERIFY)
    assert phone.send("3") == (
        "Sorry, this account cannot get more time to pay by phone. A representative may be able "
        "to help: reply AGENT. Or reply MENU."
    )


def test_amounts_are_typed_as_people_write_them(client, db, ada, phone):
    phone.conversation(*TEXT_VERIFY, "2", "3")
    assert phone.send("0.50").startswith("The smallest payment we can take is $1.00.")
    assert phone.send("12.345").startswith("Sorry, I did not understand that amount.")
    assert phone.send("$25.50").startswith("Pay $25.50 securely here:")
    phone.conversation("MENU", "2", "3")
    assert phone.send("500").startswith("That is more than the $142.50 you can pay now.")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # it drops a table
def test_a_database_failure_gets_a_polite_reply_not_an_error(client, db, ada, phone):
    db.execute(text("DROP TABLE text_messages"))
    db.commit()
    assert phone.send("hi") == (
        "Sorry, something went wrong on our side and nothing was charged. Please try again in a "
        "few minutes."
    )


def test_a_texter_disputes_part_of_the_balance_in_text_words(db, ada, phone):
    phone.conversation(*TEXT_VERIFY)
    assert phone.send("5") == (
        "Reply 1 to dispute the full amount due of $142.50, or 2 to dispute part of it. Reply "
        "AGENT for a representative, or MENU to go back."
    )
    assert phone.send("2") == "Reply with the amount to dispute, like 25.50."
    assert phone.send("20.00") == (
        "You are disputing $20.00. While we review it, this amount is not due and does not count "
        "toward disconnection. Reply 1 to confirm, 2 to cancel."
    )
    recorded = phone.send("1")
    db.rollback()
    dispute = db.scalars(select(Dispute)).one()
    assert (dispute.amount_cents, dispute.channel) == (2000, "sms")
    number = dispute.reference_number
    assert recorded == (
        f"Your dispute of $20.00 is recorded. Its reference number is {number[:3]}-{number[3:6]}-"
        f"{number[6:]}. Reply 1 to see the reference number again, AGENT for a representative, "
        "or MENU to go back."
    )
    assert phone.send("MENU") == MENU
    assert phone.send("1").startswith("Your balance is $142.50")  # the dispute is said after it


def test_a_texter_asks_for_help_paying(ada, phone):
    phone.conversation(*TEXT_VERIFY)
    assert phone.send("6") == (
        "A representative can tell you about programs that help pay your bill: reply AGENT. Or "
        "reply MENU."
    )
    assert phone.send("*") == MENU
