"""Paying by keypad, whole calls through the simulator: approvals, declines, bad input,
replays, races, hang-ups, ``<Pay>`` mode, and no card data left anywhere afterwards."""

import threading

import pytest
from sqlalchemy import select

from ivr.db import transaction
from ivr.models import AuditEvent, OutboxMessage, Payment, PaymentStatus, TextOptOut, utcnow
from ivr.simulator.emulator import keys_from
from payments import ledger
from payments.confirmation import is_valid
from payments.gateways.sandbox_tables import SandboxCharge
from tests.conftest import simulator_for
from tests.support.card_scan import AMEX_CODE, captures_left, database_dump, leaks
from tests.support.factories import add_account, balance, payments
from tests.support.keys import PAY_FULL, PAY_MENU, VERIFY, VERIFY_BY_NUMBER, VISA, card
from tests.support.webhooks import twice_simulator


def call(simulator, presses, caller="+15005550006"):
    return simulator.call(keys_from(presses), caller=caller)


def written(number):
    """A confirmation number as receipts print it: 482-913-0057."""
    return f"{number[:3]}-{number[3:6]}-{number[6:]}"


def test_full_balance_by_visa_is_approved_with_a_confirmation_number(app, db, simulator, ada):
    record = call(simulator, [*PAY_FULL, *card(), "1", ""])
    [payment] = payments(db)
    assert payment.status is PaymentStatus.APPROVED
    assert (payment.amount_cents, payment.brand, payment.last4) == (14250, "visa", "4242")
    assert (payment.exp_month, payment.exp_year) == (12, 2030)
    assert is_valid(payment.confirmation_number)
    spoken = (
        " ".join(payment.confirmation_number[:3])
        + ", "
        + " ".join(payment.confirmation_number[3:6])
    )
    assert (
        "Visa ending in 4 2 4 2, 142 dollars and 50 cents. "
        "To pay, press 1; to cancel, 2." in record.said
    )
    assert "Thank you, your payment is approved." in record.said
    assert any(line.startswith(f"Your confirmation number is {spoken}") for line in record.said)
    assert "You now have no balance due." in record.said
    assert record.said[-1] == "Thank you for your payment. Goodbye."
    assert balance(db, ada) == 0
    assert captures_left(db) == 0
    actions = db.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions.count("payment.started") == 1 and actions.count("payment.approved") == 1
    assert "To get it by email at a…@example.com, press 3." in record.said
    assert db.scalars(select(OutboxMessage)).all() == []  # emailed only when asked
    telephony = app.extensions["ivr"].telephony
    assert [state for sid, state in telephony.recordings if sid == record.call_sid] == [
        "paused",
        "in-progress",
    ]


@pytest.mark.parametrize(
    ("number", "sentence"),
    [
        ("4000000000000002", "Sorry, your card was declined and nothing was charged."),
        (
            "4000000000009995",
            "Sorry, the card was declined for insufficient funds, and nothing was charged.",
        ),
        (
            "4000000000000069",
            "Sorry, the bank says this card has expired. Nothing was charged.",
        ),
        (
            "4000000000000119",
            "Sorry, we had a problem processing that card, and nothing was charged.",
        ),
    ],
)
def test_declines_are_explained_and_another_card_can_be_tried(db, simulator, ada, number, sentence):
    record = call(simulator, [*PAY_FULL, *card(number), "1", "1", *card(), "1", ""])
    assert sentence in record.said
    declined, approved = payments(db)
    assert declined.status is PaymentStatus.DECLINED
    assert approved.status is PaymentStatus.APPROVED
    assert declined.idempotency_key != approved.idempotency_key
    assert balance(db, ada) == 0


def test_a_decline_leaves_the_balance_alone(db, simulator, ada):
    call(simulator, [*PAY_FULL, *card("4000000000000002"), "1", "*"])
    assert balance(db, ada) == 14250
    assert captures_left(db) == 0


