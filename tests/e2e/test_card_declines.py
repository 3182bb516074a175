"""Card testing, through HTTP: declined cards are capped per pay link, per call and per account
in any 24 hours. Past a cap no card reaches the gateway (the sandbox's own books are counted),
the caller is told why and offered a representative, the audit log says so, and ``/metrics``
counts it. Parallel submissions on one link on PostgreSQL cannot pass the cap either."""

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from ivr.models import AuditEvent, PaymentStatus
from ivr.simulator.emulator import keys_from
from payments.gateways.sandbox_tables import SandboxCharge
from tests.conftest import simulator_for
from tests.support.agent_desk import Desk, WaitingCaller, final, make_agent, take_call
from tests.support.card_scan import CODE
from tests.support.factories import balance, payments
from tests.support.keys import PAY_FULL, TEXT_VERIFY, VERIFY_IN_SPANISH, VISA, card
from tests.support.scraping import METRICS_TOKEN, metrics_text, value
from tests.support.texting import Phone, form_token, link_in

DECLINED = "4000000000000002"
ANOTHER_CARD = "To try another card, press 1. For the main menu, press star."
CALL_LIMIT = "For your security, no more cards can be tried on this call."
ACCOUNT_LIMIT = "For your security, no more cards can be tried on this account today."
REPRESENTATIVE = "To speak with a representative, press 0. For the main menu, press star."
ASKS_FOR_CARD = "Enter your card number, then pound."
LINK_LIMIT = "For your security, this link takes no more cards after several were declined"


def declines(count):
    """``count`` declined cards in one call, each followed by "1: try another card" but the
    last."""
    keys = []
    for n in range(count):
        keys += [*card(DECLINED), "1"] + (["1"] if n < count - 1 else [])
    return keys


def call(simulator, presses):
    return simulator.call(keys_from(presses), caller="+15005550006")


def authorizations(db):
    """Charges the gateway was asked for, from its own books."""
    db.rollback()
    return db.scalar(select(func.count()).select_from(SandboxCharge))


def refusals(db):
    db.rollback()
    query = select(AuditEvent).where(AuditEvent.action == "payment.decline_limit")
    return list(db.scalars(query.order_by(AuditEvent.id)))


def open_link(client):
    """A pay link for the full balance, asked for by text; its path and its form's token."""
    phone = Phone(client)
    phone.conversation(*TEXT_VERIFY, "2")
    path = link_in(phone.send("1"))
    page = client.get(path)
    assert page.status_code == 200
    return path, form_token(page.text)


def submit(client, path, token, number=DECLINED):
    fields = {"number": number, "expiry": "12/30", "code": CODE, "postal": "94105"}
    return client.post(path, data={"form_token": token, **fields})


def test_a_pay_link_takes_three_declined_cards_then_no_more(client, db, ada):
    path, token = open_link(client)
    replies = [submit(client, path, token) for _ in range(5)]
    assert [reply.status_code for reply in replies] == [402, 402, 402, 429, 429]
    assert "You can try another card." in replies[1].text
    for reply in replies[2:]:
        assert LINK_LIMIT in reply.text
        assert "call (500) 555-0100 and ask for a representative" in reply.text
        assert 'name="number"' not in reply.text
    assert authorizations(db) == 3
    # A good card is refused too, without a gateway call; opening the link shows no form.
    assert submit(client, path, token, VISA).status_code == 429
    page = client.get(path)
    assert page.status_code == 429 and LINK_LIMIT in page.text and "<form" not in page.text
    assert authorizations(db) == 3
    assert [p.status for p in payments(db)] == [PaymentStatus.DECLINED] * 3
    assert balance(db, ada) == 14250
    refused = refusals(db)
    assert len(refused) == 3
    assert {(e.outcome, e.detail["scope"], e.resource) for e in refused} == {
        ("refused", "session", "account:70000001")
    }
    assert {e.origin for e in refused} == {f"web:{payments(db)[0].session_sid}"}


def test_a_call_takes_three_declined_cards_then_offers_a_representative(db, simulator, ada):
    record = call(simulator, [*PAY_FULL, *declines(3), "1", "0"])
    assert authorizations(db) == 3
    said = record.said
    assert said.count("Sorry, your card was declined and nothing was charged.") == 3
    assert said.count(ANOTHER_CARD) == 2
    limit = said.index(CALL_LIMIT)
    assert said[limit + 1] == REPRESENTATIVE
    assert ASKS_FOR_CARD not in said[limit:]  # "1" is not another card any more
    assert "Please hold while I connect you with a representative." in said[limit:]
    assert balance(db, ada) == 14250


