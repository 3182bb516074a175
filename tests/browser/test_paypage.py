"""The secure pay page in a real browser (Debian's Chromium through Playwright): a link from a
text, a test card, the confirmation; spent and expired links; keyboard-only use and what a
screen reader is told."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from ivr.models import Payment, PaymentStatus
from tests.browser.pages import fill_card
from tests.support.card_scan import CODE

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


def test_open_the_link_pay_with_a_test_card_and_see_the_confirmation(page, live_server, link, db):
    page.goto(live_server + link)
    expect(page).to_have_title("Pay your Riverside Utilities bill")
    expect(page.locator("#amount")).to_have_text("Paying $142.50 on account ending 0001.")
    fill_card(page)
    page.get_by_role("button", name="Pay $142.50").click()
    expect(page.get_by_role("heading", name="Payment approved")).to_be_visible()
    db.rollback()
    [payment] = db.scalars(select(Payment)).all()
    assert payment.status is PaymentStatus.APPROVED
    number = payment.confirmation_number
    expect(page.get_by_role("status")).to_contain_text(
        f"Your confirmation number is {number[:3]}-{number[3:6]}-{number[6:]}."
    )


def test_a_used_link_shows_a_clear_page(page, live_server, link):
    page.goto(live_server + link)
    fill_card(page)
    page.get_by_role("button", name="Pay $142.50").click()
    expect(page.get_by_role("heading", name="Payment approved")).to_be_visible()
    response = page.goto(live_server + link)
    assert response is not None and response.status == 410
    expect(page.get_by_role("heading", name="This link can no longer be used")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("already been used")


@pytest.fixture
def instant_expiry(config):
    """Links that expire as they are made (set before the app is built)."""
    config["PAYLINK_TTL_MINUTES"] = 0


def test_an_expired_link_shows_a_clear_page(instant_expiry, page, live_server, link):
    response = page.goto(live_server + link)
    assert response is not None and response.status == 410
    expect(page.get_by_role("alert")).to_contain_text("This payment link has expired")
    expect(page.get_by_role("textbox")).to_have_count(0)


def test_keyboard_only(page, live_server, link, db):
    page.goto(live_server + link)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Card number")).to_be_focused()
    page.keyboard.type("4242424242424242")
    for label, keys in (
        ("Expiration date (MM/YY)", "1230"),
        ("Security code", CODE),
        ("Billing ZIP code", "94105"),
    ):
        page.keyboard.press("Tab")
        expect(page.get_by_label(label)).to_be_focused()
        page.keyboard.type(keys)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Save this card so I can pay by text next time")).to_be_focused()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Pay $142.50")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Payment approved")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Your card is saved for paying by text.")


def test_every_field_is_labelled_and_errors_are_announced(page, live_server, link, db):
    page.goto(live_server + link)
    for field in page.locator("input:not([type=hidden])").all():
        field_id = field.get_attribute("id")
        assert page.locator(f"label[for={field_id}]").count() == 1, field_id
    code = page.get_by_label("Security code")
    expect(code).to_have_attribute("aria-describedby", "code-hint")
    expect(page.get_by_role("button")).to_have_count(1)

    # The client-side hint: a mistyped number is pointed out before submitting.
    number = page.get_by_label("Card number")
    number.fill("4242 4242 4242 4241")
    number.blur()
    expect(page.locator("#number-luhn")).to_have_text(
        "This card number does not look right. Please check it."
    )
    expect(number).to_have_attribute("aria-describedby", "number-luhn")

    # The server decides: each refused field is marked invalid and described by its error,
    # and the summary takes the focus so a screen reader reads it first.
    fill_card(page, "4242 4242 4242 4241")
    page.get_by_label("Billing ZIP code").fill("941")
    page.get_by_role("button", name="Pay $142.50").click()
    expect(page.get_by_role("alert")).to_have_text("Please correct the fields marked below.")
    expect(page.locator("#problem")).to_be_focused()
    number = page.get_by_label("Card number")
    expect(number).to_have_attribute("aria-invalid", "true")
    expect(number).to_have_accessible_description("That card number is not valid.")
    expect(number).to_have_value("")  # a card number is never sent back to the page
    expect(page.get_by_label("Billing ZIP code")).to_have_accessible_description(
        "A ZIP code is 5 digits."
    )
    expect(page.get_by_label("Security code")).to_have_attribute("aria-invalid", "false")
    db.rollback()
    assert db.scalars(select(Payment)).all() == []