@pytest.mark.parametrize(
    ("field", "bad", "complaint"),
    [
        ("number", "4242424242424241#", "That card number is not valid."),
        ("number", "1234#", "That card number is not valid."),
        ("expiry", "1330", "That is not a valid expiration date."),
        ("expiry", "0120", "That card has expired."),
        ("code", "12", "That security code is not valid."),
        ("postal", "9410", "A ZIP code is 5 digits."),
    ],
)
def test_each_card_field_re_prompts_on_bad_input(db, simulator, ada, field, bad, complaint):
    good = dict(zip(("number", "expiry", "code", "postal"), card(), strict=True))
    entries = []
    for name, value in good.items():
        entries += [bad, value] if name == field else [value]
    record = call(simulator, [*PAY_FULL, *entries, "1", ""])
    assert complaint in record.said
    assert [p.status for p in payments(db)] == [PaymentStatus.APPROVED]


def test_amex_asks_for_four_digits_from_the_front(db, simulator, ada):
    record = call(simulator, [*PAY_FULL, *card("378282246310005", code=AMEX_CODE), "1", ""])
    assert "The 4 digit security code on the front." in record.said
    assert any(line.startswith("American Express ending in 0 0 0 5") for line in record.said)
    assert payments(db)[0].status is PaymentStatus.APPROVED


def test_star_starts_the_card_over(db, simulator, ada):
    record = call(simulator, [*PAY_FULL, f"{VISA}#", "*", *card(), "1", ""])
    assert "All right, let's start over." in record.said
    assert payments(db)[0].status is PaymentStatus.APPROVED


def test_cancel_at_the_read_back_charges_nothing(app, db, simulator, ada):
    record = call(simulator, [*PAY_FULL, *card(), "2"])
    assert "Your payment was cancelled. Nothing was charged." in record.said
    assert payments(db) == []
    assert captures_left(db) == 0
    states = [s for sid, s in app.extensions["ivr"].telephony.recordings if sid == record.call_sid]
    assert states == ["paused", "in-progress"]


def test_another_amount_in_dollars_and_cents(db, simulator, ada):
    record = call(simulator, [*PAY_MENU, "3", "25*50#", *card(), "1", ""])
    assert any(", 25 dollars and 50 cents. To pay, press 1" in line for line in record.said)
    assert balance(db, ada) == 14250 - 2550


@pytest.mark.parametrize(
    ("keys", "complaint"),
    [
        ("0*50#", "The smallest payment we can take is 1 dollar."),
        ("500#", "That is more than the 142 dollars and 50 cents you can pay now."),
        ("12*345#", "Sorry, I did not understand that amount."),
    ],
)
def test_amounts_outside_policy_are_refused(db, simulator, ada, keys, complaint):
    record = call(simulator, [*PAY_MENU, "3", keys])
    assert complaint in record.said
    assert payments(db) == []


def in_doubt(app, account, cents):
    """A payment the gateway never answered: ``unknown`` until ``ivr reconcile`` settles it."""
    new = ledger.NewPayment(account.id, cents, 0, "lost", "voice", "CA1", "sandbox", "visa", "4242")
    with transaction(app.extensions["ivr"].factory) as session:
        payment = ledger.begin(session, new, allow_overpayment=False, declines=None)
        ledger.mark_unknown(session, payment.id)


def test_while_a_payment_is_in_doubt_the_menu_offers_what_is_left(app, db, simulator, ada):
    in_doubt(app, ada, 5000)
    record = call(simulator, [*PAY_FULL, *card(), "1", ""])
    assert (
        "A payment of 50 dollars is still being confirmed with the bank, so you can pay up to "
        "92 dollars and 50 cents now. To pay that, press 1." in record.said
    )
    assert "For the minimum due, 35 dollars, press 2." not in record.said  # covered by it
    assert not any("you can pay now" in line for line in record.said)  # no refusal
    assert "Visa ending in 4 2 4 2, 92 dollars and 50 cents. To pay, press 1; to cancel, 2." in (
        record.said
    )
    assert "Thank you, your payment is approved." in record.said
    assert [p.status for p in payments(db)] == [PaymentStatus.UNKNOWN, PaymentStatus.APPROVED]


