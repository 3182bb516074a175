"""The atheris fuzz target runs for a bounded time in every CI run (longer runs by hand)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECONDS = 10


def test_parsers_survive_coverage_guided_fuzzing(tmp_path: Path) -> None:
    result = subprocess.run(  # noqa: S603 - our own interpreter and target
        [
            sys.executable, "-m", "tests.fuzz.parsers",
            f"-max_total_time={SECONDS}", "-timeout=5", "-rss_limit_mb=2048",
            f"-artifact_prefix={tmp_path}/",
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=SECONDS + 60, check=False,
    )  # fmt: skip
    report = result.stderr[-3000:]
    assert result.returncode == 0, report
    assert "Done" in report  # libFuzzer's summary: the run went the distance, not a crash
