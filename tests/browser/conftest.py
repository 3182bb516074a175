"""Real-browser fixtures: the app on a loopback port, driven by Debian's Chromium via Playwright.

Only the tests under ``tests/browser/`` import Playwright, so the rest of the suite runs without
it. Playwright's own browser downloads are never used (they would need the internet); the tests
launch the system Chromium that ``scripts/bootstrap`` installs with apt. Without it the tests are
skipped locally and fail under CI, like the PostgreSQL half of the suite.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, sync_playwright
from werkzeug.serving import make_server

from ivr.models import Account
from tests.support.keys import TEXT_VERIFY
from tests.support.texting import Phone

PAY_LINK = re.compile(r"https://pay\.example\.com(/pay/[A-Za-z0-9_-]+)")
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} not found; install it with: apt-get install chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    """A fresh browser context (own cookies) and page for each test."""
    context = chromium.new_context()
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The test's ``app`` served over HTTP on a free loopback port; yields the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


@pytest.fixture
def link(app: Flask, ada: Account) -> str:
    """The path of a pay link for ada's full balance, as texted to her phone."""
    phone = Phone(app.test_client())
    phone.conversation(*TEXT_VERIFY, "2")
    found = PAY_LINK.search(phone.send("1"))
    assert found, "the text offered no pay link"
    return found.group(1)
