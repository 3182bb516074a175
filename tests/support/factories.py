"""Test data, made through the same code path as an operator's CSV import."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.config import Settings
from ivr.db import transaction
from ivr.models import Account, BankAccountType, Payment, PaymentKind, PaymentStatus
from ivr.ops.importer import COLUMNS, parse_row, write_batch
from payments import bank_debits, ledger
from payments.confirmation import new_confirmation_number
from payments.ledger import number_taken
from payments.rails import BankAccount, SecCode
from verification import find_account

ADA = {
    "account_number": "70000001",
    "name": "Ada Lovelace",
    "phone": "+15005550006",
    "email": "ada@example.com",
    "service_zip": "94105",
    "ssn_last4": "",
    "pin": "1234",
    "balance": "142.50",
    "minimum_due": "35.00",
    "due_date": "2026-12-19",
    "status": "active",
    "language": "en-US",
}
ADA_PHONE = ADA["phone"]
STRANGER = "+12025550123"  # on no account
NOW = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)  # a fixed "now" for verification and flows


def account_row(**overrides: Any) -> dict[str, str]:
    row = {**ADA, **{key: str(value) for key, value in overrides.items()}}
    assert set(row) == set(COLUMNS)
    return row


def add_account(session: Session, settings: Settings, **overrides: Any) -> Account:
    """Insert (or update) an account and commit; returns it loaded from the database."""
    row = account_row(**overrides)
    write_batch(session, [parse_row(row, settings)])
    session.commit()
    account = find_account(session, row["account_number"])
    assert account is not None
    return account


def balance(session: Session, account: Account) -> int:
    """The account's balance as committed now (what other sessions wrote included)."""
    session.rollback()
    return int(session.scalar(select(Account.balance_cents).where(Account.id == account.id)))


def payments(session: Session) -> list[Payment]:
    """Every payment row as committed now, oldest first."""
    session.rollback()
    return list(session.scalars(select(Payment).order_by(Payment.id)))


def settled_payment(
    session: Session,
    account: Account,
    cents: int,
    at: dt.datetime,
    status: PaymentStatus = PaymentStatus.APPROVED,
    **columns: Any,
) -> Payment:
    """A card payment row as ``payments.ledger.settle`` leaves it, settled ``at`` (an
    approval with its confirmation number), committed. The balance is left alone: the tests
    that need one import it."""
    approved = status is PaymentStatus.APPROVED
    defaults: dict[str, Any] = {
        "channel": "voice",
        "gateway": "sandbox",
        "brand": "visa",
        "last4": "4242",
        "idempotency_key": f"test-{uuid.uuid4().hex}",
        "created_at": at - dt.timedelta(seconds=5),
    }
    payment = Payment(
        account_id=account.id,
        amount_cents=cents,
        status=status,
        confirmation_number=new_confirmation_number(number_taken(session)) if approved else None,
        updated_at=at,
        **{**defaults, **columns},
    )
    session.add(payment)
    session.commit()
    return payment


ROUTING = "110000000"  # the sandbox's test routing number (a valid ABA check digit)


def account_of(number: str) -> BankAccount:
    """A checking account at the test routing number."""
    return BankAccount(ROUTING, number, BankAccountType.CHECKING, "Ada Lovelace")


def bank_payment(
    factory: sessionmaker[Session], account_id: int, on: dt.date, key: str, cents: int
) -> int:
    """A pending bank payment by phone, to be taken ``on``, as the one payment path begins it."""
    new = ledger.NewPayment(
        account_id=account_id,
        amount_cents=cents,
        fee_cents=0,
        idempotency_key=key,
        channel="voice",
        session_sid=None,
        gateway="sandbox",
        brand="checking",
        last4="6789",
        method=PaymentKind.BANK,
    )
    debit = bank_debits.NewDebit(
        SecCode.TEL, BankAccountType.CHECKING, "6789", on, "the authorization as read"
    )
    with transaction(factory) as session:
        payment = ledger.begin(session, new, allow_overpayment=False, declines=None)
        bank_debits.record(session, payment, "sandbox", debit)
        return payment.id
