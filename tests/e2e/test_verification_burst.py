"""Parallel guessing through the webhooks: 50 callers (or texters), each from their own phone,
answer the last verification question for one account at the same moment. Voice and text
share one verifier, so both are held to the account's limit, and the right PIN is refused
after it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.config import Settings
from ivr.models import AuditEvent
from ivr.simulator.emulator import Simulator, flask_transport, keys_from
from tests.support.factories import add_account
from tests.support.keys import TEXT_VERIFY
from tests.support.texting import Phone

BURST = 50
PHONES = [f"+1415555{n:04d}" for n in range(BURST)]


def judged(db: Session) -> list[str]:
    db.rollback()
    query = select(AuditEvent.outcome).where(AuditEvent.action == "verification.attempt")
    return list(db.scalars(query))


def at_once(work: Callable[[int, threading.Barrier], object]) -> None:
    """``work(n, barrier)`` for every phone n in its own thread; each waits at the barrier
    just before the answer that gets judged."""
    barrier = threading.Barrier(BURST)
    with ThreadPoolExecutor(BURST) as pool:
        for future in [pool.submit(work, n, barrier) for n in range(BURST)]:
            future.result(timeout=180)


def test_a_burst_of_calls_guessing_one_account_is_judged_up_to_its_limit(
    app: Flask, db: Session, settings: Settings
) -> None:
    add_account(db, settings)

    def call(n: int, barrier: threading.Barrier) -> None:
        presses = iter(["", "70000001#", "0000#"])
        answered = False

        def keys(_prompt: str) -> str | None:
            nonlocal answered
            press = next(presses, None)
            if press is not None or answered:
                return press  # then hang up after the verdict
            answered = True
            barrier.wait(timeout=60)
            return "94105"

        simulator = Simulator.signing_as(settings, flask_transport(app.test_client()))
        simulator.call(keys, caller=PHONES[n])

    at_once(call)
    outcomes = judged(db)
    assert len(outcomes) == BURST
    assert outcomes.count("failure") + outcomes.count("locked") == settings.MAX_ACCOUNT_FAILURES
    assert outcomes.count("refused") == BURST - settings.MAX_ACCOUNT_FAILURES

    # The owner, with the right answers from the account's own phone, meets the lock.
    simulator = Simulator.signing_as(settings, flask_transport(app.test_client()))
    record = simulator.call(keys_from(["", "1"]), caller="+15005550006")
    assert any("locked for the next 30 minutes" in line for line in record.said), record.said


def test_a_burst_of_texts_guessing_one_account_is_judged_up_to_its_limit(
    app: Flask, db: Session, settings: Settings
) -> None:
    # Text verification is offered only to the phones on an account: these 50 all are.
    add_account(db, settings, phone=";".join(["+15005550006", *PHONES]))

    def texter(n: int, barrier: threading.Barrier) -> None:
        phone = Phone(app.test_client(), PHONES[n])
        assert phone.conversation("hi", "0000")[-1].startswith("Now reply with the 5-digit ZIP")
        barrier.wait(timeout=60)
        phone.send("94105")

    at_once(texter)
    outcomes = judged(db)
    assert len(outcomes) == BURST
    assert outcomes.count("failure") + outcomes.count("locked") == settings.MAX_ACCOUNT_FAILURES
    assert outcomes.count("refused") == BURST - settings.MAX_ACCOUNT_FAILURES
    replies = Phone(app.test_client()).conversation(*TEXT_VERIFY)
    assert "locked for the next 30 minutes" in replies[-1], replies
