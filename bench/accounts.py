"""Synthetic accounts for the load: one caller ID each, so every simulated caller is
identified by caller ID exactly like the demo's first account, and each journey pays its own
account in full (a balance can only be paid off once)."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ivr.channels.services import Services, checked_settings
from ivr.db import transaction
from ivr.ops.importer import COLUMNS, import_accounts

FIRST_NUMBER = 80_000_000
PIN = "1234"
ZIP = "94105"
CARD = "4242424242424242"
# Answers for a verified caller paying in full by Visa: greeting (silence), "yes, that's my
# account", PIN, ZIP, "to pay it now, press 1", card number, expiry, code, billing ZIP, confirm,
# then silence after hearing the confirmation number.
JOURNEY = ("", "1", f"{PIN}#", ZIP, "1", f"{CARD}#", "1230", "123", ZIP, "1", "")
MAX_ACCOUNTS = 8_000_000  # distinct valid caller IDs in the 212 area code


def phone_for(index: int) -> str:
    """A valid, distinct US number for account ``index`` (212-200-0000 upwards)."""
    if not 0 <= index < MAX_ACCOUNTS:
        raise ValueError(f"account index {index} is outside 0..{MAX_ACCOUNTS - 1}")
    return f"+1212{200 + index // 10_000:03d}{index % 10_000:04d}"


def write_csv(path: Path, start: int, count: int) -> Path:
    """Write accounts ``start`` to ``start + count - 1`` as an ``ivr accounts import`` file."""
    due = (dt.date.today() + dt.timedelta(days=14)).isoformat()
    with path.open("w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for index in range(start, start + count):
            writer.writerow(
                (FIRST_NUMBER + index, f"Caller {index}", phone_for(index),
                 f"caller{index}@example.com", ZIP, "", PIN, "142.50", "35.00", due,
                 "active", "en-US")
            )  # fmt: skip
    return path


def load(overrides: Mapping[str, Any], csv_path: Path, start: int, count: int) -> None:
    """Import accounts through the app's own importer (the path operators use)."""
    services = Services.build(checked_settings(overrides=overrides))
    try:
        with write_csv(csv_path, start, count).open("rb") as stream:
            report = import_accounts(
                lambda: transaction(services.factory), stream, services.settings
            )
    finally:
        services.close()
        csv_path.unlink(missing_ok=True)
    if report.errors or report.imported != count:
        raise RuntimeError(f"loaded {report.imported} of {count} accounts: {report.errors[:3]}")
