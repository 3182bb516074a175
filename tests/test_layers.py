"""The import rules of the package table in DESIGN.md, checked on the source by an AST walk.

Every import counts: at module level, inside a function, under ``TYPE_CHECKING``. ``from x
import y`` imports the module ``x.y`` when that is one of ours, else ``x``. Relative imports
are resolved. A failure names the file, the line, the import as written and the rule broken.

Layers, from the table: ``prompts`` imports nothing of ours; ``verification`` and ``payments``
each only the kernel; ``flows`` prompts, verification, payments and the kernel; the kernel
(``ivr/__init__.py`` and the modules directly in ``ivr/``: config, db, audit, logs, outbox,
migrate, migrations, models) nothing of ours but the kernel; the rest of ``ivr/`` anything;
``app.py`` only ``ivr``. Besides: ``ivr/__init__.py`` imports nothing from ``ivr.web``; the
domain packages and the kernel import neither Flask nor Twilio's SDK; Twilio's REST client
is used only by the telephony adapter; and no two modules import each other while loading.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
SOURCES = ("flows", "payments", "verification", "prompts", "ivr", "app.py")
DOMAIN = ("prompts", "verification", "payments", "flows")
KERNEL = frozenset(
    f"ivr.{name}"
    for name in ("config", "db", "audit", "logs", "outbox", "migrate", "migrations", "models")
)
MAY_IMPORT = {
    "prompts": {"prompts"},
    "verification": {"verification", "kernel"},
    "payments": {"payments", "kernel"},
    "flows": {"flows", "prompts", "verification", "payments", "kernel"},
    "kernel": {"kernel"},
    "ivr": {"ivr", "kernel", *DOMAIN},
    "app": {"ivr", "kernel"},
}
# The fakes' tables sit beside the fakes, outside the kernel's models; Alembic's env.py (which
# nothing imports) needs them in the metadata, so it alone may import these from the kernel.
ALEMBIC_ENV = "ivr.migrations.env"
DEVELOPMENT_TABLES = frozenset(
    {
        "payments.gateways.sandbox_tables",
        "payments.rails.sandbox_tables",
        "ivr.adapters.local_tables",
    }
)
TELEPHONY_ADAPTER = "ivr.adapters.telephony"
TWILIO_REST = ("twilio.rest", "twilio.http", "twilio.base")


@dataclass(frozen=True)
class Import:
    path: str
    line: int
    statement: str
    importer: str
    target: str
    at_load: bool
    """Runs when the importing module loads: not inside a function nor under TYPE_CHECKING."""

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: `{self.statement}` imports {self.target}"


def module_name(path: str) -> str:
    parts = list(Path(path).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def layer(module: str) -> str | None:
    """The row of the table a module of ours belongs to; None for anyone else's module."""
    top = module.split(".")[0]
    if top in DOMAIN or module == "app":
        return top
    if top != "ivr":
        return None
    return "kernel" if module == "ivr" or any(_under(module, k) for k in KERNEL) else "ivr"


class _Walker(ast.NodeVisitor):
    """Every import statement, with whether it runs when the module loads."""

    def __init__(self) -> None:
        self.found: list[tuple[ast.Import | ast.ImportFrom, bool]] = []
        self._deferred = 0

    def _visit_deferred(self, nodes: Iterable[ast.AST]) -> None:
        self._deferred += 1
        for node in nodes:
            self.visit(node)
        self._deferred -= 1

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._visit_deferred(node.body)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._visit_deferred(node.body)

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        name = test.attr if isinstance(test, ast.Attribute) else getattr(test, "id", None)
        if name != "TYPE_CHECKING":
            self.generic_visit(node)
            return
        self._visit_deferred(node.body)
        for other in node.orelse:
            self.visit(other)

    def visit_Import(self, node: ast.Import) -> None:
        self.found.append((node, self._deferred == 0))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self.found.append((node, self._deferred == 0))


