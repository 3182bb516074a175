"""The agent console in a real browser (Debian's Chromium through Playwright), with a simulated
caller on the phone: log in, take the call, start secure payment, watch each field turn green
as the caller keys it, read the confirmation number; and the refusals an agent can meet."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import delete

from ivr.models import ConsoleSession, Payment
from tests.browser.pages import GatedKeys, field, sign_in
from tests.support.agent_desk import WAIT_SECONDS, WaitingCaller, handoff, make_agent
from tests.support.card_scan import CODE, leaks

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]
VISA = "4242424242424242"


def test_the_agent_watches_the_caller_key_a_payment(app, db, ada, live_server, page):
    make_agent(db)
    sign_in(page, live_server)
    expect(page.locator("#agent-name")).to_have_text("alice")
    expect(page.locator("#calls")).to_contain_text("No calls are waiting.")
    keys = GatedKeys()
    caller = WaitingCaller(app, [], keys=keys)
    call = handoff(db)

    row = page.locator(f'tr[data-call="{call.id}"]')  # the list refreshes by itself
    expect(row).to_contain_text("Verified · account ending 0001")
    row.get_by_role("button", name="Take call").click()
    expect(page.locator("#balance")).to_have_text("$142.50")
    page.get_by_role("button", name="Start secure payment").click()

    expect(field(page, "card_number")).to_have_class(re.compile(r"\bentering\b"))
    for name, keyed in (
        ("card_number", f"{VISA}#"),
        ("card_expiry", "1230"),
        ("card_code", CODE),
        ("card_zip", "94105"),
    ):
        expect(field(page, name)).to_have_class(re.compile(r"\bentering\b"))
        keys.gate.put(keyed)
        expect(field(page, name)).to_have_class(re.compile(r"\bvalid\b"))
        if name == "card_number":
            expect(page.locator("#capture-card")).to_have_text("Visa ending in 4242")
    expect(page.locator("#capture-status")).to_have_text(re.compile("read-back"))
    keys.gate.put("1")

    expect(page.locator("#capture-status")).to_have_text("Approved")
    db.rollback()

    [payment] = db.query(Payment).all()
    expect(page.locator("#confirmation")).to_contain_text(payment.confirmation_number)
    for name in ("card_number", "card_expiry", "card_code", "card_zip"):
        expect(field(page, name)).to_have_class(re.compile(r"\bdone\b"))
    record = caller.hang_up()
    assert "Please hold while I return you to your representative." in record.said
    assert leaks(page.content()) == []


def test_a_caller_hanging_up_mid_capture_shows_in_the_console(app, db, ada, live_server, page):
    make_agent(db)
    keys = GatedKeys()
    caller = WaitingCaller(app, [], keys=keys)
    call = handoff(db)
    sign_in(page, live_server)
    page.locator(f'tr[data-call="{call.id}"]').get_by_role("button", name="Take call").click()
    page.get_by_role("button", name="Start secure payment").click()
    keys.gate.put(f"{VISA}#")
    expect(field(page, "card_expiry")).to_have_class(re.compile(r"\bentering\b"))
    keys.gate.put(None)  # the caller hangs up
    caller.finish()
    expect(page.locator("#capture-status")).to_have_text("The caller hung up")
    expect(page.locator("#capture-outcome")).to_have_text(
        "The caller hung up before paying. Nothing was charged."
    )


def test_a_wrong_password_is_refused(db, live_server, page):
    make_agent(db)
    sign_in(page, live_server, password="not the password")
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    page.goto(f"{live_server}/agent/")
    expect(page).to_have_url(re.compile(r"/agent/login"))


def test_a_form_without_the_sessions_csrf_token_is_refused(app, db, ada, live_server, page):
    make_agent(db)
    caller = WaitingCaller(app, [], keys=GatedKeys())
    call = handoff(db)
    sign_in(page, live_server)
    page.locator('input[name="csrf_token"]').first.wait_for(state="attached")
    page.evaluate(
        "document.querySelectorAll('input[name=csrf_token]').forEach(i => i.value = 'forged')"
    )
    page.locator(f'tr[data-call="{call.id}"]').get_by_role("button", name="Take call").click()
    expect(page.get_by_role("alert")).to_contain_text("did not come from the console")
    db.rollback()
    assert handoff(db).agent_id is None
    caller.hang_up()


def test_an_agent_cannot_open_another_agents_call(
    app, db, ada, live_server, page, chromium: Browser
):
    make_agent(db)
    make_agent(db, "bob")
    caller = WaitingCaller(app, [], keys=GatedKeys())
    call = handoff(db)
    sign_in(page, live_server)
    page.locator(f'tr[data-call="{call.id}"]').get_by_role("button", name="Take call").click()

    other = chromium.new_context()
    try:
        bob = other.new_page()
        sign_in(bob, live_server, "bob")
        expect(bob.locator("#calls")).not_to_contain_text(f"#{call.id}")
        reply = bob.goto(f"{live_server}/agent/calls/{call.id}")
        assert reply is not None and reply.status == 403
        expect(bob.get_by_role("alert")).to_have_text("This call belongs to another agent.")
    finally:
        other.close()
    caller.hang_up()


def test_an_ended_session_takes_the_open_console_to_the_log_in_page(db, live_server, page):
    """The calls list's own refresh keeps no session alive, and when the session has ended
    (here: signed out elsewhere, the row gone) the page goes to the log-in and says why."""
    make_agent(db)
    sign_in(page, live_server)
    expect(page.locator("#calls")).to_contain_text("No calls are waiting.")
    db.execute(delete(ConsoleSession))
    db.commit()
    expect(page).to_have_url(re.compile(r"/agent/login"), timeout=WAIT_SECONDS * 1000)
    expect(page.get_by_role("alert")).to_have_text("Your console session has ended. Sign in again.")
