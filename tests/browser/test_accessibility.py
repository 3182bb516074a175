"""Every page a caller or an agent sees, checked by axe-core (Deque's engine, as shipped in the
axe-playwright-python package) against WCAG 2.2 levels A and AA, in each state it can be in:
the pay page empty, refusing fields, approved and spent; the console's sign-in (also after a
wrong password), its call list (empty and with a caller waiting), an account look-up, a taken
call and its live capture view, from the first field to the approval. A violation names the
rule, what axe says to fix and where."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.pages import GatedKeys, field, fill_card, sign_in, violations
from tests.support.agent_desk import WaitingCaller, handoff, make_agent
from tests.support.keys import card
from tests.support.texting import Phone, link_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


def test_the_pay_page_empty_with_errors_and_approved(page, live_server, link):
    page.goto(live_server + link)
    assert violations(page) == []

    fill_card(page, "4242 4242 4242 4241")
    page.get_by_label("Billing ZIP code").fill("941")
    page.get_by_role("button", name="Pay $142.50").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert violations(page) == []

    fill_card(page)
    page.get_by_role("button", name="Pay $142.50").click()
    expect(page.get_by_role("heading", name="Payment approved")).to_be_visible()
    assert violations(page) == []

    page.goto(live_server + link)
    expect(page.get_by_role("heading", name="This link can no longer be used")).to_be_visible()
    assert violations(page) == []


@pytest.fixture
def fee(config):
    """A convenience fee, set before the app is built."""
    config["FEE_FLAT_CENTS"] = 250


def test_the_pay_page_with_a_fee_itemized_approved_and_a_bill_paid_meanwhile(
    fee, app, page, live_server, link
):
    phone = Phone(app.test_client())
    phone.conversation("MENU", "2")
    second = link_in(phone.send("1"))  # the same bill, paid below through the first link
    page.goto(live_server + link)
    expect(page.locator("#charges")).to_contain_text("Convenience fee: $2.50")
    assert violations(page) == []

    fill_card(page)
    page.get_by_role("button", name="Pay $145.00").click()
    expect(page.get_by_role("status")).to_contain_text("with a convenience fee of $2.50")
    assert violations(page) == []

    page.goto(live_server + second)
    expect(page.get_by_role("alert")).to_contain_text("This bill was paid on")
    assert violations(page) == []


def test_the_pay_page_with_the_luhn_hint_and_a_decline(page, live_server, link):
    page.goto(live_server + link)
    number = page.get_by_label("Card number")
    number.fill("4242 4242 4242 4241")
    number.blur()
    expect(page.locator("#number-luhn")).not_to_be_empty()
    assert violations(page) == []

    fill_card(page, "4000 0000 0000 0002")
    page.get_by_role("button", name="Pay $142.50").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert violations(page) == []


def test_console_sign_in_calls_and_look_up(db, ada, live_server, page):
    make_agent(db)
    page.goto(f"{live_server}/agent/login")
    assert violations(page) == []

    sign_in(page, live_server, password="not the password")
    expect(page.get_by_role("alert")).to_be_visible()
    assert violations(page) == []

    sign_in(page, live_server)
    expect(page.locator("#calls")).to_contain_text("No calls are waiting.")
    assert violations(page) == []

    page.get_by_label("Account number").fill(ada.number)
    page.get_by_role("button", name="Look up").click()
    expect(page.locator("#balance")).to_have_text("$142.50")
    assert violations(page) == []

    page.goto(f"{live_server}/agent/accounts?number=99999999")
    expect(page.get_by_role("alert")).to_be_visible()
    assert violations(page) == []


def test_console_a_waiting_call_taken_and_its_capture(app, db, ada, live_server, page):
    make_agent(db)
    keys = GatedKeys()
    caller = WaitingCaller(app, [], keys=keys)
    call = handoff(db)
    sign_in(page, live_server)
    row = page.locator(f'tr[data-call="{call.id}"]')
    expect(row).to_contain_text("Verified")
    assert violations(page) == []

    row.get_by_role("button", name="Take call").click()
    expect(page.locator("#balance")).to_have_text("$142.50")
    assert violations(page) == []

    page.get_by_role("button", name="Start secure payment").click()
    expect(field(page, "card_number")).to_have_class(re.compile(r"\bentering\b"))
    assert violations(page) == []

    keys.gate.put("4242424242424241#")  # fails the Luhn check: the field shows the reason
    expect(field(page, "card_number")).to_have_class(re.compile(r"\binvalid\b"))
    assert violations(page) == []

    for keyed in (*card(), "1"):
        keys.gate.put(keyed)
    expect(page.locator("#capture-status")).to_have_text("Approved")
    expect(page.locator("#confirmation")).not_to_be_empty()
    assert violations(page) == []
    caller.hang_up()
