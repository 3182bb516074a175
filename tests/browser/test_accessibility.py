"""Every page a caller or an agent sees, checked by axe-core (Deque's engine, as shipped in the
axe-playwright-python package) against WCAG 2.2 levels A and AA, in each state it can be in:
the pay page empty, refusing fields, approved and spent; the console's sign-in (also after a
wrong password), its call list (empty and with a caller waiting), an account look-up, a taken
call and its live capture view, from the first field to the approval, and the account panel's
arrangements, disputes, locks and saved cards as a lock is lifted and a dispute recorded. A
violation names the rule, what axe says to fix and where."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.pages import GatedKeys, field, fill_card, sign_in, violations
from tests.support.account_records import (
    lock,
    plan_with_one_installment_paid,
    saved_cards,
    two_disputes,
)
from tests.support.agent_desk import WaitingCaller, handoff, in_conference, make_agent
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


def test_console_the_accounts_records_a_lock_lifted_and_a_dispute_recorded(
    app, db, ada, settings, standalone_factory, live_server, page
):
    make_agent(db)
    plan_with_one_installment_paid(db, ada)
    saved_cards(db, ada)
    two_disputes(standalone_factory, ada, settings)
    caller = WaitingCaller(app, [], keys=GatedKeys())
    call = handoff(db)
    sign_in(page, live_server)
    page.locator(f'tr[data-call="{call.id}"]').get_by_role("button", name="Take call").click()
    in_conference(db, call.id)
    lock(db, "account:70000001")  # after the caller verified, as a later caller's failures would
    page.reload()
    for panel in ("#arrangements", "#disputes", "#account-locks", "#saved-cards"):
        expect(page.locator(panel)).to_be_visible()
    expect(page.locator("#saved-cards")).to_contain_text("Visa ending 4242")
    assert violations(page) == []

    page.locator("#account-locks").get_by_role("button", name="Lift this lock").click()
    expect(page.get_by_role("alert")).to_contain_text("Lock on account:70000001 lifted")
    expect(page.locator("#account-locks")).to_contain_text("None: the caller can verify")
    assert violations(page) == []

    page.get_by_label("Amount in dispute ($)").fill("25")
    page.get_by_role("button", name="Record dispute").click()
    expect(page.get_by_role("alert")).to_contain_text("$25.00 is held out of the amount due")
    expect(page.locator("#disputes tbody tr")).to_have_count(3)
    assert violations(page) == []

    page.get_by_label("Amount in dispute ($)").fill("500")
    page.get_by_role("button", name="Record dispute").click()
    expect(page.get_by_role("alert")).to_contain_text("can be disputed on this account")
    assert violations(page) == []
    caller.hang_up()
