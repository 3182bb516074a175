"""One paying journey inside this process, to count SQL statements per webhook (a SQLAlchemy
``before_cursor_execute`` listener on the app's engine) and to time what the caller hears and
keys from answer to confirmation number."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, event

from bench import speech
from bench.accounts import JOURNEY, phone_for
from ivr.channels.services import Services, checked_settings
from ivr.simulator.emulator import Simulator, Transport, flask_transport, keys_from
from ivr.web.factory import create_app

CONFIRMATION = "confirmation number"


@dataclass(frozen=True)
class Exchange:
    """One webhook: what was posted, the SQL it cost, the TwiML it returned, and how many keys
    the caller had pressed when it was sent."""

    form: dict[str, str]
    queries: int
    twiml: str
    keys_so_far: int


@dataclass(frozen=True)
class JourneyCost:
    queries_mean: float
    queries_max: int
    webhooks: int
    speech_s: float  # words heard up to the confirmation number, at the stated rate
    keys: int  # keys pressed before it, # included
    time_to_pay_s: float  # speech plus keying and timeouts, as paced callers take them


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """Every statement the engine sends while the block runs (whitespace folded, cut short)."""
    sent: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(" ".join(statement.split())[:120])

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", note)


def measure(overrides: Mapping[str, Any], account_index: int) -> JourneyCost:
    """Pay account ``account_index`` in full through the app in this process."""
    services = Services.build(checked_settings(overrides=overrides))
    app = create_app(services=services)
    engine = services.engine
    presses: list[str] = []
    exchanges: list[Exchange] = []
    send: Transport = flask_transport(app.test_client())

    def counted(path: str, form: dict[str, str], signature: str) -> tuple[int, str]:
        typed = sum(map(len, presses))
        with statements(engine) as sent:
            status, body = send(path, form, signature)
        exchanges.append(Exchange(form, len(sent), body, typed))
        return status, body

    source = keys_from(list(JOURNEY))

    def keys(prompt: str) -> str | None:
        pressed = source(prompt)
        presses.append(pressed or "")
        return pressed

    simulator = Simulator.signing_as(services.settings, counted)
    try:
        record = simulator.call(keys, caller=phone_for(account_index))
    finally:
        services.close()
    if CONFIRMATION not in record.text:
        raise RuntimeError(f"the journey did not reach a confirmation number:\n{record.text}")
    return _cost(exchanges)


def _cost(exchanges: list[Exchange]) -> JourneyCost:
    """Speech, keys and waiting from the answer up to the sentence that reads the confirmation
    number, with the same pauses :mod:`bench.load` gives paced callers."""
    words, waited, previous = 0, 0.0, None
    for exchange in exchanges:
        if previous is not None:
            waited += speech.pause_before(previous, exchange.form)
        sentences = speech.said(exchange.twiml)
        for index, sentence in enumerate(sentences):
            if CONFIRMATION in sentence:
                heard = sum(speech.words(s) for s in sentences[: index + 1])
                queries = [e.queries for e in exchanges]
                return JourneyCost(
                    queries_mean=sum(queries) / len(queries),
                    queries_max=max(queries),
                    webhooks=len(queries),
                    speech_s=speech.seconds_of(words + heard),
                    keys=exchange.keys_so_far,
                    time_to_pay_s=waited + speech.seconds_of(heard),
                )
        words += sum(speech.words(s) for s in sentences)
        previous = exchange.twiml
    raise RuntimeError("no confirmation number was said")
