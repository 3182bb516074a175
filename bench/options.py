"""What every ``python -m bench...`` command shares: where PostgreSQL is, where results go, and
a clear stop (exit status 2) when the database cannot be reached."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from bench import database


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).parent / "out",
        help="where results, logs and plots go (default: %(default)s)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("TEST_POSTGRES_URL", database.DEFAULT_URL),
        help="PostgreSQL server to create a private schema on (default: TEST_POSTGRES_URL or "
        "%(default)s)",
    )


def ready(args: argparse.Namespace) -> bool:
    """The database answers and ``--out`` exists; otherwise stderr says what to do."""
    try:
        database.check_reachable(args.database_url)
    except database.DatabaseUnavailableError as error:
        print(error, file=sys.stderr)
        return False
    args.out.mkdir(parents=True, exist_ok=True)
    return True