def imports_of(path: str, source: str, ours: Collection[str]) -> Iterator[Import]:
    """The imports in one file (``path`` relative to the root), one per imported module."""
    importer = module_name(path)
    package = importer if path.endswith("__init__.py") else importer.rpartition(".")[0]
    walker = _Walker()
    walker.visit(ast.parse(source, path))
    for node, at_load in walker.found:
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in ours else base
                for alias in node.names
            ]
        for target in dict.fromkeys(targets):
            yield Import(path, node.lineno, ast.unparse(node), importer, target, at_load)


def broken_rule(imp: Import) -> str | None:
    """The rule this import breaks, if any."""
    source, target = layer(imp.importer), layer(imp.target)
    top = imp.target.split(".")[0]
    if imp.importer == "ivr" and _under(imp.target, "ivr.web"):
        return "ivr/__init__.py imports nothing from ivr.web, so the kernel drags no Flask in"
    if source in (*DOMAIN, "kernel") and top in ("flask", "twilio"):
        return f"{source} imports neither Flask nor Twilio's SDK: it knows nothing of HTTP"
    if any(_under(imp.target, t) for t in TWILIO_REST) and imp.importer != TELEPHONY_ADAPTER:
        return f"Twilio's REST API is reached only through {TELEPHONY_ADAPTER}"
    if source is None or target is None or target in MAY_IMPORT[source]:
        return None
    if imp.importer == ALEMBIC_ENV and imp.target in DEVELOPMENT_TABLES:
        return None
    allowed = ", ".join(sorted(MAY_IMPORT[source]))
    return f"{source} may import only {allowed} of ours (the package table in DESIGN.md)"


def violations(imports: Iterable[Import]) -> list[str]:
    return [f"{imp}: {rule}" for imp in imports if (rule := broken_rule(imp))]


