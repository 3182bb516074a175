"""Paying by text: a one-time link to the secure pay page, and a saved card charged on a
reply. Whole conversations, then the ledger, the outbox and a scan for card data."""

import threading

import pytest
from sqlalchemy import select

from ivr.models import OutboxMessage, PayLink, PaymentMethod, PaymentStatus
from ivr.simulator.emulator import keys_from
from payments.confirmation import is_valid
from payments.gateways import ChargeRequest, ChargeResult, StoredCard
from payments.gateways.sandbox import SandboxGateway
from payments.gateways.sandbox_tables import SandboxCharge
from tests.support.card_scan import CODE, database_dump, leaks
from tests.support.factories import add_account, balance, payments
from tests.support.keys import PAY_MENU, TEXT_VERIFY, card
from tests.support.texting import VISA, Phone, form_token, link_in, message_form, pay, reply_of
from tests.support.webhooks import post


@pytest.fixture
def phone(client):
    return Phone(client)


def test_pay_by_link_end_to_end(client, db, ada, phone, caplog):
    phone.conversation(*TEXT_VERIFY, "2")
    reply = phone.send("1")
    assert reply.startswith("Pay $142.50 securely here: https://pay.example.com/pay/")
    assert reply.endswith("The link works once, for 15 minutes. Reply MENU for more options.")
    path = link_in(reply)

    done = pay(client, path)
    assert done.status_code == 200
    [payment] = payments(db)
    assert (payment.status, payment.channel, payment.amount_cents) == (
        PaymentStatus.APPROVED,
        "web",
        14250,
    )
    assert is_valid(payment.confirmation_number)
    number = payment.confirmation_number
    written = f"{number[:3]}-{number[3:6]}-{number[6:]}"
    assert f"Your confirmation number is {written}." in done.text
    assert "We have also texted it to the number ending in 0006." in done.text
    assert balance(db, ada) == 0
    texts = db.scalars(select(OutboxMessage).where(OutboxMessage.channel == "sms")).all()
    assert [(m.recipient, written in m.body) for m in texts] == [("+15005550006", True)]

    # The link is spent: opening or posting it again charges nothing.
    again = client.get(path)
    assert again.status_code == 410
    assert "This payment link has already been used. Nothing more was charged." in again.text
    assert pay_again_status(client, path) == 410
    assert len(payments(db)) == 1
    # From the menu, the last payment is the one just made.
    assert written in phone.send("4")

    dump = database_dump(db)
    token = path.rsplit("/", 1)[1]
    assert leaks(dump) == [] and token not in dump
    assert leaks(caplog.text) == [] and token not in caplog.text


def pay_again_status(client, path):
    fields = {"form_token": "0" * 64, "number": VISA, "expiry": "12/30", "code": CODE}
    return client.post(path, data={**fields, "postal": "94105"}).status_code


def test_a_replayed_link_message_gets_the_same_link(client, db, ada, phone):
    phone.conversation(*TEXT_VERIFY, "2")
    first = phone.send("1", sid="SM" + "b" * 32)
    assert phone.send("1", sid="SM" + "b" * 32) == first
    db.rollback()
    assert len(db.scalars(select(PayLink)).all()) == 1


def test_bad_fields_are_named_and_nothing_is_charged(client, db, ada, phone):
    phone.conversation(*TEXT_VERIFY, "2")
    path = link_in(phone.send("1"))
    page = pay(client, path, number="4242 4242 4242 4241", expiry="13/30", code="12", postal="9")
    assert page.status_code == 422
    for message in (
        "That card number is not valid.",
        "That is not a valid expiration date.",
        "That security code is not valid.",
        "A ZIP code is 5 digits.",
    ):
        assert message in page.text
    assert "4242 4242 4242 4241" not in page.text and 'value="12"' not in page.text
    assert payments(db) == []
    assert pay(client, path).status_code == 200


def test_a_declined_card_leaves_the_link_open_for_another(client, db, ada, phone):
    phone.conversation(*TEXT_VERIFY, "2")
    path = link_in(phone.send("1"))
    declined = pay(client, path, number="4000000000000002")
    assert declined.status_code == 402
    assert "Sorry, your card was declined and nothing was charged." in declined.text
    assert pay(client, path).status_code == 200
    assert [p.status for p in payments(db)] == [PaymentStatus.DECLINED, PaymentStatus.APPROVED]
    assert balance(db, ada) == 0


