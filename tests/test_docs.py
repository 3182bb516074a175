"""The documentation and the code it describes, kept in step."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from ivr.config import Settings

CONFIGURATION = Path(__file__).parent.parent / "docs" / "configuration.md"
ROW = re.compile(r"^\|\s*(`[^|]+)\|")
NAME = re.compile(r"`([A-Z][A-Z0-9_]*)`")


def documented_settings(markdown: str) -> list[str]:
    """The names in the first column of the settings table: the table under the page's title,
    up to the next heading (rows may name several settings, as `SMTP_PORT`, `SMTP_USERNAME`)."""
    table = markdown.split("\n## ", 1)[0]
    return [
        name
        for line in table.splitlines()
        if (row := ROW.match(line))
        for name in NAME.findall(row[1])
    ]


def test_every_setting_has_a_row_in_docs_configuration_and_every_row_a_setting():
    documented = documented_settings(CONFIGURATION.read_text())
    settings = [field.name for field in fields(Settings)]
    assert sorted(set(settings) - set(documented)) == [], "add these to docs/configuration.md"
    assert sorted(set(documented) - set(settings)) == [], "not settings: drop or fix these rows"
    assert len(documented) == len(set(documented)), "a setting has two rows"


def test_the_parser_reads_rows_naming_several_settings():
    page = (
        "# T\n\n| variable | default |\n|---|---|\n| `A_B`, `C` | `1`, `2` |\n"
        "\n## Other\n| `D` | x |\n"
    )
    assert documented_settings(page) == ["A_B", "C"]
