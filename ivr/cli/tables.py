"""Fixed-width tables for the commands that list things: a header, then one line per row,
columns two spaces apart so the output lines up in a terminal and splits cleanly on
whitespace for ``grep``, ``awk`` and ``cut``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import click


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
