"""Agents, their console sessions, and callers waiting for them, for the console tests."""

from __future__ import annotations

import html
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from ivr.adapters.telephony import LocalTelephony
from ivr.models import AgentCall, AgentCapture
from ivr.simulator.emulator import CallRecord, Simulator, flask_transport, keys_from
from tests.support.keys import VERIFY
from verification.agents import add_agent

PASSWORD = "correct horse battery"
WAIT_SECONDS = 30.0  # generous: only a broken flow ever waits this long


def make_agent(db: Session, username: str = "alice", password: str = PASSWORD) -> int:
    agent = add_agent(db, username, password)
    db.commit()
    return agent.id


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def section(page: str, section_id: str) -> str:
    """The text of the page's section ``section_id``, as the agent reads it."""
    start = page.index(f'id="{section_id}"')
    text = re.sub(
        r"<[^>]+>", "", page[page.index(">", start) + 1 : page.index("</section>", start)]
    )
    return " ".join(html.unescape(text).split())


class Desk:
    """One agent's browser session against the console, through the Flask test client."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.csrf = ""

    def login(self, username: str = "alice", password: str = PASSWORD) -> TestResponse:
        self.csrf = csrf_of(self.client.get("/agent/login").get_data(as_text=True))
        reply = self.client.post(
            "/agent/login",
            data={"username": username, "password": password, "csrf_token": self.csrf},
        )
        if reply.status_code == 302:
            self.csrf = csrf_of(self.client.get("/agent/").get_data(as_text=True))
        return reply

    def post(self, path: str, **form: str) -> TestResponse:
        return self.client.post(path, data={"csrf_token": self.csrf, **form})


def wait_for(check: Callable[[], Any], what: str) -> Any:
    """Poll ``check`` until it returns something truthy (the other side works in a thread)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"gave up waiting for {what}")


class Pause:
    """Holds the simulated caller at a prompt while the test, playing the agent, acts in the
    console: the desk and the test's database session stay in the test's thread."""

    def __init__(self) -> None:
        self.reached, self.done = threading.Event(), threading.Event()

    def hold_caller(self) -> None:
        """In the caller's thread: wait here until the agent has acted."""
        self.reached.set()
        if not self.done.wait(WAIT_SECONDS):
            raise AssertionError("gave up waiting for the agent to act")

    def agent_acts(self, act: Callable[[], object]) -> None:
        """In the test's thread: once the caller is held, ``act``, then let the caller go on."""
        if not self.reached.wait(WAIT_SECONDS):
            raise AssertionError("gave up waiting for the caller to reach the prompt")
        act()
        self.done.set()


def handoff(db: Session) -> AgentCall:
    def find() -> AgentCall | None:
        db.rollback()
        return db.scalars(select(AgentCall)).first()

    return wait_for(find, "the caller to reach the agents")  # type: ignore[no-any-return]


def in_conference(db: Session, handoff_id: int) -> AgentCall:
    """Wait until the taken call's conference is up (Twilio reported a join)."""

    def bridged() -> AgentCall | None:
        db.rollback()
        row = db.get(AgentCall, handoff_id)
        return row if row is not None and row.conference_sid else None

    return wait_for(bridged, "caller and agent to meet in the conference")  # type: ignore[no-any-return]


def capture_row(db: Session, capture_id: int | None = None) -> AgentCapture | None:
    db.rollback()
    query = select(AgentCapture).order_by(AgentCapture.id.desc())
    if capture_id is not None:
        query = query.where(AgentCapture.id == capture_id)
    return db.scalars(query).first()


class WaitingCaller:
    """A simulated caller in a thread: verifies, presses 0, waits for the agent, then answers
    the capture prompts with ``presses``; hangs up once :meth:`hang_up` is called on hold."""

    def __init__(
        self,
        app: Flask,
        presses: list[str],
        *,
        keys: Callable[[str], str | None] | None = None,
        caller: str = "+15005550006",
    ) -> None:
        self.phone = LocalTelephony(factory=app.extensions["ivr"].factory)
        self.simulator = Simulator.signing_as(
            app.extensions["ivr"].settings,
            flask_transport(app.test_client()),
            redirects=self.phone.take_redirect,
            holds=self.phone.on_hold,
            hold_poll_seconds=0.02,
            max_hold_seconds=WAIT_SECONDS,
        )
        # A scripted caller holds only while it has keys left: with none, it keeps one silence.
        self.keys = keys or keys_from([*VERIFY, "0", *(presses or [""])])
        self.caller = caller
        self.record: CallRecord | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.record = self.simulator.call(self.keys, caller=self.caller)
        except BaseException as error:  # reported by finish()
            self.error = error

    def hang_up(self) -> CallRecord:
        """Give up holding (the next hold poll hangs up) and wait for the call to end."""
        self.simulator.max_hold_seconds = 0
        return self.finish()

    def finish(self) -> CallRecord:
        self.thread.join(WAIT_SECONDS)
        assert not self.thread.is_alive(), "the simulated call did not end"
        if self.error is not None:
            raise self.error
        assert self.record is not None
        return self.record


def final(db: Session, capture_id: int | None = None) -> AgentCapture:
    """The capture (the latest, or ``capture_id``) once it has ended, however it ended."""

    def done() -> AgentCapture | None:
        row = capture_row(db, capture_id)
        final_states = {"approved", "declined", "cancelled", "hung_up", "failed"}
        return row if row is not None and row.status.value in final_states else None

    return wait_for(done, "the capture to end")  # type: ignore[no-any-return]


def take_call(desk: Desk, db: Session) -> AgentCall:
    """Take the first caller waiting once the representative's phone has picked the call up,
    as an agent would; returns the call once caller and agent meet in the conference."""
    call = handoff(db)

    def picked_up() -> str | None:
        db.rollback()
        row = db.get(AgentCall, call.id)
        return row.agent_call_sid if row else None

    wait_for(picked_up, "a pick-up")
    assert desk.post(f"/agent/calls/{call.id}/claim").status_code == 302
    return in_conference(db, call.id)
