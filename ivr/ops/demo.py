"""Demo accounts for trying the service locally (``ivr demo``).

They go through the same import path as an operator's CSV, so the demo exercises it too.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from ivr.ops.importer import COLUMNS

DEMO_PHONE = "+15005550006"

# (number, name, phone, email, zip, ssn4, pin, balance, minimum, due in days, status, language)
_ACCOUNTS = [
    ("70000001", "Ada Lovelace", DEMO_PHONE, "ada@example.com", "94105", "", "1234",
     "142.50", "35.00", 14, "active", "en-US"),
    ("70000002", "Benito Juárez", "+15005550007", "benito@example.com", "10001", "", "5678",
     "89.99", "89.99", 7, "active", "es-US"),
    ("70000003", "Grace Hopper", "", "grace@example.com", "", "6789", "2468",
     "0.00", "0.00", 30, "active", "en-US"),
    ("70000004", "Alan Turing", "+15005550009", "", "60601", "", "1357",
     "310.25", "120.00", -5, "past_due", "en-US"),
    ("70000005", "Katherine Johnson", "+15005550010", "", "23666", "", "8642",
     "58.10", "20.00", 10, "active", "en-US"),
    ("70000006", "Dorothy Vaughan", "+15005550010", "", "23666", "", "9753",
     "12.00", "12.00", 3, "active", "en-US"),
]  # fmt: skip


def demo_rows(today: dt.date) -> list[dict[str, str]]:
    """The demo accounts as import rows, due dates relative to ``today``."""
    rows = []
    for values in _ACCOUNTS:
        row = dict(zip(COLUMNS, (str(v) for v in values), strict=True))
        row["due_date"] = (today + dt.timedelta(days=int(row["due_date"]))).isoformat()
        rows.append(row)
    return rows


def demo_csv(today: dt.date) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(demo_rows(today))
    return out.getvalue()
