"""One sweep for card data after full calls in every capture mode, in one database.

Our own keypad capture (with a decline and a hang-up mid-capture), agent-assisted capture, the
pay page reached from a text, and Twilio's ``<Pay>`` all run against the same database with
logging at DEBUG, the outbox is delivered, and then every place an operator, an attacker with
a copy, or a log shipper could look is scanned for the test card numbers (in any spacing) and
the security codes keyed: the whole database, every log record and trace, ``/metrics``, every
outbox message, every body the apps answered with (TwiML, pages) and the console's event
stream. The capture store is checked at the moment that matters: right after each request
that settled a payment for a call.
"""

from __future__ import annotations

import logging

import pytest
from flask import Flask, Response, g, request
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from ivr.adapters.delivery import deliver_due
from ivr.db import transaction
from ivr.models import (
    Base,
    CardCapture,
    OutboxMessage,
    Payment,
    PaymentStatus,
    utcnow,
)
from ivr.simulator.emulator import CallRecord, keys_from
from tests.conftest import simulator_for
from tests.support.agent_desk import Desk, WaitingCaller, final, make_agent, take_call
from tests.support.card_scan import AMEX_CODE, CODE, captures_left, database_dump, leaks
from tests.support.factories import ADA_PHONE, add_account
from tests.support.keys import PAY_MENU, TEXT_VERIFY, VISA, card
from tests.support.scraping import METRICS_TOKEN, metrics_text
from tests.support.texting import Phone, link_in, pay

DECLINED = "4000000000000002"
AMEX = "378282246310005"
PAY_FIVE_DOLLARS = [*PAY_MENU, "3", "5#"]


class Tap:
    """Every body the apps answered with; and, right after each request that settled a
    payment for a call, whatever the capture store still held for that call."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory
        self.bodies: list[str] = []
        self.settlements = 0
        self.held_after_settlement: list[str] = []

    def attach(self, app: Flask) -> None:
        app.before_request(self._before)
        app.after_request(self._after)

    def _settled(self, sid: str) -> int:
        with transaction(self.factory) as session:
            query = select(func.count()).where(
                Payment.session_sid == sid, Payment.status != PaymentStatus.PENDING
            )
            return int(session.scalar(query) or 0)

    def _before(self) -> None:
        sid = request.form.get("CallSid")
        g.sweep_settled = self._settled(sid) if sid else None

    def _after(self, response: Response) -> Response:
        if not (response.is_streamed or response.direct_passthrough):
            self.bodies.append(response.get_data(as_text=True))
        sid, before = request.form.get("CallSid"), g.get("sweep_settled")
        if sid and before is not None and self._settled(sid) > before:
            self.settlements += 1
            with transaction(self.factory) as session:
                held = select(CardCapture.session_sid).where(CardCapture.session_sid == sid)
                self.held_after_settlement += session.scalars(held).all()
        return response


def keypad_calls(app: Flask) -> list[CallRecord]:
    """Our DTMF capture: a decline, then an Amex approved and its receipt emailed; then a
    hang-up after the code."""
    simulator = simulator_for(app)
    paid = [*PAY_FIVE_DOLLARS, *card(DECLINED), "1", "1", *card(AMEX, code=AMEX_CODE), "1", "3"]
    hung_up = [*PAY_FIVE_DOLLARS, f"{VISA}#", "1230", CODE]
    records = [simulator.call(keys_from(keys), caller=ADA_PHONE) for keys in (paid, hung_up)]
    assert records[1].hung_up_by == "caller"
    return records


def agent_assisted(app: Flask, db: Session) -> tuple[CallRecord, str]:
    """The agent starts secure capture and the caller keys the card; the console's pages
    are fetched (through the tap) and its event stream returned."""
    make_agent(db)
    desk = Desk(app.test_client())
    assert desk.login().status_code == 302
    caller = WaitingCaller(app, [*card(VISA), "1"])
    call = take_call(desk, db)
    assert desk.post(f"/agent/calls/{call.id}/payment", amount="5.00").status_code == 302
    capture = final(db)
    record = caller.hang_up()
    assert capture.status.value == "approved"
    for page in ("/agent/", f"/agent/calls/{call.id}", "/agent/accounts?number=70000001"):
        assert desk.client.get(page).status_code == 200
    stream = desk.client.get(f"/agent/payments/{capture.id}/events").get_data(as_text=True)
    assert '"status": "approved"' in stream
    return record, stream


def pay_page(app: Flask) -> None:
    """A link by text, a declined card on the page, then a Visa typed with spaces."""
    client = app.test_client()
    phone = Phone(client)
    phone.conversation(*TEXT_VERIFY, "2")
    path = link_in(phone.send("1"))
    assert "declined" in pay(client, path, number=DECLINED).text
    assert "Your confirmation number is" in pay(client, path).text


def twilio_pay(app: Flask) -> CallRecord:
    """Twilio's ``<Pay>`` collects the card; we get the token and the masked number, and the
    caller asks for the receipt by email."""
    record = simulator_for(app).call(
        keys_from([*PAY_FIVE_DOLLARS, *card(AMEX, code=AMEX_CODE), "3"]), caller=ADA_PHONE
    )
    assert any("<Pay " in response for response in record.responses)
    return record


def log_text(records: list[logging.LogRecord]) -> str:
    """Every record's message, and its exception trace and stack, formatted."""
    formatter = logging.Formatter()
    lines = []
    for record in records:
        lines.append(f"{record.name} {record.getMessage()}")
        if record.exc_info:
            lines.append(formatter.formatException(record.exc_info))
        if record.stack_info:
            lines.append(formatter.formatStack(record.stack_info))
    return "\n".join(lines)