def test_expired_and_unknown_links_are_refused_with_a_clear_page(make_app, db, ada):
    app = make_app(PAYLINK_TTL_MINUTES=0)
    client = app.test_client()
    texter = Phone(client)
    texter.conversation(*TEXT_VERIFY, "2")
    path = link_in(texter.send("1"))
    page = client.get(path)
    assert page.status_code == 410
    assert "This payment link has expired, and nothing was charged." in page.text
    assert pay_again_status(client, path) == 410
    unknown = client.get("/pay/not-a-real-token")
    assert unknown.status_code == 404
    assert "This payment link is not valid." in unknown.text
    assert payments(db) == []


def test_a_forged_form_is_refused(client, db, ada, phone):
    phone.conversation(*TEXT_VERIFY, "2")
    path = link_in(phone.send("1"))
    assert pay_again_status(client, path) == 400
    assert payments(db) == []


def test_pages_are_not_cached_framed_or_scripted_from_elsewhere(client, db, ada, phone):
    phone.conversation(*TEXT_VERIFY, "2")
    page = client.get(link_in(phone.send("1")))
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "<script>" not in page.text  # scripts only from our own static files


def save_a_card(client, phone, amount="50"):
    """Pay ``amount`` through a link, ticking "save this card"."""
    phone.conversation(*TEXT_VERIFY, "2", "3")
    path = link_in(phone.send(amount))
    done = pay(client, path, save="yes")
    assert "Your card is saved for paying by text." in done.text


def test_pay_with_a_saved_card_by_replying_1(client, db, ada, phone, caplog):
    save_a_card(client, phone)
    [method] = db.scalars(select(PaymentMethod)).all()
    assert (method.brand, method.last4, method.consent_channel) == ("visa", "4242", "web")
    assert method.consent_at is not None

    phone.send("MENU")
    assert phone.send("2").startswith("Your balance is $92.50. Reply 1 to pay it in full.")
    assert phone.send("3") == "Reply with the amount to pay, like 25.50."
    assert phone.send("$20.25") == (
        "Reply 1 to pay $20.25 now with Visa ending 4242. Reply 2 for a secure link to pay by card."
    )
    done = phone.send("1", sid="SM" + "c" * 32)
    assert done.startswith("Thank you, your payment of $20.25 is approved. ")
    assert "Your balance is now $72.25." in done
    # Twilio's retry of the same message: the same answer, no second charge.
    assert phone.send("1", sid="SM" + "c" * 32) == done
    stored = [p for p in payments(db) if p.channel == "sms"]
    assert [(p.amount_cents, p.status) for p in stored] == [(2025, PaymentStatus.APPROVED)]
    assert stored[0].idempotency_key == "sms:SM" + "c" * 32
    assert balance(db, ada) == 7225
    assert leaks(database_dump(db)) == [] and leaks(caplog.text) == []


def test_a_saved_card_message_sent_twice_at_once_charges_once(app, db, ada):
    phone = Phone(app.test_client())
    save_a_card(app.test_client(), phone)
    phone.conversation("MENU", "2", "3", "20")
    form = message_form("1", sid="SM" + "d" * 32)
    replies = []
    start = threading.Barrier(2)

    def send():
        client = app.test_client()
        start.wait()
        replies.append(reply_of(post(client, "/sms/incoming", form).get_data(as_text=True)))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(replies) == 2 and replies[0] == replies[1]
    assert replies[0].startswith("Thank you, your payment of $20.00 is approved.")
    db.rollback()
    charges = db.scalars(select(SandboxCharge)).all()
    assert sorted(c.amount_cents for c in charges) == [2000, 5000]
    assert balance(db, ada) == 14250 - 5000 - 2000


def test_without_a_saved_card_the_link_is_sent_straight_away(client, db, ada, phone):
    phone.conversation(*TEXT_VERIFY, "2")
    assert phone.send("1").startswith("Pay $142.50 securely here:")


