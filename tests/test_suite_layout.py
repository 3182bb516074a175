"""How the suite is laid out, so a test is found where its code is.

- ``tests/<package path>/`` unit-tests that package (``tests/ivr/channels/`` tests
  ``ivr/channels/``); beside them ``tests/e2e/`` holds whole journeys through the webhooks,
  ``tests/support/`` the helpers and fakes, ``tests/browser/`` the Playwright tests (the only
  ones that need a browser), and ``tests/attacks/``, ``tests/bench/``, ``tests/fuzz/`` theirs.
- Helpers live in ``tests/support/``, but for the few that one folder keeps to itself.
- One ``ada`` fixture (``tests/conftest.py``) and one set of key scripts
  (``tests/support/keys.py``), used everywhere.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.support import keys

ROOT = Path(__file__).parent.parent
TESTS = ROOT / "tests"
OWN_FOLDERS = {"e2e", "support", "browser", "attacks", "bench", "fuzz"}
# Helpers that stay with the only tests that use them, and why they stay there.
KEPT_BY_THEIR_FOLDER = {
    "tests/attacks/attacker.py": "drives gunicorn from outside; only the attack tests use it",
    "tests/browser/pages.py": "imports Playwright, which nothing outside tests/browser/ may",
    "tests/fuzz/parsers.py": "the atheris fuzz target itself (python -m tests.fuzz.parsers)",
}
SCRIPTS = {
    "VERIFY": keys.VERIFY,
    "VERIFY_IN_SPANISH": keys.VERIFY_IN_SPANISH,
    "VERIFY_BY_NUMBER": keys.VERIFY_BY_NUMBER,
    "posted(VERIFY)": keys.posted(keys.VERIFY),
    "TEXT_VERIFY": list(keys.TEXT_VERIFY),
    "card()": keys.card(),
}


def modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(TESTS.rglob("*.py")):
        yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(), str(path))


def imported(tree: ast.Module) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_the_shared_fixtures_import_no_playwright():
    check = "import sys, tests.conftest; print(sorted(m for m in sys.modules if 'playwright' in m))"
    out = subprocess.run(  # noqa: S603 - our own interpreter, a fixed script
        [sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_collecting_the_flow_tests_imports_no_playwright():
    check = (
        "import sys, pytest\n"
        "code = pytest.main(['--collect-only', '-q', '-p', 'no:cacheprovider', 'tests/flows'])\n"
        "assert code == 0, code\n"
        "print(sorted(m for m in sys.modules if 'playwright' in m))"
    )
    out = subprocess.run(  # noqa: S603 - our own interpreter, a fixed script
        [sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_only_the_browser_tests_import_playwright():
    offenders = [
        f"{path} imports {name}"
        for path, tree in modules()
        if not path.startswith("tests/browser/")
        for name in imported(tree)
        if name.split(".")[0] == "playwright" or name.startswith("tests.browser")
    ]
    assert offenders == []


def test_every_folder_mirrors_a_package_or_has_its_own_kind_of_test():
    strays = []
    for folder in sorted({path.parent for path in TESTS.rglob("*.py")} - {TESTS}):
        relative = folder.relative_to(TESTS)
        if relative.parts[0] in OWN_FOLDERS:
            continue
        if not (ROOT / relative / "__init__.py").is_file():
            strays.append(f"tests/{relative.as_posix()}/ mirrors no package")
    assert strays == []


def test_helpers_live_in_support():
    strays = [
        path
        for path, _ in modules()
        if not path.startswith("tests/support/")
        and not Path(path).name.startswith("test_")
        and Path(path).name not in ("conftest.py", "__init__.py")
        and path not in KEPT_BY_THEIR_FOLDER
    ]
    assert strays == []


def test_a_helper_kept_by_its_folder_is_used_only_there():
    module_of = {path.removesuffix(".py").replace("/", "."): path for path in KEPT_BY_THEIR_FOLDER}
    outsiders = [
        f"{path} imports {name}"
        for path, tree in modules()
        for name in imported(tree)
        if name in module_of and not path.startswith(module_of[name].rsplit("/", 1)[0] + "/")
    ]
    assert outsiders == []


def test_there_is_one_ada_fixture():
    defined = [
        path
        for path, tree in modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "ada"
    ]
    assert defined == ["tests/conftest.py"]


def contains(elements: list[str], script: list[str]) -> bool:
    return any(elements[i : i + len(script)] == script for i in range(len(elements)))


def test_key_scripts_are_not_copied():
    copies = []
    for path, tree in modules():
        if path == "tests/support/keys.py":
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.List | ast.Tuple):
                continue
            elements = [e.value if isinstance(e, ast.Constant) else None for e in node.elts]
            copies += [
                f"{path}:{node.lineno} copies {name}"
                for name, script in SCRIPTS.items()
                if contains(elements, script)
            ]
    assert copies == []
