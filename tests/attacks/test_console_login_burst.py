"""Password guessing at the agent console: a burst of wrong passwords for one agent and for a
username that does not exist, at once. The throttle holds for the agent, the right password
is refused once it has, and the two usernames get the very same answers."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from bench.server import Server
from ivr.config import Settings
from ivr.models import AuditEvent
from tests.attacks.attacker import Ceilings, Gate, burst, per_hour
from tests.support.agent_desk import PASSWORD, csrf_of, make_agent

pytestmark = pytest.mark.attack

GUESSES = 12  # per username: both bursts together stay under any per-address limit of 30
KNOWN, UNKNOWN = "victor.attack", "nobody.attack"
WRONG_PASSWORD = "Tr0ub4dor&3-guess"
ALERT = re.compile(r'role="alert">([^<]*)<')
Answer = tuple[int, tuple[str, ...]]  # a log-in's HTTP status and the messages it shows


def log_in(server: Server, username: str, password: str, gate: Gate) -> Answer:
    """Open the log-in page in a browser of its own, wait at ``gate``, sign in; the answer's
    status and its messages."""
    url = f"{server.url}/agent/login"
    with requests.Session() as browser:
        page = browser.get(url, timeout=30)
        form = {"csrf_token": csrf_of(page.text), "username": username, "password": password}
        gate()
        answer = browser.post(url, data=form, allow_redirects=False, timeout=30)
    return answer.status_code, tuple(ALERT.findall(answer.text))


def logins(db: Session, actor: str) -> Counter[str]:
    db.rollback()
    query = select(AuditEvent.outcome).where(
        AuditEvent.action == "agent.login", AuditEvent.actor == actor
    )
    return Counter(db.scalars(query))


def test_a_password_burst_is_throttled_alike_for_known_and_unknown_usernames(
    db: Session, settings: Settings, server: Server, ceilings: Ceilings
) -> None:
    make_agent(db, KNOWN)
    limit = settings.AGENT_MAX_FAILED_LOGINS

    def guess(username: str) -> Callable[[Gate], Answer]:
        return lambda gate: log_in(server, username, WRONG_PASSWORD, gate)

    [answers] = burst([guess(KNOWN)] * GUESSES + [guess(UNKNOWN)] * GUESSES)
    known, unknown = sorted(answers[:GUESSES]), sorted(answers[GUESSES:])
    wrong = [answer for answer in known if "Wrong username or password." in answer[1]]
    judged = logins(db, f"agent:{KNOWN}")
    per_window = judged["bad_credentials"] + min(judged["locked"], 1)
    ceilings.report(
        "agent console log-in",
        f"{per_window} passwords judged per burst (AGENT_MAX_FAILED_LOGINS={limit}), "
        f"AGENT_LOCKOUT_MINUTES={settings.AGENT_LOCKOUT_MINUTES}: at most "
        f"{per_hour(per_window, settings.AGENT_LOCKOUT_MINUTES)} guesses an hour per username",
    )
    assert len(wrong) <= limit and judged["bad_credentials"] <= limit, (
        f"{len(wrong)} wrong-password answers and {dict(judged)} audited for {GUESSES} "
        f"simultaneous guesses, limit {limit}"
    )
    assert known == unknown, (
        f"a known username answered {Counter(known)}, an unknown one {Counter(unknown)}"
    )

    right = log_in(server, KNOWN, PASSWORD, lambda: None)
    assert right in known, f"once throttled, the right password got {right}, unlike a wrong one"
