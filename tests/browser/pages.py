"""What a person does on our pages, shared by the browser tests: fill in a card, sign in to the
console, a caller who keys each card field only when the test says so; and what axe-core
finds wrong with a page."""

from __future__ import annotations

import queue

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Locator, Page

from tests.support.agent_desk import PASSWORD, WAIT_SECONDS
from tests.support.card_scan import CODE
from tests.support.keys import VERIFY


def fill_card(page: Page, number: str = "4242 4242 4242 4242") -> None:
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiration date (MM/YY)").fill("12/30")
    page.get_by_label("Security code").fill(CODE)
    page.get_by_label("Billing ZIP code").fill("94105")


def sign_in(page: Page, base: str, username: str = "alice", password: str = PASSWORD) -> None:
    page.goto(f"{base}/agent/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def field(page: Page, name: str) -> Locator:
    """A card field's row in the console's capture view."""
    return page.locator(f'[data-field="{name}"]')


class GatedKeys:
    """A caller who verifies and asks for an agent at once, then keys each card field only when
    the test hands it over, so the test can watch the console between fields."""

    def __init__(self) -> None:
        self.script = [*VERIFY, "0"]
        self.gate: queue.Queue[str | None] = queue.Queue()

    def __call__(self, _prompt: str) -> str | None:
        if self.script:
            return self.script.pop(0)
        return self.gate.get(timeout=WAIT_SECONDS)


WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
AXE = Axe()


def violations(page: Page) -> list[str]:
    """axe's WCAG A/AA violations on the page as it is now, one line per rule."""
    results = AXE.run(page, options={"runOnly": {"type": "tag", "values": WCAG_22_AA}})
    return [
        f"{rule['id']}: {rule['help']} ({', '.join(str(n['target']) for n in rule['nodes'])})"
        for rule in results.response["violations"]
    ]
