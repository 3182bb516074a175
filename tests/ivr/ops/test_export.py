"""What the billing system is handed back (ivr/ops/export.py): rows, their order, their bytes."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from ivr.config import Settings
from ivr.models import Account, PaymentStatus
from ivr.ops import export
from ivr.ops.export import ExportRow
from tests.support.factories import add_account, settled_payment

NOON = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def two_accounts(db: Session, settings: Settings) -> tuple[Account, Account]:
    return add_account(db, settings), add_account(db, settings, account_number="70000002")


def rows(
    db: Session, since: dt.datetime = NOON, until: dt.datetime | None = None
) -> list[ExportRow]:
    db.rollback()
    return list(export.export_rows(db, since, until))


def test_each_approved_payment_is_one_row_with_a_stable_id_and_a_masked_method(
    db: Session, two_accounts: tuple[Account, Account]
) -> None:
    ada, _ = two_accounts
    payment = settled_payment(db, ada, 14250, NOON, fee_cents=214, brand="amex", last4="0005")

    [row] = rows(db)

    assert row == ExportRow(
        id=f"payment:{payment.confirmation_number}",
        kind="payment",
        occurred_at=NOON,
        account_number="70000001",
        amount_cents=14250,
        fee_cents=214,
        method="amex ...0005",
        channel="voice",
        confirmation_number=payment.confirmation_number,
    )


def test_only_approved_payments_in_the_window_are_rows_ordered_by_time_then_id(
    db: Session, two_accounts: tuple[Account, Account]
) -> None:
    ada, benito = two_accounts
    later = NOON + dt.timedelta(minutes=5)
    firsts = [settled_payment(db, account, 1000, NOON) for account in (ada, benito, ada)]
    last = settled_payment(db, benito, 2000, later)
    for status in (PaymentStatus.DECLINED, PaymentStatus.FAILED, PaymentStatus.UNKNOWN):
        settled_payment(db, ada, 3000, later, status)
    settled_payment(db, ada, 4000, NOON - dt.timedelta(microseconds=1))  # before the window
    settled_payment(db, ada, 5000, NOON + dt.timedelta(hours=1))  # at --until: left out

    found = rows(db, NOON, NOON + dt.timedelta(hours=1))

    same_time = sorted(f"payment:{p.confirmation_number}" for p in firsts)
    assert [row.id for row in found] == [*same_time, f"payment:{last.confirmation_number}"]


def test_sources_are_merged_in_time_order_so_another_kind_is_one_more_function(
    db: Session, two_accounts: tuple[Account, Account]
) -> None:
    ada, _ = two_accounts
    settled_payment(db, ada, 1000, NOON)
    settled_payment(db, ada, 1000, NOON + dt.timedelta(minutes=2))

    def reconnections(
        _session: Session, since: dt.datetime, _until: dt.datetime | None
    ) -> Iterator[ExportRow]:
        at = since + dt.timedelta(minutes=1)
        yield ExportRow(
            "reconnection:1", "reconnection", at, "70000001", 5000, 0, None, "voice", None
        )

    db.rollback()
    found = export.export_rows(db, NOON, None, (*export.ROW_SOURCES, reconnections))

    assert [row.kind for row in found] == ["payment", "reconnection", "payment"]


@pytest.mark.parametrize("form", export.FORMATS)
def test_the_same_window_gives_the_same_bytes(
    form: str, db: Session, two_accounts: tuple[Account, Account]
) -> None:
    ada, benito = two_accounts
    for minutes, account in enumerate((ada, benito, ada)):
        settled_payment(db, account, 1000 + minutes, NOON + dt.timedelta(minutes=minutes))

    def written() -> str:
        out = io.StringIO()
        assert export.write(rows(db), out, form) == 3
        return out.getvalue()

    first = written()
    assert first == written()
    assert "4242424242424242" not in first and "...4242" in first


def test_csv_has_a_header_and_jsonl_one_object_per_row_with_utc_times(
    db: Session, two_accounts: tuple[Account, Account]
) -> None:
    ada, _ = two_accounts
    payment = settled_payment(db, ada, 14250, NOON.astimezone(dt.timezone(dt.timedelta(hours=-5))))
    as_csv, as_jsonl = io.StringIO(), io.StringIO()
    export.write(rows(db), as_csv, "csv")
    export.write(rows(db), as_jsonl, "jsonl")

    expected = {
        "id": f"payment:{payment.confirmation_number}",
        "kind": "payment",
        "occurred_at": "2026-12-01T12:00:00.000000Z",
        "account_number": "70000001",
        "amount_cents": "14250",
        "fee_cents": "0",
        "method": "visa ...4242",
        "channel": "voice",
        "confirmation_number": payment.confirmation_number,
    }
    assert list(csv.DictReader(io.StringIO(as_csv.getvalue()))) == [expected]
    assert as_csv.getvalue().startswith(",".join(export.COLUMNS) + "\n")
    [line] = as_jsonl.getvalue().splitlines()
    assert json.loads(line) == {**expected, "amount_cents": 14250, "fee_cents": 0}


def test_an_empty_window_is_a_header_alone_or_nothing(db: Session) -> None:
    as_csv, as_jsonl = io.StringIO(), io.StringIO()
    assert export.write(rows(db), as_csv, "csv") == 0
    assert export.write(rows(db), as_jsonl, "jsonl") == 0
    assert (as_csv.getvalue(), as_jsonl.getvalue()) == (",".join(export.COLUMNS) + "\n", "")