def test_pay_verb_mode_is_capped_per_call_too(make_app, db, ada):
    # <Pay> charges as the last field is keyed: no read-back to confirm.
    presses = [*PAY_FULL, *card(DECLINED), "1", *card(DECLINED), "1", *card(DECLINED), "1"]
    record = call(simulator_for(make_app(CAPTURE_MODE="twilio-pay")), presses)
    assert [p.status for p in payments(db)] == [PaymentStatus.DECLINED] * 3
    assert CALL_LIMIT in record.said
    assert sum("<Pay " in response for response in record.responses) == 3


def test_an_account_takes_five_declined_cards_a_day_across_calls(app, client, db, simulator, ada):
    first = call(simulator, [*PAY_FULL, *declines(3), "*"])
    assert CALL_LIMIT in first.said
    path, _token = open_link(client)
    second = call(simulator, [*PAY_FULL, *declines(2), "*"])
    assert ACCOUNT_LIMIT in second.said and REPRESENTATIVE in second.said
    assert authorizations(db) == 5
    # A new call is told before it keys a card, a text gets no link, a link shows no form.
    third = call(simulator, [*PAY_FULL, "*"])
    assert ACCOUNT_LIMIT in third.said and ASKS_FOR_CARD not in third.said
    phone = Phone(client)
    phone.conversation("MENU", "2")
    assert phone.send("1") == (
        "For your security, no more cards can be tried on this account today. "
        "To pay with a representative, call (500) 555-0100. Reply MENU for other options."
    )
    page = client.get(path)
    assert page.status_code == 429 and "<form" not in page.text
    assert "no more cards can be tried on this account today" in page.text
    assert authorizations(db) == 5
    assert [e.detail["scope"] for e in refusals(db)] == ["account", "account"]
    # A day later the account takes cards again.
    for payment in payments(db):
        payment.created_at -= dt.timedelta(hours=24)
    db.commit()
    fourth = call(simulator, [*PAY_FULL, *card(), "1", ""])
    assert "Thank you, your payment is approved." in fourth.said
    assert balance(db, ada) == 0


def test_an_agent_can_start_no_capture_once_the_call_has_had_three_declines(app, client, db, ada):
    make_agent(db)
    desk = Desk(client)
    assert desk.login().status_code == 302
    caller = WaitingCaller(app, [*card(DECLINED), "1"] * 3 + [""])  # then holds for the agent
    call = take_call(desk, db)
    capture_id = None
    for _ in range(3):
        assert desk.post(f"/agent/calls/{call.id}/payment", amount="142.50").status_code == 302
        capture_id = final(db, capture_id and capture_id + 1).id
    reply = desk.post(f"/agent/calls/{call.id}/payment", amount="142.50")
    page = client.get(reply.headers["Location"]).get_data(as_text=True)
    assert "Too many cards have been declined on this call" in page
    caller.hang_up()
    assert authorizations(db) == 3


def test_the_limits_are_settings(make_app, db, ada):
    app = make_app(MAX_DECLINES_PER_SESSION=1, MAX_DECLINES_PER_ACCOUNT=2)
    simulator = simulator_for(app)
    assert CALL_LIMIT in call(simulator, [*PAY_FULL, *declines(1), "*"]).said
    assert ACCOUNT_LIMIT in call(simulator, [*PAY_FULL, *declines(1), "*"]).said
    assert authorizations(db) == 2


def test_spanish_callers_hear_the_limit_in_spanish(db, simulator, ada):
    record = call(simulator, [*VERIFY_IN_SPANISH, "1", *declines(3), "*"])
    assert "Por su seguridad, no se pueden intentar más tarjetas en esta llamada." in record.said
    assert (
        "Para hablar con un representante, oprima 0. Para el menú principal, oprima asterisco."
        in record.said
    )


def test_declines_and_refusals_are_counted_for_operators(make_app, db, ada):
    app = make_app(METRICS_TOKEN=METRICS_TOKEN)
    client = app.test_client()
    path, token = open_link(client)
    for _ in range(5):
        submit(client, path, token)
    text = metrics_text(client)
    assert value(text, "ivr_card_declines_total", outcome="declined") == 3
    assert value(text, "ivr_card_declines_total", outcome="refused") == 2


@pytest.mark.postgres_only
def test_parallel_submissions_on_one_link_get_no_more_authorizations_than_the_cap(
    app, db, ada, database_url
):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE); the race needs PostgreSQL")
    path, token = open_link(app.test_client())
    threads, rounds = 12, 4
    start = threading.Barrier(threads)

    def attempt(_n):
        client = app.test_client()
        start.wait(timeout=30)
        return submit(client, path, token).status_code

    statuses = []
    with ThreadPoolExecutor(threads) as pool:
        for _ in range(rounds):
            statuses += pool.map(attempt, range(threads), timeout=120)
    assert authorizations(db) == 3
    assert statuses.count(402) == 3
    assert set(statuses) <= {402, 409, 429}
    assert [p.status for p in payments(db)] == [PaymentStatus.DECLINED] * 3
