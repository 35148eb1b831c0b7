"""What writing the dbt descriptions into DuckDB's catalog costs (`+persist_docs`): the same
`dbt build` of the daily job (models and data tests, no unit tests) on copies of one
warehouse, with the project as it is and with `+persist_docs` taken out of a copy of it.

    uv run python benchmarks/bench_persist_docs.py WAREHOUSE [--repeat 3]

WAREHOUSE is a built lockstep warehouse (its raw tables are what dbt reads; e.g. the one
`make demo` leaves in warehouse/lockstep.duckdb). A script, not a test: it prints a Markdown
table for benchmarks/README.md with the machine; each build runs on a fresh copy, after one untimed
build that leaves dbt's partial-parse state.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench_demo import machine  # same directory: run as a script

ROOT = Path(__file__).resolve().parent.parent
DBT = ROOT / ".venv-dbt" / "bin" / "dbt"
BUILD = ["build", "--exclude-resource-type", "unit_test", "exposure", "--quiet"]


def _project(into: Path, persist: bool) -> Path:
    project = into / "dbt_project"
    shutil.copytree(ROOT / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs"))
    if not persist:
        config = project / "dbt_project.yml"
        text = re.sub(r"\n +\+persist_docs:\n +relation: true\n +columns: true", "",
                      config.read_text())
        assert "persist_docs" not in text
        config.write_text(text)
    return project


def _build(project: Path, warehouse: Path, source: Path) -> float:
    shutil.copyfile(source, warehouse)
    env = {**os.environ, "LOCKSTEP_WAREHOUSE": str(warehouse),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    started = time.monotonic()
    subprocess.run([str(DBT), *BUILD, "--profiles-dir", "."], cwd=project, env=env, check=True)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for persist in (True, False):
            where = Path(tmp) / ("with" if persist else "without")
            where.mkdir()
            project = _project(where, persist)
            warehouse = where / "lockstep.duckdb"
            _build(project, warehouse, args.warehouse)  # parse state, untimed
            times = [_build(project, warehouse, args.warehouse) for _ in range(args.repeat)]
            rows.append((persist, times))
    print(f"Machine: {machine()}\n")
    print("| `+persist_docs` | dbt build, median (min, max) |")
    print("|---|---:|")
    for persist, times in rows:
        print(f"| {'on (as shipped)' if persist else 'off'} | {statistics.median(times):.1f} s "
              f"({min(times):.1f}, {max(times):.1f}) |")


if __name__ == "__main__":
    main()
