"""How the suite is laid out: only ``tests/browser/`` needs Playwright and a browser."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_the_shared_fixtures_import_no_playwright():
    check = "import sys, tests.conftest; print(sorted(m for m in sys.modules if 'playwright' in m))"
    out = subprocess.run(  # noqa: S603 - our own interpreter, a fixed script
        [sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