def test_a_payment_in_doubt_for_the_whole_balance_leaves_nothing_to_pay(app, db, simulator, ada):
    in_doubt(app, ada, 14250)
    # nothing left to offer, so straight to the menu: 1, pay
    record = call(simulator, [*VERIFY, "1", ""])
    assert (
        "A payment of 142 dollars and 50 cents is still being confirmed with the bank, so there "
        "is nothing more to pay now." in record.said
    )
    assert not any("To pay it all" in line or "you can pay up to" in line for line in record.said)
    assert len(payments(db)) == 1


def test_ceiling_applies_when_overpayment_is_allowed(make_app, db, settings, ada):
    app = make_app(ALLOW_OVERPAYMENT=True, PAYMENT_MAX_CENTS=20000)
    record = call(simulator_for(app), [*PAY_MENU, "3", "250#", "180#", *card(), "1"])
    assert "The largest payment we can take by phone is 200 dollars." in record.said
    assert balance(db, ada) == 14250 - 18000


def test_convenience_fee_is_spoken_before_confirming_and_charged_on_top(
    make_app, db, settings, ada
):
    app = make_app(FEE_FLAT_CENTS=250)
    record = call(simulator_for(app), [*PAY_FULL, "1", *card(), "1", ""])
    assert (
        "A convenience fee of 2 dollars and 50 cents applies, for a total of 145 dollars."
        in record.said
    )
    assert any(
        "plus a fee of 2 dollars and 50 cents, 145 dollars in all" in line for line in record.said
    )
    [charge] = db.scalars(select(SandboxCharge)).all()
    assert charge.amount_cents == 14500
    assert (payments(db)[0].fee_cents, balance(db, ada)) == (250, 0)


def test_confirmation_can_be_texted_and_heard_again_from_the_menu(db, simulator, ada):
    record = call(simulator, [*PAY_FULL, *card(), "1", "2", "2"])
    [payment] = payments(db)
    number = payment.confirmation_number
    assert "I have sent it by text message to the number ending in 0 0 0 6." in record.said
    sms = db.scalars(select(OutboxMessage).where(OutboxMessage.channel == "sms")).one()
    assert sms.recipient == "+15005550006"
    assert written(number) in sms.body
    assert any(
        line.startswith("Your last payment was 142 dollars and 50 cents") for line in record.said
    )


def test_every_webhook_delivered_twice_charges_once(app, client, db, settings, ada):
    """Twilio retries; a proxy may too. Each request is sent twice and must answer alike."""
    simulator, mismatches = twice_simulator(app, settings)
    simulator.call(keys_from([*PAY_FULL, *card(), "1", ""]), caller="+15005550006")
    assert mismatches == []
    assert len(db.scalars(select(SandboxCharge)).all()) == 1
    assert [p.status for p in payments(db)] == [PaymentStatus.APPROVED]
    assert balance(db, ada) == 0


