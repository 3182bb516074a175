"""``ivr disputes list`` and ``ivr disputes resolve`` for the billing team (both databases)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ivr.db import transaction
from ivr.models import AuditEvent, DisputeStatus, utcnow
from payments import disputes
from payments.disputes import Scope
from tests.support.cli import cli_env, run_ivr
from tests.support.factories import add_account


@pytest.fixture
def env(database_url):
    return cli_env(database_url, LOG_LEVEL="WARNING")


@pytest.fixture
def opened(db, settings, standalone_factory):
    """Two accounts, three disputes; returns their reference numbers, oldest first."""
    ada = add_account(db, settings)
    bob = add_account(db, settings, account_number="70000002", phone="+15005550007")
    references = []
    for account, cents, scope in ((ada, 5000, Scope.AMOUNT), (bob, 14250, Scope.BALANCE),
                                  (ada, 1000, Scope.AMOUNT)):  # fmt: skip
        with transaction(standalone_factory) as session:
            made = disputes.open_dispute(
                session, account.id, cents, scope, channel="voice", session_sid=None,
                actor="caller", now=utcnow(),
            )  # fmt: skip
            references.append(made.reference_number)
    return references


def test_list_shows_every_dispute_newest_first_with_what_is_held(env, opened):
    result = run_ivr(["disputes", "list"], env)
    assert result.exit_code == 0, result.output
    header, *rows, total = result.stdout.splitlines()
    assert header.split() == [
        "reference", "opened", "(UTC)", "account", "amount", "disputed", "status", "resolved"
    ]  # fmt: skip
    assert [row.split()[0] for row in rows] == opened[::-1]
    assert rows[1].split()[3:] == ["70000002", "$142.50", "balance", "open", "-"]
    assert total == "3 disputes; $202.50 held by the open ones listed."


def test_list_filters_by_account_and_status(env, opened):
    ada = run_ivr(["disputes", "list", "--account", "70000001"], env)
    assert [row.split()[0] for row in ada.stdout.splitlines()[1:-1]] == [opened[2], opened[0]]
    run_ivr(["disputes", "resolve", opened[1], "--outcome", "denied"], env)
    still_open = run_ivr(["disputes", "list", "--status", "open"], env)
    assert opened[1] not in still_open.stdout
    assert still_open.stdout.endswith("2 disputes; $60.00 held by the open ones listed.\n")
    nothing = run_ivr(["disputes", "list", "--account", "99999999"], env)
    assert nothing.stdout == "No disputes match.\n"


def test_resolve_ends_the_hold_once_and_is_audited(db, env, opened):
    written = f"{opened[0][:3]}-{opened[0][3:6]}-{opened[0][6:]}"
    result = run_ivr(["disputes", "resolve", written, "--outcome", "credited", "--by", "kim"], env)
    assert (result.exit_code, result.stdout) == (0, f"Dispute {opened[0]}: $50.00 credited.\n")
    db.rollback()
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "dispute.credited")).one()
    assert event.actor == "operator:kim"

    again = run_ivr(["disputes", "resolve", opened[0], "--outcome", "denied"], env)
    assert again.exit_code == 1
    assert f"dispute {opened[0]} was already resolved as credited" in again.stderr
    assert "ivr disputes list --status open" in again.stderr
    listed = run_ivr(["disputes", "list", "--status", DisputeStatus.CREDITED.value], env)
    assert "by operator:kim" in listed.stdout


def test_resolve_needs_an_outcome(env, opened):
    result = run_ivr(["disputes", "resolve", opened[0]], env)
    assert result.exit_code == 2
    assert "--outcome" in result.stderr
