"""The accessibility check itself: axe-core loads and reports, so the empty lists that
``test_accessibility`` asserts mean something."""

import pytest

from tests.browser.pages import violations

pytestmark = pytest.mark.browser


def test_an_unlabelled_field_and_faint_text_are_reported(page):
    page.set_content(
        '<html lang="en"><title>t</title><main><input>'
        '<p style="color:#aaa;background:#fff">faint</p></main></html>'
    )
    assert {line.split(":")[0] for line in violations(page)} == {"label", "color-contrast"}
