"""Driving the real caller journey without HTTP: one flow event per committed transaction,
the way each webhook runs it."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from flows.context import Context
from flows.engine import Digits, Event, NoInput, Turn
from flows.journey import CALL_FLOW
from ivr.config import Settings
from ivr.models import CallSession
from tests.support.factories import ADA_PHONE, NOW, STRANGER

__all__ = ["ADA_PHONE", "NOW", "STRANGER"]  # the flow tests take them from here


class Call:
    """One call: its conversation row, its own database session, and what it was told last."""

    def __init__(
        self, session: Session, settings: Settings, sid: str, caller: str | None, language: str
    ) -> None:
        self.session = session
        self.settings = settings
        self.conv = CallSession(
            sid=sid,
            caller=caller,
            state="new",
            data={},
            language=language,
            turn=0,
            expires_at=NOW + dt.timedelta(minutes=settings.SESSION_TTL_MINUTES),
        )
        session.add(self.conv)
        self.greeting = self._run(lambda ctx: CALL_FLOW.start(self.conv, ctx))

    def _run(self, apply: Callable[[Context], Turn]) -> Turn:
        ctx = Context(self.session, self.settings, self.conv.caller, f"call:{self.conv.sid}", NOW)
        turn = apply(ctx)
        self.session.commit()
        return turn

    def send(self, event: Event) -> Turn:
        return self._run(lambda ctx: CALL_FLOW.handle(self.conv, ctx, event))

    def press(self, digits: str) -> Turn:
        return self.send(Digits(digits))

    def silence(self) -> Turn:
        return self.send(NoInput())

    def keys(self, *presses: str) -> Turn:
        """Answer several prompts in turn ("" is silence); the last turn."""
        turn = self.greeting
        for keys in presses:
            turn = self.press(keys) if keys else self.silence()
        return turn

    @property
    def state(self) -> str:
        return self.conv.state


Dial = Callable[..., Call]


@pytest.fixture
def dial(standalone_factory: sessionmaker[Session], settings: Settings) -> Iterator[Dial]:
    """``dial(caller=None, language="en-US")`` starts a call and answers with its greeting."""
    sessions: list[Session] = []
    sids = (f"CA{n:032d}" for n in itertools.count(1))

    def start(caller: str | None = None, language: str = "en-US") -> Call:
        sessions.append(standalone_factory())
        return Call(sessions[-1], settings, next(sids), caller, language)

    yield start
    for session in sessions:
        session.close()
