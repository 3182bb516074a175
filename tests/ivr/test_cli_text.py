"""``ivr text``: texting the service from a terminal, in-process or against a server."""

from __future__ import annotations

import datetime as dt
import socket

import pytest
from sqlalchemy import select

from ivr.models import TextMessage, utcnow
from tests.ivr.cli_helpers import cli_env, run_ivr


@pytest.fixture
def demo_env(database_url: str) -> dict[str, str | None]:
    env = cli_env(database_url)
    assert run_ivr(["demo"], env).exit_code == 0
    return env


def test_text_verifies_and_hears_the_balance(demo_env: dict[str, str | None]) -> None:
    result = run_ivr(["text", "hi", "1234", "94105", "1"], demo_env)
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
    assert "service: Thank you, you are verified." in result.stdout


def test_text_reads_messages_from_stdin(demo_env: dict[str, str | None]) -> None:
    result = run_ivr(["text", "--from", "+15005550007"], demo_env, stdin="hola\n5678\n10001\n")
    assert result.exit_code == 0, result.output
    assert "  service: Gracias, su identidad está verificada." in result.stdout


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
