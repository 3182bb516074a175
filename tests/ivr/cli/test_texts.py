"""``ivr text`` (texting the service from a terminal) and ``ivr cards`` (saved cards)."""

from __future__ import annotations

import datetime as dt
import re
import socket

import pytest
from sqlalchemy import select

from ivr.models import AuditEvent, PaymentMethod, TextMessage, utcnow
from tests.support.cli import cli_env, run_ivr
from tests.support.keys import TEXT_VERIFY
from verification import find_account


@pytest.fixture
def demo_env(database_url: str) -> dict[str, str | None]:
    env = cli_env(database_url)
    assert run_ivr(["demo"], env).exit_code == 0
    return env


def test_text_verifies_and_hears_the_balance(demo_env: dict[str, str | None]) -> None:
    result = run_ivr(["text", *TEXT_VERIFY, "1"], demo_env)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "  you: hi"
    assert lines[1] == "  service: Riverside Utilities: account ending 0001. Reply with your PIN."
    assert lines[-1].startswith("  service: Your balance is $142.50, due on ")


def test_the_conversation_continues_from_one_command_to_the_next(
    demo_env: dict[str, str | None],
) -> None:
    assert run_ivr(["text", "hi", "1234"], demo_env).exit_code == 0
    result = run_ivr(["text", "94105"], demo_env)
    assert "service: Thank you." in result.stdout


def test_text_reads_messages_from_stdin(demo_env: dict[str, str | None]) -> None:
    result = run_ivr(["text", "--from", "+15005550007"], demo_env, stdin="hola\n5678\n10001\n")
    assert result.exit_code == 0, result.output
    assert "  service: Gracias." in result.stdout


def test_text_to_a_server_that_is_not_running_says_so(demo_env: dict[str, str | None]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_ivr(["text", "--url", f"http://127.0.0.1:{port}", "hi"], demo_env)
    assert result.exit_code == 1
    assert f"Error: Cannot reach http://127.0.0.1:{port}" in result.stderr


def test_sessions_purge_also_forgets_old_text_replies(demo_env: dict[str, str | None], db) -> None:
    now = utcnow()
    for sid, hours in [("SMold", -48), ("SMrecent", -2)]:
        db.add(
            TextMessage(
                message_sid=sid,
                phone="+15005550006",
                reply="r",
                received_at=now + dt.timedelta(hours=hours),
            )
        )
    db.commit()
    assert run_ivr(["sessions", "purge"], demo_env).exit_code == 0
    db.rollback()
    assert db.scalars(select(TextMessage.message_sid)).all() == ["SMrecent"]


def test_cards_are_listed_masked_and_removed_for_good(demo_env, db) -> None:
    add_payment_method(db)
    listed = run_ivr(["cards", "list", "70000001"], demo_env)
    assert listed.exit_code == 0, listed.output
    assert re.search(r"^1 +visa \.\.\.4242 +12/2030 +\S+ \S+Z web +active$", listed.stdout, re.M)
    assert "tok_saved" not in listed.stdout

    removed = run_ivr(["cards", "remove", "70000001", "1"], demo_env)
    assert (removed.exit_code, removed.stdout) == (
        0,
        "Removed visa ...4242 from account 70000001.\n",
    )
    assert "removed " in run_ivr(["cards", "list", "70000001"], demo_env).stdout
    db.rollback()
    assert db.scalars(select(AuditEvent.action).where(AuditEvent.actor == "operator")).all() == [
        "payment_method.removed"
    ]
    # Gone from the text channel: paying by text now sends a link.
    assert "Pay $142.50 securely here" in run_ivr(["text", *TEXT_VERIFY, "2", "1"], demo_env).stdout


def test_cards_for_an_unknown_account_or_card_say_what_to_do(demo_env) -> None:
    unknown = run_ivr(["cards", "list", "99999999"], demo_env)
    assert unknown.exit_code == 1
    assert "No account 99999999. Check the number, or import it first." in unknown.stderr
    missing = run_ivr(["cards", "remove", "70000001", "42"], demo_env)
    assert missing.exit_code == 1
    assert "see `ivr cards list 70000001`" in missing.stderr


def add_payment_method(db) -> None:
    account = find_account(db, "70000001")
    db.add(
        PaymentMethod(
            account_id=account.id,
            gateway="sandbox",
            gateway_token="tok_saved",
            brand="visa",
            last4="4242",
            exp_month=12,
            exp_year=2030,
            consent_at=utcnow(),
            consent_channel="web",
        )
    )
    db.commit()
