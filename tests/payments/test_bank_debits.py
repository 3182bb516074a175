"""Bank debits through the one payment path: accepted once, then settled or returned."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.channels.services import build_payments
from ivr.config import Settings
from ivr.models import (
    Account,
    AuditEvent,
    BankDebit,
    DebitState,
    Payment,
    PaymentStatus,
)
from payments import bank_debits
from payments.bank import BankFieldError, check_account, check_confirmation, check_routing
from payments.gateways.sandbox import SandboxGateway
from payments.rails import DebitRequest, SecCode
from payments.rails.sandbox import SETTLES, TEST_RETURNS, SandboxRail
from payments.service import Authorize, BankInHand, PaymentService, SavedBank
from tests.support.card_scan import database_dump, leaks
from tests.support.factories import account_of, add_account, bank_payment

NOW = dt.datetime(2026, 12, 4, 15, 0, tzinfo=dt.UTC)
ON = dt.date(2026, 12, 7)


@pytest.fixture
def service(settings: Settings, standalone_factory: sessionmaker[Session]) -> PaymentService:
    return build_payments(settings, standalone_factory, SandboxGateway(standalone_factory))


@pytest.mark.parametrize(
    ("routing", "error"),
    [
        ("110000000", None),
        ("021000021", None),  # a real bank's, prefix 02
        ("111000025", None),
        ("110000001", BankFieldError.ROUTING_INVALID),  # check digit
        ("11000000", BankFieldError.ROUTING_INVALID),  # eight digits
        ("500000005", BankFieldError.ROUTING_INVALID),  # prefix 50 is not assigned
        ("11000000a", BankFieldError.ROUTING_INVALID),
    ],
)
def test_routing_numbers_pass_the_aba_check_digit_and_a_known_prefix(routing, error) -> None:
    assert check_routing(routing) is error


def test_account_numbers_are_4_to_17_digits_and_keyed_twice_alike() -> None:
    assert check_account("000123456789") is None
    assert check_account("123") is BankFieldError.ACCOUNT_INVALID
    assert check_account("1" * 18) is BankFieldError.ACCOUNT_INVALID
    assert check_confirmation("000123456789", "000123456798") is BankFieldError.ACCOUNT_MISMATCH


def test_a_bank_account_repr_shows_only_its_type_and_last_four() -> None:
    assert repr(account_of(SETTLES)) == "<BankAccount checking ...6789>"


def test_an_accepted_debit_lowers_the_balance_once_then_settles(
    db: Session, settings: Settings, service: PaymentService, standalone_factory
) -> None:
    account = add_account(db, settings)
    payment_id = bank_payment(standalone_factory, account.id, ON, "bank-1", 5_000)
    order = Authorize(payment_id, BankInHand(account_of(SETTLES)))

    first = service.authorize(order, NOW)
    again = service.authorize(order, NOW)

    assert first.status is PaymentStatus.APPROVED and first.confirmation_number
    assert again.confirmation_number == first.confirmation_number
    db.expire_all()
    assert db.get_one(Account, account.id).balance_cents == 14_250 - 5_000
    debit = db.get_one(BankDebit, payment_id)
    assert (debit.state, debit.effective_date, debit.token) == (
        DebitState.PENDING,
        ON,
        first.gateway_token,
    )

    rail = service.rail
    assert rail is not None
    days = [ON - dt.timedelta(days=1), ON, ON + dt.timedelta(days=1), ON + dt.timedelta(days=2)]
    moved = [bank_debits.track_all(standalone_factory, rail, day, NOW) for day in days]

    assert moved == [{}, {DebitState.SUBMITTED: 1}, {DebitState.SETTLED: 1}, {}]
    db.expire_all()
    assert db.get_one(BankDebit, payment_id).state is DebitState.SETTLED
    assert db.get_one(Account, account.id).balance_cents == 14_250 - 5_000


@pytest.mark.parametrize(("number", "code"), sorted(TEST_RETURNS.items()))
def test_a_returned_debit_puts_the_amount_back_records_why_and_tells_the_customer(
    db: Session, settings: Settings, service: PaymentService, standalone_factory, number, code
) -> None:
    account = add_account(db, settings)
    payment_id = bank_payment(standalone_factory, account.id, ON, "bank-r", 5_000)
    service.authorize(Authorize(payment_id, BankInHand(account_of(number))), NOW)
    told: list[tuple[str, str | None]] = []

    def notify(session: Session, account: Account, payment: Payment, debit: BankDebit) -> None:
        told.append((account.number, debit.return_code))

    rail = service.rail
    assert rail is not None
    after = ON + dt.timedelta(days=1)
    bank_debits.track_all(standalone_factory, rail, after, NOW, notify)
    bank_debits.track_all(standalone_factory, rail, after, NOW, notify)  # nothing twice

    db.expire_all()
    assert told == [(account.number, code)]
    assert db.get_one(Account, account.id).balance_cents == 14_250
    assert db.get_one(Payment, payment_id).status is PaymentStatus.RETURNED
    debit = db.get_one(BankDebit, payment_id)
    assert (debit.state, debit.return_code) == (DebitState.RETURNED, code)
    events = db.scalars(select(AuditEvent.action).where(AuditEvent.action.like("bank_debit.%")))
    assert list(events) == ["bank_debit.returned"]


def test_a_saved_bank_account_is_debited_by_its_token_and_an_unknown_one_declined(
    db: Session, settings: Settings, service: PaymentService, standalone_factory
) -> None:
    account = add_account(db, settings)
    first = bank_payment(standalone_factory, account.id, ON, "bank-a", 1_000)
    token = service.authorize(Authorize(first, BankInHand(account_of(SETTLES))), NOW)
    second = bank_payment(standalone_factory, account.id, ON, "bank-b", 1_000)
    stranger = bank_payment(standalone_factory, account.id, ON, "bank-c", 1_000)

    assert token.gateway_token is not None
    saved = service.authorize(Authorize(second, SavedBank(token.gateway_token)), NOW)
    unknown = service.authorize(Authorize(stranger, SavedBank("ba_sbx_nobody")), NOW)

    assert (saved.status, unknown.status) == (PaymentStatus.APPROVED, PaymentStatus.DECLINED)


def test_no_bank_account_number_is_kept_in_any_table(
    db: Session, settings: Settings, service: PaymentService, standalone_factory
) -> None:
    account = add_account(db, settings)
    for index, number in enumerate([SETTLES, *TEST_RETURNS]):
        payment_id = bank_payment(standalone_factory, account.id, ON, f"bank-{index}", 100)
        service.authorize(Authorize(payment_id, BankInHand(account_of(number))), NOW)
    assert leaks(database_dump(db)) == []


def test_a_sandbox_rail_debit_is_booked_once_per_key(standalone_factory) -> None:
    rail = SandboxRail(standalone_factory)
    request = DebitRequest("k", 100, account_of(SETTLES), ON, SecCode.WEB, "70000001")
    assert rail.debit(request) == rail.debit(request) == rail.find("k")
