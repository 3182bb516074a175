"""Handing the IVR's money back to the billing system: ``ivr payments export``.

The export is a list of row sources, each a small query for one kind of row (settled
payments and reconnection requests today; reversals, once the ledger has them, are one more
function in ``ROW_SOURCES``). Every source yields its rows in ``(occurred_at, id)`` order, and
the sources are merged in that order, so the same window always gives the same rows in the
same order: the billing system may post a row twice, and skips it by its stable ``id``.

A payment's time is when it was approved, not when it was started: a payment settled late by
``ivr reconcile`` then lands in the window that follows its approval instead of none. The
importer subtracts the same payments (:func:`owed_since`) from a balance the billing system
wrote before it posted them.
"""

from __future__ import annotations

import csv
import datetime as dt
import heapq
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import IO, Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ivr.models import Account, Payment, PaymentStatus, ReconnectionRequest

FORMATS = ("csv", "jsonl")


@dataclass(frozen=True)
class ExportRow:
    """One thing for the billing system to post, in the columns the export writes.

    ``id`` is stable across runs (``payment:<confirmation number>``); ``kind`` says what the
    row is; amounts are integer cents; ``method`` is masked to brand and last four.
    """

    id: str
    kind: str
    occurred_at: dt.datetime
    account_number: str
    amount_cents: int
    fee_cents: int
    method: str | None
    channel: str
    confirmation_number: str | None


COLUMNS = tuple(ExportRow.__dataclass_fields__)

RowSource = Callable[[Session, dt.datetime, dt.datetime | None], Iterable[ExportRow]]
"""Rows that occurred at or after ``since`` and before ``until`` (``None``: up to now),
in ``(occurred_at, id)`` order."""


# When an approved payment was approved: ``payments.ledger.settle`` writes its row for the
# last time, so the row's ``updated_at`` says when.
approved_at = Payment.updated_at


def masked_method(brand: str | None, last4: str | None) -> str | None:
    """A payment method as operators and the billing system may see it: brand and last four."""
    return f"{brand or 'card'} ...{last4}" if last4 else None


def _approved_between(since: dt.datetime, until: dt.datetime | None) -> Select[Payment, str]:
    query = (
        select(Payment, Account.number)
        .join(Account)
        .where(Payment.status == PaymentStatus.APPROVED, approved_at >= since)
    )
    return query if until is None else query.where(approved_at < until)


def _row(
    kind: str, name: str, payment: Payment, number: str, at: dt.datetime, **cents: int
) -> ExportRow:
    """A row about ``payment``; its id is ``name`` and the payment's confirmation number."""
    return ExportRow(
        id=f"{name}:{payment.confirmation_number}",
        kind=kind,
        occurred_at=at,
        account_number=number,
        amount_cents=cents.get("amount_cents", payment.amount_cents),
        fee_cents=cents.get("fee_cents", payment.fee_cents),
        method=masked_method(payment.brand, payment.last4),
        channel=payment.channel,
        confirmation_number=payment.confirmation_number,
    )


def settled_payments(
    session: Session, since: dt.datetime, until: dt.datetime | None
) -> Iterator[ExportRow]:
    """Approved payments (still approved: a reversal will be rows of its own kind)."""
    query = _approved_between(since, until).order_by(approved_at, Payment.confirmation_number)
    for payment, number in session.execute(query.execution_options(yield_per=1000)):
        yield _row("payment", "payment", payment, number, payment.updated_at)


def reconnection_requests(
    session: Session, since: dt.datetime, until: dt.datetime | None
) -> Iterator[ExportRow]:
    """Service to restore: the account paid what reconnecting costs (the amount is the whole
    payment, the fee included). The payment itself is a row of its own."""
    query = (
        select(ReconnectionRequest, Payment, Account.number)
        .join(Payment, ReconnectionRequest.payment_id == Payment.id)
        .join(Account, ReconnectionRequest.account_id == Account.id)
        .where(ReconnectionRequest.created_at >= since)
    )
    if until is not None:
        query = query.where(ReconnectionRequest.created_at < until)
    query = query.order_by(ReconnectionRequest.created_at, Payment.confirmation_number)
    for request, payment, number in session.execute(query.execution_options(yield_per=1000)):
        yield _row(
            "reconnection_request",
            "reconnection",
            payment,
            number,
            request.created_at,
            amount_cents=request.amount_cents,
            fee_cents=request.fee_cents,
        )


ROW_SOURCES: tuple[RowSource, ...] = (settled_payments, reconnection_requests)


def export_rows(
    session: Session,
    since: dt.datetime,
    until: dt.datetime | None = None,
    sources: Iterable[RowSource] = ROW_SOURCES,
) -> Iterator[ExportRow]:
    """Every source's rows in the window, merged in ``(occurred_at, id)`` order."""
    streams = [source(session, since, until) for source in sources]
    return heapq.merge(*streams, key=lambda row: (row.occurred_at, row.id))


def owed_since(session: Session, as_of: dt.datetime, account_ids: Iterable[int]) -> list[Any]:
    """``(account_id, approved_at, amount_cents)`` of the accounts' payments approved at or
    after ``as_of``: what a balance true at ``as_of`` cannot yet show."""
    query = (
        _approved_between(as_of, None)
        .with_only_columns(Payment.account_id, approved_at, Payment.amount_cents)
        .where(Payment.account_id.in_(list(account_ids)))
    )
    return list(session.execute(query).all())


def utc_text(moment: dt.datetime) -> str:
    """ISO 8601 in UTC, always to the microsecond, so equal instants are equal bytes."""
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _cells(row: ExportRow) -> dict[str, Any]:
    return {**asdict(row), "occurred_at": utc_text(row.occurred_at)}


def write(rows: Iterable[ExportRow], out: IO[str], form: str) -> int:
    """Write ``rows`` as CSV (with a header) or JSON Lines; returns how many were written."""
    count = 0
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n") if form == "csv" else None
    if writer is not None:
        writer.writeheader()
    for row in rows:
        cells = _cells(row)
        if writer is not None:
            writer.writerow(cells)
        else:
            out.write(json.dumps(cells) + "\n")
        count += 1
    return count