def test_a_card_saved_after_a_phone_payment_pays_by_text(client, db, ada, simulator):
    presses = [*PAY_MENU, "3", "50#", *card(), "1", "4"]
    record = simulator.call(keys_from(presses), caller="+15005550006")
    assert "To save this card for paying by phone or text message, press 4." in record.said
    saved = "Your Visa ending in 4 2 4 2 is saved for paying by phone or text message."
    assert saved in record.said
    db.rollback()
    [method] = db.scalars(select(PaymentMethod)).all()
    assert (method.consent_channel, method.last4) == ("voice", "4242")

    phone = Phone(client)
    phone.conversation(*TEXT_VERIFY, "2", "3")
    assert phone.send("10").startswith("Reply 1 to pay $10.00 now with Visa ending 4242.")
    assert phone.send("1").startswith("Thank you, your payment of $10.00 is approved.")
    assert balance(db, ada) == 14250 - 5000 - 1000


def test_the_pay_page_speaks_the_texters_language(client, db, settings):
    add_account(db, settings, language="es-US")
    phone = Phone(client)
    phone.conversation(*TEXT_VERIFY, "2")
    reply = phone.send("1")
    assert reply.startswith("Pague $142.50 de forma segura aquí: https://pay.example.com/pay/")
    page = client.get(link_in(reply))
    assert '<html lang="es">' in page.text
    assert "Pague su factura de Riverside Utilities" in page.text
    assert '<label for="number">Número de tarjeta</label>' in page.text
    done = pay(client, link_in(reply))
    assert "Pago aprobado" in done.text
    db.rollback()
    [receipt] = db.scalars(select(OutboxMessage).where(OutboxMessage.channel == "sms")).all()
    assert receipt.body.startswith("Riverside Utilities: recibimos su pago para la cuenta")
    assert ": $142.50, cargo $0.00, total cobrado $142.50, pagado con Visa" in receipt.body


def test_a_double_submit_of_the_pay_page_charges_once(app, db, ada):
    phone = Phone(app.test_client())
    phone.conversation(*TEXT_VERIFY, "2")
    path = link_in(phone.send("1"))
    html = app.test_client().get(path).text
    fields = {"form_token": form_token(html), "number": VISA, "expiry": "12/30", "code": CODE}
    statuses = []
    start = threading.Barrier(3)

    def submit():
        client = app.test_client()
        start.wait()
        statuses.append(client.post(path, data={**fields, "postal": "94105"}).status_code)

    threads = [threading.Thread(target=submit) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses)[0] == 200 and statuses.count(200) == 1
    assert set(statuses) <= {200, 409, 410}
    assert [p.status for p in payments(db)] == [PaymentStatus.APPROVED]
    db.rollback()
    assert len(db.scalars(select(SandboxCharge)).all()) == 1
    assert balance(db, ada) == 0


class CrashOnceAfterStoredCharge(SandboxGateway):
    """The worker dies right after the gateway approved a saved-card charge, once."""

    crashed = False

    def charge(self, request: ChargeRequest) -> ChargeResult:
        result = super().charge(request)
        if isinstance(request.card, StoredCard) and not CrashOnceAfterStoredCharge.crashed:
            CrashOnceAfterStoredCharge.crashed = True
            raise SystemError("worker killed between gateway approval and commit")
        return result


def test_twilios_retry_after_a_crash_mid_charge_finishes_the_same_charge(
    make_app, standalone_factory, db, ada
):
    CrashOnceAfterStoredCharge.crashed = False
    app = make_app(gateway=CrashOnceAfterStoredCharge(standalone_factory))
    phone = Phone(app.test_client())
    save_a_card(app.test_client(), phone)
    phone.conversation("MENU", "2", "3", "20")
    form = message_form("1", sid="SM" + "e" * 32)
    assert post(app.test_client(), "/sms/incoming", form).status_code == 500
    assert [p.status for p in payments(db) if p.channel == "sms"] == [PaymentStatus.PENDING]

    retried = post(app.test_client(), "/sms/incoming", form)
    assert reply_of(retried.get_data(as_text=True)).startswith(
        "Thank you, your payment of $20.00 is approved."
    )
    assert [p.status for p in payments(db) if p.channel == "sms"] == [PaymentStatus.APPROVED]
    db.rollback()
    assert sorted(c.amount_cents for c in db.scalars(select(SandboxCharge))) == [2000, 5000]
    assert balance(db, ada) == 14250 - 5000 - 2000
