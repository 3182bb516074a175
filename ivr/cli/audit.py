"""``ivr audit export``: the append-only audit log, for auditors and SIEMs."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from typing import Any

import click
from sqlalchemy import select

from ivr.cli.common import Runtime, pass_runtime
from ivr.models import AuditEvent

FIELDS = ("id", "at", "actor", "action", "resource", "origin", "outcome", "detail")
DAY = click.DateTime(formats=["%Y-%m-%d"])


@click.group()
def audit() -> None:
    """Read the audit log (entries can be added, never changed or deleted)."""


@audit.command()
@click.option("--since", type=DAY, help="Entries on or after this UTC date (YYYY-MM-DD).")
@click.option("--until", type=DAY, help="Entries before this UTC date (YYYY-MM-DD).")
@click.option("--action", "prefix", help="Only actions starting with this, e.g. payment. or agent.")
@click.option(
    "--format",
    "form",
    type=click.Choice(["jsonl", "csv"]),
    default="jsonl",
    show_default=True,
    help="One JSON object per line, or CSV with a header.",
)
@pass_runtime
def export(
    runtime: Runtime, since: dt.datetime | None, until: dt.datetime | None, prefix: str | None,
    form: str,
) -> None:  # fmt: skip
    """Write audit entries, oldest first, to standard output.

    \b
    Each entry: id, at (UTC, ISO 8601), actor (caller:+1..., agent:NAME, system, reconcile),
    action (call.transfer, verification.attempt, payment.approved, ...), resource
    (account:..., payment:...), origin (call:CA..., sms:..., agent:...), outcome, and detail
    (a JSON object). No entry holds a card number, security code or PIN.

    \b
    Examples:
      ivr audit export --since 2026-11-01 > november.jsonl
      ivr audit export --action payment. --format csv > payments-audit.csv
    """
    query = select(AuditEvent).order_by(AuditEvent.id)
    if since:
        query = query.where(AuditEvent.at >= since.replace(tzinfo=dt.UTC))
    if until:
        query = query.where(AuditEvent.at < until.replace(tzinfo=dt.UTC))
    if prefix:
        query = query.where(AuditEvent.action.startswith(prefix, autoescape=True))
    out = sys.stdout
    writer = csv.DictWriter(out, FIELDS, lineterminator="\n") if form == "csv" else None
    if writer:
        writer.writeheader()
    with runtime.transaction() as session:
        for event in session.scalars(query.execution_options(yield_per=1000)):
            row = _row(event)
            if writer:
                writer.writerow({**row, "detail": json.dumps(row["detail"], sort_keys=True)})
            else:
                out.write(json.dumps(row, sort_keys=True) + "\n")


def _row(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "resource": event.resource,
        "origin": event.origin,
        "outcome": event.outcome,
        "detail": event.detail,
    }
