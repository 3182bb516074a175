"""What the commands that list ledger rows share: the same filters (account, status, since),
newest first, and fixed-width tables (a header, then one line per row, columns two spaces
apart so the output lines up in a terminal and splits cleanly for ``grep``, ``awk``, ``cut``)."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVarTuple

import click
from sqlalchemy import Select

from ivr.models import Account

Columns = TypeVarTuple("Columns")


def newest_first(
    query: Select[*Columns],
    model: Any,
    *,
    limit: int,
    account_number: str | None = None,
    status: enum.Enum | None = None,
    since: dt.datetime | None = None,
) -> Select[*Columns]:
    """``query`` (joined to ``Account``) over ``model``'s rows, newest first, filtered as the
    options ask (``since`` is a UTC date)."""
    query = query.order_by(model.created_at.desc(), model.id.desc()).limit(limit)
    if account_number:
        query = query.where(Account.number == account_number)
    if status is not None:
        query = query.where(model.status == status)
    if since is not None:
        query = query.where(model.created_at >= since.replace(tzinfo=dt.UTC))
    return query


@dataclass(frozen=True)
class Column:
    title: str
    width: int = 0  # the last column is never padded
    right: bool = False  # amounts line up on the right


def lines(columns: Sequence[Column], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """The header line, then one line per row (cells in the order of ``columns``)."""

    def line(cells: Sequence[object]) -> str:
        padded = [
            f"{cell!s:>{column.width}}" if column.right else f"{cell!s:<{column.width}}"
            for column, cell in zip(columns[:-1], cells[:-1], strict=True)
        ]
        return "  ".join([*padded, str(cells[-1])])

    yield line([column.title for column in columns])
    for row in rows:
        yield line(row)


def echo(columns: Sequence[Column], rows: Iterable[Sequence[object]]) -> None:
    for text in lines(columns, rows):
        click.echo(text)
