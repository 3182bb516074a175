"""Import throughput: ``ivr accounts import`` of a generated file into an empty schema, timed
from outside, as an operator running the nightly export would see it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from bench.accounts import write_csv
from bench.server import ROOT


def rows_per_second(database_url: str, rows: int, workdir: Path) -> float:
    csv_path = write_csv(workdir / "import.csv", 0, rows)
    ivr = Path(sys.executable).with_name("ivr")
    env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
    started = time.perf_counter()
    try:
        done = subprocess.run(  # noqa: S603 - the project's own command
            [str(ivr), "accounts", "import", str(csv_path)],
            cwd=ROOT, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
    finally:
        csv_path.unlink(missing_ok=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0 or f"Imported {rows} accounts" not in done.stdout:
        raise RuntimeError(f"ivr accounts import failed ({done.returncode}):\n{done.stderr}")
    return rows / seconds
