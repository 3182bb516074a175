"""``ivr disputes list`` and ``ivr disputes resolve`` for the billing team (both databases)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ivr.db import transaction
from ivr.models import AuditEvent, Dispute, DisputeStatus, OutboxMessage, utcnow
from ivr.ops.demo import demo_rows
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
    [benito] = [row for row in demo_rows(utcnow().date()) if row["account_number"] == "70000002"]
    bob = add_account(db, settings, **benito)  # es-US, with a phone and an email
    references = []
    for account, cents, scope in ((ada, 5000, Scope.AMOUNT), (bob, 8999, Scope.BALANCE),
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
    assert rows[1].split()[3:] == ["70000002", "$89.99", "balance", "open", "-"]
    assert total == "3 disputes; $149.99 held by the open ones listed."


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


def written(reference):
    return f"{reference[:3]}-{reference[3:6]}-{reference[6:]}"


def resolved(db, reference):
    db.rollback()
    return db.scalars(select(Dispute).where(Dispute.reference_number == reference)).one()


def notices(db):
    db.rollback()
    rows = db.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
    return [(row.channel, row.recipient, row.subject, row.body) for row in rows]


def test_resolve_keeps_the_note_and_names_the_operator_from_the_environment(db, env, opened):
    env = {**env, "IVR_OPERATOR": "kim"}
    result = run_ivr(
        ["disputes", "resolve", opened[0], "--outcome", "denied", "--note", "meter read twice"],
        env,
    )
    assert result.exit_code == 0, result.output
    dispute = resolved(db, opened[0])
    assert (dispute.closed_by, dispute.closed_note) == ("operator:kim", "meter read twice")
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "dispute.denied")).one()
    assert event.actor == "operator:kim"
    assert event.detail["note"] == "meter read twice"
    listed = run_ivr(["disputes", "list", "--status", "denied"], env)
    assert "by operator:kim: meter read twice" in listed.stdout


def test_by_names_the_operator_over_the_environment_and_the_login_name_is_the_default(
    db, env, opened
):
    run_ivr(["disputes", "resolve", opened[0], "--outcome", "denied", "--by", "lee"],
            {**env, "IVR_OPERATOR": "kim"})  # fmt: skip
    assert resolved(db, opened[0]).closed_by == "operator:lee"
    run_ivr(["disputes", "resolve", opened[2], "--outcome", "credited"],
            {**env, "IVR_OPERATOR": None, "LOGNAME": "pat"})  # fmt: skip
    assert resolved(db, opened[2]).closed_by == "operator:pat"
    outcomes = ["dispute.credited", "dispute.denied"]
    actors = db.scalars(select(AuditEvent.actor).where(AuditEvent.action.in_(outcomes)))
    assert sorted(actors) == ["operator:lee", "operator:pat"]


def test_an_upheld_dispute_is_told_in_spanish_to_a_spanish_account(db, env, opened):
    """Benito's account (demo 70000002) is es-US: the text and the email are in Spanish, with
    the reference number and the outcome."""
    result = run_ivr(
        ["disputes", "resolve", opened[1], "--outcome", "credited", "--by", "kim"], env
    )
    assert result.exit_code == 0, result.output
    reference = written(opened[1])
    assert notices(db) == [
        (
            "sms",
            "+15005550007",
            None,
            f"Riverside Utilities: su disputa {reference} de la cuenta que termina en 0002 fue "
            "aceptada. Se acreditarán $89.99 a su cuenta.",
        ),
        (
            "email",
            "benito@example.com",
            f"Disputa {reference} aceptada",
            "Revisamos su disputa de $89.99 de la cuenta que termina en 0002 y la aceptamos: "
            "se acreditarán $89.99 a su cuenta, y su próxima factura mostrará el crédito.\n"
            f"Número de referencia: {reference}\n\nRiverside Utilities",
        ),
    ]


def test_a_denied_dispute_is_told_in_english_to_an_english_account(db, env, opened):
    run_ivr(["disputes", "resolve", opened[0], "--outcome", "denied", "--by", "kim"], env)
    [(_, phone, _, text), (_, email, subject, _)] = notices(db)
    assert (phone, email) == ("+15005550006", "ada@example.com")
    assert text == (
        f"Riverside Utilities: your dispute {written(opened[0])} for account ending 0001 was "
        "reviewed and denied. $50.00 is part of the amount due again."
    )
    assert subject == f"Dispute {written(opened[0])} denied"


def test_a_note_that_cannot_be_kept_changes_nothing(db, env, opened):
    result = run_ivr(
        ["disputes", "resolve", opened[0], "--outcome", "credited", "--by", "kim",
         "--note", "paid with 4242 4242 4242 4242"],
        env,
    )  # fmt: skip
    assert result.exit_code == 1
    assert "a note must not hold a card number" in result.stderr
    assert resolved(db, opened[0]).status is DisputeStatus.OPEN
    assert notices(db) == []