def outbox_text(db: Session) -> str:
    db.rollback()
    rows = db.scalars(select(OutboxMessage)).all()
    return "\n".join(f"{m.recipient} {m.subject or ''} {m.body}" for m in rows)


@pytest.fixture
def apps(make_app, db, settings):
    add_account(db, settings)
    ours = make_app(METRICS_TOKEN=METRICS_TOKEN)
    twilios = make_app(CAPTURE_MODE="twilio-pay")
    return ours, twilios


def test_no_card_data_anywhere_after_calls_in_every_capture_mode(apps, db, settings, caplog):
    caplog.set_level(logging.DEBUG)
    ours, twilios = apps
    tap = Tap(ours.extensions["ivr"].factory)
    tap.attach(ours)
    tap.attach(twilios)

    records = keypad_calls(ours)
    agent_record, stream = agent_assisted(ours, db)
    records += [agent_record, twilio_pay(twilios)]
    pay_page(ours)
    sent = deliver_due(
        ours.extensions["ivr"].factory,
        ours.extensions["ivr"].senders,
        utcnow(),
    )

    db.rollback()
    ledger = db.execute(select(Payment.gateway, Payment.channel, Payment.status)).all()
    assert ("sandbox", "voice", PaymentStatus.DECLINED) in ledger  # keypad
    assert ("twilio-pay", "voice", PaymentStatus.APPROVED) in ledger  # <Pay>
    assert ("sandbox", "web", PaymentStatus.DECLINED) in ledger  # pay page
    assert ("sandbox", "web", PaymentStatus.APPROVED) in ledger
    assert [row.status for row in ledger].count(PaymentStatus.APPROVED) == 4
    assert sent.sent >= 4  # receipts by text and email went through the (logging) senders
    assert any(r.levelno == logging.DEBUG and r.name.startswith("ivr") for r in caplog.records)

    # Right after each authorization the call's capture store was already empty.
    assert tap.settlements == 4  # keypad decline and approval, agent-assisted, <Pay>
    assert tap.held_after_settlement == []
    assert captures_left(db) == 0

    tables = set(inspect(db.get_bind()).get_table_names())
    assert set(Base.metadata.tables) <= tables  # the dump below reads every one of them
    places = {
        "database": database_dump(db),
        "logs": log_text(caplog.records),
        "metrics": metrics_text(ours.test_client()),
        "outbox": outbox_text(db),
        "responses": "\n".join(tap.bodies),
        "simulated calls": "\n".join(r for record in records for r in record.responses),
        "event stream": stream,
    }
    assert {place: leaks(text) for place, text in places.items() if leaks(text)} == {}


def test_the_sweep_finds_card_data_planted_where_it_looks(db, caplog):
    """The scan above can fail: a number and a code planted in a row and a log line are
    found, in the spacing a person would type."""
    caplog.set_level(logging.DEBUG)
    db.add(OutboxMessage(channel="sms", recipient=ADA_PHONE, body="card 3782 822463 10005"))
    db.commit()
    try:
        raise ValueError(f"card {VISA[:8]}-{VISA[8:]} code {AMEX_CODE}")
    except ValueError:
        logging.getLogger("ivr.test").debug("planted %s", CODE, exc_info=True)

    assert leaks(database_dump(db)) == [AMEX]
    assert leaks(outbox_text(db)) == [AMEX]
    assert leaks(log_text(caplog.records)) == [VISA, CODE, AMEX_CODE]