def cycles(imports: Iterable[Import]) -> list[list[str]]:
    """Groups of our modules that import each other, directly or around, while loading
    (Tarjan's strongly connected components; a package loading first is not an edge)."""
    graph: dict[str, set[str]] = {}
    for imp in imports:
        graph.setdefault(imp.importer, set())
        if imp.at_load and layer(imp.target) and imp.target != imp.importer:
            graph[imp.importer].add(imp.target)
            graph.setdefault(imp.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in sorted(graph[module]):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = [stack.pop()]
            while group[-1] != module:
                group.append(stack.pop())
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def ours(files: Iterable[str]) -> set[str]:
    return {module_name(path) for path in files}


def source_files() -> list[str]:
    files = []
    for entry in SOURCES:
        path = ROOT / entry
        found = [path] if path.is_file() else sorted(path.rglob("*.py"))
        files += [str(p.relative_to(ROOT)) for p in found]
    return files


@pytest.fixture(scope="module")
def our_imports() -> list[Import]:
    files = source_files()
    known = ours(files)
    return [imp for path in files for imp in imports_of(path, (ROOT / path).read_text(), known)]


def test_every_import_keeps_to_the_package_table(our_imports: list[Import]) -> None:
    assert {imp.path.split("/")[0] for imp in our_imports} == set(SOURCES)  # the walk saw all
    assert violations(our_imports) == []


def test_no_modules_import_each_other_while_loading(our_imports: list[Import]) -> None:
    assert cycles(our_imports) == []


def test_alembic_sees_every_table_declared_outside_the_kernels_models() -> None:
    declaring = set()
    for path in source_files():
        module = module_name(path)
        tree = ast.parse((ROOT / path).read_text())
        assigned = {
            target.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        if "__tablename__" in assigned and not _under(module, "ivr.models"):
            declaring.add(module)
    env = "ivr/migrations/env.py"
    imported = {
        imp.target for imp in imports_of(env, (ROOT / env).read_text(), ours(source_files()))
    }
    assert declaring == DEVELOPMENT_TABLES
    assert imported >= DEVELOPMENT_TABLES


# The checker itself, on small sources: each line is (file, source, the rule it must break).
OURS = {
    "flows.journey",
    "flows",
    "ivr",
    "ivr.adapters.delivery",
    "ivr.adapters.local_tables",
    "ivr.audit",
    "ivr.channels",
    "ivr.channels.voice",
    "ivr.models",
    "ivr.web",
    "ivr.web.factory",
    "payments",
    "payments.cards",
    "prompts",
    "verification",
}
TYPE_ONLY = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from flows import Turn\n"


@pytest.mark.parametrize(
    ("path", "source", "rule"),
    [
        ("prompts/speech.py", "import ivr.models", "prompts may import only prompts of ours"),
        ("prompts/speech.py", "from prompts import x", None),
        ("payments/ledger.py", "def f():\n    from flows import journey", "payments may import"),
        ("payments/ledger.py", "from verification import lookup", "payments may import"),
        ("payments/ledger.py", TYPE_ONLY, "payments may import"),
        ("payments/ledger.py", "from ivr import audit, models", None),
        ("payments/ledger.py", "from ivr import channels", "payments may import"),
        ("verification/lookup.py", "import payments.cards", "verification may import"),
        ("flows/payment.py", "from payments import cards\nimport prompts, verification", None),
        ("flows/payment.py", "from ivr.channels import voice", "flows may import"),
        ("flows/payment.py", "from flask import request", "flows imports neither Flask"),
        ("verification/agents.py", "import twilio.twiml", "verification imports neither"),
        ("ivr/logs.py", "from payments import cards", "kernel may import only kernel of ours"),
        ("ivr/models/base.py", "from ..channels import voice", "kernel may import"),
        ("ivr/models/base.py", "from .. import audit", None),
        ("ivr/db.py", "import flask", "kernel imports neither Flask nor Twilio"),
        ("ivr/__init__.py", "from ivr.web import factory", "ivr/__init__.py imports nothing"),
        ("ivr/__init__.py", "from ivr import web", "ivr/__init__.py imports nothing"),
        ("ivr/migrations/env.py", "from ivr.adapters import local_tables", None),
        ("ivr/migrations/env.py", "from ivr.adapters import delivery", "kernel may import"),
        ("ivr/channels/voice.py", "from flows import journey\nimport flask", None),
        ("ivr/channels/voice.py", "from twilio.rest import Client", "only through ivr.adapters"),
        ("ivr/adapters/telephony.py", "from twilio.rest import Client", None),
        ("app.py", "from ivr.web.factory import create_app", None),
        ("app.py", "from flows import journey", "app may import only ivr, kernel of ours"),
    ],
)
def test_the_checker_names_the_file_line_import_and_rule(
    path: str, source: str, rule: str | None
) -> None:
    found = violations(imports_of(path, source, OURS))
    if rule is None:
        assert found == []
        return
    assert len(found) == 1
    [message] = found
    last = len(source.splitlines())  # where each source above puts its offending import
    assert message.startswith(f"{path}:{last}: `")
    assert rule in message


def test_the_checker_quotes_the_import_as_written() -> None:
    [message] = violations(imports_of("payments/ledger.py", "\n\nfrom flows import journey", OURS))
    assert message == (
        "payments/ledger.py:3: `from flows import journey` imports flows.journey: payments may"
        " import only kernel, payments of ours (the package table in DESIGN.md)"
    )


def test_the_cycle_check_finds_modules_loading_each_other_but_not_deferred_imports() -> None:
    ours = {"flows.a", "flows.b", "flows.c", "flows"}
    loop = [
        *imports_of("flows/a.py", "from flows import b", ours),
        *imports_of("flows/b.py", "import flows.c", ours),
        *imports_of("flows/c.py", "from flows.a import x", ours),
    ]
    assert cycles(loop) == [["flows.a", "flows.b", "flows.c"]]
    deferred = [
        *imports_of("flows/a.py", "from flows import b", ours),
        *imports_of("flows/b.py", "def f():\n    from flows import a", ours),
        *imports_of(
            "flows/c.py", TYPE_ONLY.replace("from flows import Turn", "import flows.a"), ours
        ),
        *imports_of("flows/__init__.py", "from flows.a import x", ours),
    ]
    assert cycles(deferred) == []
