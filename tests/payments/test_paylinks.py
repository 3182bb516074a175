"""One-time pay links and saved payment methods, on both databases."""

import datetime as dt

import pytest

from ivr.db import transaction
from ivr.models import Payment, PaymentStatus
from payments import ledger, methods, paylinks
from payments.cards import FieldError
from payments.gateways import Card
from payments.paylinks import CardForm, LinkState
from tests.support.factories import add_account

NOW = dt.datetime(2026, 11, 21, 17, 0, tzinfo=dt.UTC)
SECRET = "test-secret"
TTL = dt.timedelta(minutes=15)
LIMITS = ledger.DeclineLimits(per_session=3, per_account=5)


@pytest.fixture
def account(db, settings):
    return add_account(db, settings)


def make_link(session, account, amount=5000):
    new = paylinks.NewLink(account.id, amount, 0, "+15005550006", "en-US")
    return paylinks.create(session, SECRET, new, now=NOW, ttl=TTL)


def test_only_a_hash_of_the_token_is_stored_and_the_token_opens_its_link(
    standalone_factory, account
):
    with transaction(standalone_factory) as session:
        link, token = make_link(session, account)
        assert token not in (link.token_hash, link.salt)
        assert paylinks.token_for(SECRET, link) == token
        assert paylinks.token_for("another-secret", link) != token
        assert paylinks.find(session, token) is link
        assert paylinks.find(session, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
        assert paylinks.find(session, "") is None
        assert paylinks.find(session, "x" * 65) is None
        assert paylinks.state(session, link, NOW) is LinkState.OPEN
        assert paylinks.state(session, link, NOW + TTL) is LinkState.EXPIRED
        assert paylinks.state(session, None, NOW) is LinkState.UNKNOWN


def test_a_link_is_pending_while_its_payment_is_in_flight_and_spent_by_an_approval(
    standalone_factory, account
):
    card = Card("4242424242424242", 12, 2030, "739", "94105")
    with transaction(standalone_factory) as session:
        link, _ = make_link(session, account)
        payment = paylinks.begin_payment(
            session, link, card, gateway="sandbox", allow_overpayment=False, declines=LIMITS
        )
        assert (payment.idempotency_key, payment.last4) == (f"paylink:{link.id}:1", "4242")
        assert paylinks.state(session, link, NOW) is LinkState.PENDING
        payment.status = PaymentStatus.DECLINED
        session.flush()
        assert paylinks.state(session, link, NOW) is LinkState.OPEN
        paylinks.spend(session, link.id, payment, NOW)
        assert link.used_at is None  # a decline leaves the link open for another card
        second = paylinks.begin_payment(
            session, link, card, gateway="sandbox", allow_overpayment=False, declines=LIMITS
        )
        assert second.idempotency_key == f"paylink:{link.id}:2"
        second.status = PaymentStatus.APPROVED
        paylinks.spend(session, link.id, second, NOW)
        assert paylinks.state(session, link, NOW) is LinkState.USED


@pytest.mark.parametrize(
    ("form", "errors"),
    [
        (CardForm("4242 4242 4242 4242", "12/30", "739", "94105"), None),
        (CardForm("3782-822463-10005", "1230", "7391", "94105"), None),
        (
            CardForm("4242424242424241", "1230", "739", "94105"),
            {"number": FieldError.NUMBER_INVALID},
        ),
        (
            CardForm("4242424242424242", "10/26", "739", "94105"),
            {"expiry": FieldError.EXPIRED},
        ),
        (
            CardForm("378282246310005", "12/30", "739", "9410"),
            {"code": FieldError.CODE_INVALID, "postal": FieldError.ZIP_INVALID},
        ),
        (
            CardForm("", "", "", ""),
            {
                "number": FieldError.NUMBER_INVALID,
                "expiry": FieldError.EXPIRY_INVALID,
                "code": FieldError.CODE_INVALID,
                "postal": FieldError.ZIP_INVALID,
            },
        ),
    ],
)
def test_the_pay_page_checks_cards_by_the_keypad_rules(form, errors):
    checked = paylinks.check_card(form, dt.date(2026, 11, 21))
    if errors is None:
        assert isinstance(checked, Card)
    else:
        assert checked == errors


def approved(session, account, ref="tok_1", exp=(12, 2030)):
    payment = Payment(
        account_id=account.id,
        amount_cents=100,
        fee_cents=0,
        idempotency_key=f"k-{ref}-{exp}",
        channel="web",
        gateway="sandbox",
        brand="visa",
        last4="4242",
        exp_month=exp[0],
        exp_year=exp[1],
        gateway_token=ref,
        status=PaymentStatus.APPROVED,
    )
    session.add(payment)
    session.flush()
    return payment


def test_saved_methods_come_from_approved_payments_with_consent(standalone_factory, account):
    today = dt.date(2026, 11, 21)
    with transaction(standalone_factory) as session:
        first = methods.save_from(session, approved(session, account), "web", NOW)
        again = methods.save_from(
            session, approved(session, account, exp=(12, 2031)), channel="web", now=NOW
        )
        assert first is not None and again is first  # the same card is saved once
        expired = methods.save_from(
            session, approved(session, account, "tok_2", (10, 2026)), channel="web", now=NOW
        )
        assert expired is not None
        declined = approved(session, account, "tok_3")
        declined.status = PaymentStatus.DECLINED
        assert methods.save_from(session, declined, "web", NOW) is None
        assert methods.usable(session, account.id, today) == [first]
