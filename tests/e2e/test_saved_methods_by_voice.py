"""Saved cards and pay links on the phone: a saved card charged once the amount is chosen, a
declined one, a card removed from "other choices", and a secure link sent by text instead of
keying a card. Whole calls through the simulator, with the ledger, the sandbox's charges, the
audit log and the outbox checked."""

from __future__ import annotations

from sqlalchemy import select

from ivr.models import AuditEvent, OutboxMessage, PaymentMethod, PaymentStatus
from ivr.simulator.emulator import keys_from
from payments.gateways.sandbox_tables import SandboxCharge
from tests.support.card_scan import database_dump, leaks
from tests.support.factories import balance, payments
from tests.support.keys import PAY_MENU, SAVED_CARDS, card
from tests.support.texting import link_in, pay

CHOICE = "To pay with the Visa ending in 4 2 4 2, press 1. To use another card, press 2."
LINK_CHOICE = "To get a secure link by text message instead, press 3."
CARD_PROMPT = "Enter your card number, then pound."


def call(simulator, presses):
    return simulator.call(keys_from(presses), caller="+15005550006")


def save_a_card(simulator, db):
    """Pay 50 dollars by a keyed card and save it at the receipt (4)."""
    call(simulator, [*PAY_MENU, "3", "50#", *card(), "1", "4"])
    db.rollback()
    [method] = db.scalars(select(PaymentMethod)).all()
    return method


def test_a_saved_card_pays_by_voice_and_gets_the_receipt(db, simulator, ada, caplog):
    save_a_card(simulator, db)
    record = call(simulator, [*PAY_MENU, "3", "20#", "1", ""])
    said = record.said
    assert CHOICE in said and LINK_CHOICE in said
    assert not any(line.startswith(CARD_PROMPT) for line in said[said.index(CHOICE) :])
    assert "Thank you, your payment is approved." in said
    assert any(line.startswith("Your confirmation number is") for line in said)
    db.rollback()
    saved = payments(db)[-1]
    assert (saved.status, saved.amount_cents, saved.channel, saved.last4) == (
        PaymentStatus.APPROVED,
        2000,
        "voice",
        "4242",
    )
    assert saved.confirmation_number is not None
    charges = db.scalars(select(SandboxCharge)).all()
    assert sorted(c.amount_cents for c in charges) == [2000, 5000]
    assert len({c.token for c in charges}) == 1  # the second charge is on the saved token
    assert balance(db, ada) == 14250 - 5000 - 2000
    assert leaks(database_dump(db)) == [] and leaks(caplog.text) == []


def test_a_declined_saved_card_is_handled_as_any_decline(db, simulator, ada):
    method = save_a_card(simulator, db)
    method.gateway_token = "tok_sbx_never_issued"  # the sandbox declines a token it never gave
    db.commit()
    record = call(simulator, [*PAY_MENU, "3", "20#", "1", "1", "2", *card(), "1", ""])
    said = record.said
    assert any(line.startswith("Sorry, your card was declined") for line in said)
    # Another try offers the saved card again; 2 keys a new card, which is charged instead.
    assert said.count(CHOICE) == 2
    assert "Thank you, your payment is approved." in said
    db.rollback()
    assert [p.status for p in payments(db)[1:]] == [PaymentStatus.DECLINED, PaymentStatus.APPROVED]
    assert balance(db, ada) == 14250 - 5000 - 2000


def test_a_saved_card_is_read_and_removed_by_voice(db, simulator, ada):
    method = save_a_card(simulator, db)
    record = call(simulator, [*SAVED_CARDS, "1", ""])
    assert "Your Visa ending in 4 2 4 2 is saved. To remove it, press 1." in record.said
    assert "Your Visa ending in 4 2 4 2 is removed. It will not be charged again." in record.said
    db.rollback()
    db.refresh(method)
    assert method.removed_at is not None
    [event] = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "payment_method.removed")
    ).all()
    assert (event.resource, event.outcome) == (f"payment_method:{method.id}", "removed")
    assert event.actor.startswith("voice:")

    # Removed: the next payment asks for a card straight away, and the list is empty.
    again = call(simulator, [*PAY_MENU, "3", "20#", *card(), "1", ""])
    assert CHOICE not in again.said
    assert "You have no saved cards." in call(simulator, [*SAVED_CARDS, ""]).said


def test_a_pay_link_by_text_from_the_phone_opens_the_pay_page_and_pays(client, db, simulator, ada):
    save_a_card(simulator, db)
    record = call(simulator, [*PAY_MENU, "3", "20#", "3", ""])
    assert (
        "I have sent a secure link to the number ending in 0 0 0 6. It works for 15 minutes."
        in record.said
    )
    db.rollback()
    texts = db.scalars(select(OutboxMessage).where(OutboxMessage.channel == "sms")).all()
    [sent] = [m for m in texts if "securely here" in m.body]
    assert sent.recipient == "+15005550006"
    assert sent.body.startswith("Pay $20.00 securely here: https://pay.example.com/pay/")
    assert len(payments(db)) == 1  # nothing charged by the call itself
    done = pay(client, link_in(sent.body))
    assert done.status_code == 200
    db.rollback()
    paid = payments(db)[-1]
    assert (paid.status, paid.amount_cents, paid.channel) == (PaymentStatus.APPROVED, 2000, "web")
    assert balance(db, ada) == 14250 - 5000 - 2000


def test_without_a_saved_card_the_pay_menu_texts_a_link_for_its_first_amount(
    client, db, simulator, ada
):
    offer = "For a secure link by text message to pay 142 dollars and 50 cents, press 4."
    record = call(simulator, [*PAY_MENU, "4", ""])
    assert offer in record.said and CHOICE not in record.said
    assert (
        "I have sent a secure link to the number ending in 0 0 0 6. It works for 15 minutes."
        in record.said
    )
    db.rollback()
    [sent] = db.scalars(select(OutboxMessage).where(OutboxMessage.channel == "sms")).all()
    assert sent.body.startswith("Pay $142.50 securely here: https://pay.example.com/pay/")
    assert pay(client, link_in(sent.body)).status_code == 200
    db.rollback()
    assert balance(db, ada) == 0