def test_two_calls_paying_one_account_at_once_charge_it_once(app, db, settings, ada):
    """Both callers hear the read-back at the same moment, then both press 1."""
    barrier = threading.Barrier(2)
    records = []

    def place() -> None:
        presses = iter([*PAY_FULL, *card(), "1", ""])

        def keys(prompt):
            if prompt.startswith("Visa ending in"):
                barrier.wait(timeout=30)
            return next(presses, None)

        records.append(simulator_for(app).call(keys, caller="+15005550006"))

    threads = [threading.Thread(target=place) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = [p.status for p in payments(db)]
    assert statuses == [PaymentStatus.APPROVED]
    assert balance(db, ada) == 0
    assert any(
        "A payment for this account is already being processed" in line
        for record in records
        for line in record.said
    )


def test_hanging_up_during_capture_wipes_the_card(db, simulator, ada):
    record = call(simulator, [*PAY_FULL, f"{VISA}#", "1230"])
    assert record.hung_up_by == "caller"
    assert captures_left(db) == 0
    assert payments(db) == []


def test_silence_during_capture_ends_the_call_and_wipes_the_card(db, simulator, ada):
    record = call(simulator, [*PAY_FULL, f"{VISA}#", "", "", ""])  # the last, after the offer
    assert record.hung_up_by == "ivr"
    assert captures_left(db) == 0


@pytest.fixture
def pay_mode_app(make_app):
    return make_app(CAPTURE_MODE="twilio-pay")


def test_pay_verb_mode_records_what_twilio_reports(pay_mode_app, db, settings, ada):
    record = call(simulator_for(pay_mode_app), [*PAY_FULL, *card(), ""])
    pay_twiml = next(r for r in record.responses if "<Pay " in r)
    assert 'chargeAmount="142.50"' in pay_twiml and 'paymentConnector="Default"' in pay_twiml
    assert 'action="/voice/step?turn=' in pay_twiml
    [payment] = payments(db)
    assert payment.status is PaymentStatus.APPROVED
    assert (payment.gateway, payment.brand, payment.last4) == ("twilio-pay", "visa", "4242")
    assert payment.gateway_reference.startswith("ch_sim_")
    assert "Thank you, your payment is approved." in record.said
    assert balance(db, ada) == 0


def test_pay_verb_mode_decline_and_star(pay_mode_app, db, settings, ada):
    simulator = simulator_for(pay_mode_app)
    declined = call(simulator, [*PAY_FULL, *card("4000000000009995"), "*"])
    assert any("insufficient funds" in line for line in declined.said)
    cancelled = call(simulator, [*PAY_FULL, "*"])
    assert "Your payment was cancelled. Nothing was charged." in cancelled.said
    assert [p.status for p in payments(db)] == [PaymentStatus.DECLINED, PaymentStatus.FAILED]
    assert balance(db, ada) == 14250


@pytest.mark.parametrize("mode", ["dtmf", "twilio-pay"])
def test_no_card_data_anywhere_after_full_calls(make_app, db, settings, caplog, mode):
    add_account(db, settings)
    add_account(db, settings, account_number="70000009", phone="+15005550011")
    app = make_app(CAPTURE_MODE=mode, LOG_LEVEL="DEBUG")
    simulator = simulator_for(app)
    caplog.set_level("DEBUG")
    records = [
        call(simulator, [*PAY_FULL, *card("4000000000000002"), "1", "1", *card(), "1", "2"]),
        call(
            simulator,
            [*PAY_MENU, "3", "5#", *card("378282246310005", code=AMEX_CODE), "1", ""],
            caller="+15005550011",
        ),
        call(simulator, [*PAY_FULL, *card("4000000000009995"), "1"]),
    ]
    twiml = "\n".join(response for r in records for response in r.responses)
    assert leaks(twiml) == []
    assert leaks(caplog.text) == []
    assert leaks(database_dump(db)) == []
    assert captures_left(db) == 0
    assert db.scalars(select(Payment).where(Payment.status == PaymentStatus.APPROVED)).all()


def test_no_text_receipt_to_a_number_that_texted_stop(db, simulator, ada):
    db.add(TextOptOut(phone="+15005550006", opted_out_at=utcnow()))
    db.commit()
    record = call(simulator, [*PAY_FULL, *card(), "1", "2"])
    assert "Sorry, I do not have a mobile number to send it to." in record.said
    assert not db.scalars(select(OutboxMessage).where(OutboxMessage.channel == "sms")).all()


def test_a_text_receipt_goes_to_the_accounts_phone_not_a_stranger_caller(db, simulator, ada):
    keyed = [*VERIFY_BY_NUMBER, "1"]
    record = call(simulator, [*keyed, *card(), "1", "2"], caller="+12025550123")
    assert "I have sent it by text message to the number ending in 0 0 0 6." in record.said
    sms = db.scalars(select(OutboxMessage).where(OutboxMessage.channel == "sms")).one()
    assert sms.recipient == "+15005550006"
