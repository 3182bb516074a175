"""Driving the real caller journey without HTTP: one flow event per committed transaction,
the way each webhook runs it, with a fake payment service at the payments boundary."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from flows.context import Context
from flows.engine import Authorized, Digits, Event, NoInput, Turn
from flows.journey import CALL_FLOW
from ivr.config import Settings
from ivr.db import transaction
from ivr.models import Conversation, Payment
from payments import ledger
from payments.capture import CardVault, KeyRing
from payments.gateways import ChargeResult, ChargeStatus
from payments.service import Authorize, PaidElsewhere
from tests.support.factories import ADA_PHONE, NOW, STRANGER

__all__ = ["ADA_PHONE", "NOW", "STRANGER"]  # the flow tests take them from here


APPROVED = ChargeResult(ChargeStatus.APPROVED, "ch_fake", "tok_fake")


class FakePayments:
    """The payment service as flows and channels use it: a capture vault, and ``authorize``,
    which records each order and settles it in the ledger with the next scripted answer (a
    ``<Pay>`` order with the answer it carries; ``None``: the gateway never answered) instead
    of asking a gateway."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings) -> None:
        self.factory = factory
        self.keys = KeyRing(settings.CAPTURE_KEY)
        self.ttl = dt.timedelta(minutes=settings.CAPTURE_TTL_MINUTES)
        self.answers: list[ChargeResult | None] = []
        self.orders: list[Authorize] = []

    def vault(self, session: Session, now: dt.datetime) -> CardVault:
        return CardVault(session, self.keys, self.ttl, now)

    def authorize(self, order: Authorize, now: dt.datetime) -> Payment:
        self.orders.append(order)
        paid = order.source
        answer = paid.answer if isinstance(paid, PaidElsewhere) else self.answers.pop(0)
        with transaction(self.factory) as session:
            if answer is None:
                return ledger.mark_unknown(session, order.payment_id)
            return ledger.settle(session, order.payment_id, answer)


class Call:
    """One call: its conversation row, its own database session, and what it was told last.
    A turn that moves money goes to ``payments`` between two transactions, as the voice
    channel does it."""

    def __init__(
        self,
        session: Session,
        settings: Settings,
        sid: str,
        caller: str | None,
        language: str,
        payments: FakePayments | None = None,
    ) -> None:
        self.session = session
        self.settings = settings
        self.payments = payments
        self.conv = Conversation(
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
        ctx = Context(
            self.session,
            self.settings,
            self.conv.caller,
            f"call:{self.conv.sid}",
            NOW,
            self.payments,  # type: ignore[arg-type]  # the fake stands in for PaymentService
        )
        turn = apply(ctx)
        self.session.commit()
        return turn

    def send(self, event: Event) -> Turn:
        turn = self._run(lambda ctx: CALL_FLOW.handle(self.conv, ctx, event))
        if turn.authorize is None:
            return turn
        assert self.payments is not None, "a turn moved money on a call without payments"
        settled = Authorized(self.payments.authorize(turn.authorize, NOW))
        return self._run(lambda ctx: CALL_FLOW.handle(self.conv, ctx, settled))

    def moved(self, move: Callable[[Context], Turn | None]) -> Turn | None:
        """Apply a move from outside the caller's keys (the console's redirect)."""
        turns: list[Turn | None] = []
        self._run(lambda ctx: turns.append(move(ctx)) or Turn(()))
        return turns[0]

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

    def start(
        caller: str | None = None, language: str = "en-US", payments: FakePayments | None = None
    ) -> Call:
        sessions.append(standalone_factory())
        return Call(sessions[-1], settings, next(sids), caller, language, payments)

    yield start
    for session in sessions:
        session.close()


@pytest.fixture
def fake_payments(standalone_factory: sessionmaker[Session], settings: Settings) -> FakePayments:
    return FakePayments(standalone_factory, settings)
