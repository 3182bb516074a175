"""``ivr locks``: listing and lifting verification locks, audited with the operator's name."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.config import Settings
from ivr.db import transaction
from ivr.models import AuditEvent, LockoutCounter, utcnow
from tests.support.cli import cli_env, run_ivr
from tests.support.factories import add_account
from verification import Verifier, VerifierPolicy, lockout

CALLER = "+14155550123"


@pytest.fixture
def env(database_url: str) -> dict[str, str | None]:
    return cli_env(database_url)


def audited(db: Session) -> list[tuple[str, str, str | None, dict]]:
    db.rollback()
    query = select(AuditEvent).where(AuditEvent.action == "lockout.reset").order_by(AuditEvent.id)
    return [(e.actor, e.outcome, e.resource, e.detail) for e in db.scalars(query)]


def test_list_shows_the_locks_in_force_latest_first(
    env: dict[str, str | None], db: Session
) -> None:
    now = utcnow()
    db.add_all(
        [
            LockoutCounter(subject="account:70000001", failures=0,
                           locked_until=now + dt.timedelta(minutes=20)),
            LockoutCounter(subject="locks:account:70000001", failures=2, window_started_at=now),
            LockoutCounter(subject="account:70000002", failures=0, locked_until=lockout.HARD_LOCK),
            LockoutCounter(subject=f"caller:{CALLER}", failures=0,
                           locked_until=now + dt.timedelta(minutes=10)),
            LockoutCounter(subject="caller:anonymous", failures=0,
                           locked_until=now - dt.timedelta(minutes=1)),
            LockoutCounter(subject="account:70000003", failures=2),
        ]
    )  # fmt: skip
    db.commit()

    result = run_ivr(["locks", "list"], env)

    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["subject", "locked", "until", "(UTC)", "locks", "in", "24", "h"]
    cells = [row.split("  ") for row in rows]
    assert [(c[0].strip(), c[-1].strip()) for c in cells] == [
        ("account:70000002", "-"),
        ("account:70000001", "2"),
        (f"caller:{CALLER}", "-"),
    ]
    assert "until cleared" in rows[0]
    ends = now + dt.timedelta(minutes=20)
    assert ends.strftime("%Y-%m-%d %H:%M") in rows[1]


def test_list_says_when_there_are_none(env: dict[str, str | None]) -> None:
    result = run_ivr(["locks", "list"], env)
    assert (result.exit_code, result.stdout) == (0, "No locks in force.\n")


def test_a_locked_caller_id_is_cleared_by_name_and_can_verify_again(
    env: dict[str, str | None], db: Session, settings: Settings, standalone_factory
) -> None:
    """Five failures from one phone lock it for every account; the operator lifts that lock."""
    add_account(db, settings, phone=CALLER)

    def verify(number: str, pin: str) -> bool:
        with transaction(standalone_factory) as session:
            verifier = Verifier(
                session, VerifierPolicy.from_settings(settings), caller=CALLER,
                origin="call:CA1", now=utcnow(),
            )  # fmt: skip
            ok = verifier.pin_matches(number, pin)
            return verifier.conclude(number, pin_ok=ok, detail="94105").verified

    for guess in range(settings.MAX_CALLER_FAILURES):
        assert not verify(f"8{guess:07d}", "0000")
    assert not verify("70000001", "1234")

    result = run_ivr(["locks", "clear", "caller:(415) 555-0123", "--by", "ann"], env)

    assert (result.exit_code, result.stdout) == (
        0,
        f"Cleared caller:{CALLER}: it can verify by phone and text again.\n",
    )
    assert audited(db) == [("operator:ann", "success", f"caller:{CALLER}", {"found": True})]
    assert verify("70000001", "1234")


@pytest.mark.parametrize(
    ("args", "extra_env", "actor"),
    [
        (["--by", "ann"], {}, "operator:ann"),
        ([], {"IVR_OPERATOR": "bo"}, "operator:bo"),
        ([], {"IVR_OPERATOR": None, "LOGNAME": "cy"}, "operator:cy"),
    ],
    ids=["--by", "IVR_OPERATOR", "login-name"],
)
def test_the_withheld_pool_is_cleared_and_the_operator_named(
    env: dict[str, str | None], db: Session, args, extra_env, actor
) -> None:
    db.add(LockoutCounter(subject="caller:anonymous", failures=0, locked_until=lockout.HARD_LOCK))
    db.commit()
    result = run_ivr(["locks", "clear", "caller:anonymous", *args], {**env, **extra_env})
    assert result.exit_code == 0, result.output
    assert audited(db) == [(actor, "success", "caller:anonymous", {"found": True})]
    assert db.scalars(select(LockoutCounter)).all() == []


def test_clearing_an_account_forgets_its_escalation_too(
    env: dict[str, str | None], db: Session
) -> None:
    db.add_all(
        [
            LockoutCounter(subject="account:70000001", failures=0, locked_until=lockout.HARD_LOCK),
            LockoutCounter(subject="locks:account:70000001", failures=3),
            LockoutCounter(subject="account:70000002", failures=0, locked_until=lockout.HARD_LOCK),
        ]
    )
    db.commit()
    assert run_ivr(["locks", "clear", "account:70000001", "--by", "ann"], env).exit_code == 0
    db.rollback()
    assert db.scalars(select(LockoutCounter.subject)).all() == ["account:70000002"]


def test_clearing_nothing_says_so_and_is_still_audited(
    env: dict[str, str | None], db: Session
) -> None:
    result = run_ivr(["locks", "clear", "account:70000001", "--by", "ann"], env)
    assert result.exit_code == 1
    assert result.stderr == "Nothing to clear on account:70000001: see `ivr locks list`.\n"
    assert audited(db) == [("operator:ann", "success", "account:70000001", {"found": False})]


@pytest.mark.parametrize(
    "subject",
    ["70000001", "account:", "account:7000x", "caller:12", "locks:account:70000001", "x:y"],
)
def test_a_malformed_subject_is_refused_with_the_forms_that_work(
    env: dict[str, str | None], db: Session, subject: str
) -> None:
    result = run_ivr(["locks", "clear", subject, "--by", "ann"], env)
    assert result.exit_code == 2
    assert "account:NUMBER, caller:PHONE or caller:anonymous" in result.stderr
    assert audited(db) == []


@pytest.mark.parametrize("name", ["", " ", "a\nb", "x" * 65])
def test_an_operator_must_be_named(env: dict[str, str | None], db: Session, name: str) -> None:
    result = run_ivr(["locks", "clear", "caller:anonymous", "--by", name], env)
    assert result.exit_code == 2
    assert "--by NAME or IVR_OPERATOR=NAME" in result.stderr
    assert audited(db) == []
