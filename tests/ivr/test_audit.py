"""The audit log: every entry says who, what, when, outcome, origin and resource; the database
refuses to change or delete one; ``ivr audit export`` hands it to auditors."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ivr.config import Settings
from ivr.models import AuditEvent
from ivr.simulator.emulator import keys_from
from tests.conftest import simulator_for
from tests.support.cli import cli_env, run_ivr
from tests.support.factories import add_account
from tests.support.keys import paying

PAY = paying()


@pytest.fixture
def paid(app, db: Session, settings: Settings) -> list[AuditEvent]:
    add_account(db, settings)
    simulator_for(app).call(keys_from(PAY), caller="+15005550006")
    db.rollback()
    return list(db.query(AuditEvent).order_by(AuditEvent.id))


def test_a_paid_call_leaves_complete_entries(paid: list[AuditEvent]) -> None:
    actions = [event.action for event in paid]
    assert actions == ["verification.attempt", "payment.started", "payment.approved", "call.ended"]
    for event in paid:
        assert event.at and event.actor and event.outcome and event.resource and event.origin
    assert {event.origin for event in paid[1:3]} == {f"voice:{paid[0].origin[5:]}"}


@pytest.mark.parametrize(
    "statement",
    [
        update(AuditEvent).values(outcome="success"),
        delete(AuditEvent),
    ],
    ids=["update", "delete"],
)
def test_the_database_refuses_to_change_history(
    paid: list[AuditEvent], db: Session, statement
) -> None:
    with pytest.raises(DBAPIError, match="append-only"):
        db.execute(statement)
    db.rollback()
    assert db.query(AuditEvent).count() == len(paid)


def test_changes_through_the_orm_are_refused_too(paid: list[AuditEvent], db: Session) -> None:
    paid[0].outcome = "success-after-all"
    with pytest.raises(DBAPIError, match="append-only"):
        db.commit()
    db.rollback()


@pytest.mark.postgres_only
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_truncate_is_refused_on_postgresql(paid: list[AuditEvent], db: Session) -> None:
    with pytest.raises(DBAPIError, match="append-only"):
        db.execute(text("TRUNCATE audit_events"))
    db.rollback()


def test_export_as_json_lines_and_csv(paid: list[AuditEvent], database_url: str) -> None:
    env = cli_env(database_url)
    lines = run_ivr(["audit", "export"], env).stdout.splitlines()
    exported = [json.loads(line) for line in lines]
    assert [entry["action"] for entry in exported] == [event.action for event in paid]
    assert set(exported[0]) == {
        "id", "at", "actor", "action", "resource", "origin", "outcome", "detail",
    }  # fmt: skip

    payments = run_ivr(["audit", "export", "--action", "payment.", "--format", "csv"], env)
    rows = list(csv.DictReader(io.StringIO(payments.stdout)))
    assert [row["action"] for row in rows] == ["payment.started", "payment.approved"]
    assert json.loads(rows[1]["detail"])["amount_cents"] == 14250
    assert "4242424242424242" not in "".join(lines) + payments.stdout
