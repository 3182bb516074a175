"""Import throughput: ``ivr accounts import`` of a generated file into an empty schema, timed
from outside, as an operator running the nightly export would see it.

``python -m bench.importing [--rows N] [--runs K]`` measures only this, on a new private schema
per run, for working on the importer without the whole benchmark.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from bench import options
from bench.accounts import write_csv
from bench.plan import FULL
from bench.server import ROOT
from ivr import migrate


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.importing", description=__doc__)
    parser.add_argument("--rows", type=int, default=FULL.import_rows)
    parser.add_argument("--runs", type=int, default=1)
    options.add_common(parser)
    args = parser.parse_args(argv)
    if not options.ready(args):
        return 2
    for _ in range(args.runs):
        with migrate.private_schema(args.database_url, "ivr_bench") as url:
            rate = rows_per_second(url, args.rows, args.out)
        print(f"import: {rate:.0f} rows/s ({args.rows} rows)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
