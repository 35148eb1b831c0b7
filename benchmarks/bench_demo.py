"""Time `make demo` on a fresh clone (cold and warm uv cache) and one full materialization.

    uv run python benchmarks/bench_demo.py [--repeat 3] [--skip-clone]

A script, not a test: it prints a Markdown table for the README with the machine it ran on.
The fresh clone is of the committed HEAD; ../shared is not needed (demo data is generated).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{os.cpu_count()} cores ({cpu}), {mem_gb:.0f} GiB RAM, "
            f"Python {platform.python_version()}")


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.monotonic()
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if out.returncode != 0:
        sys.stderr.write(out.stdout[-4000:] + out.stderr[-4000:])
        raise SystemExit(f"{' '.join(cmd)} failed in {cwd}")
    return elapsed


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LOCKSTEP_", "DAGSTER_", "VIRTUAL_ENV", "UV_PROJECT"))}
    env.update(extra)
    return env


def make_demo_on_fresh_clone(uv_cache: Path | None) -> float:
    with tempfile.TemporaryDirectory(prefix="lockstep-bench-") as tmp:
        clone = Path(tmp) / "lockstep"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        extra = {"UV_CACHE_DIR": str(uv_cache)} if uv_cache else {}
        return timed(["make", "demo"], clone, clean_env(**extra))


def one_materialization(repeat: int) -> list[float]:
    """`make run`'s job on demo data into a new warehouse each time, in-process executor."""
    code = (
        "import time, dagster as dg\n"
        "from orchestration.definitions import defs\n"
        "t = time.monotonic()\n"
        "r = defs.resolve_job_def('daily_refresh').execute_in_process("
        "instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)\n"
        "assert r.success\n"
        "print(time.monotonic() - t)\n"
    )
    times = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="lockstep-bench-run-") as tmp:
            env = clean_env(LOCKSTEP_SOURCE="demo", LOCKSTEP_WAREHOUSE=f"{tmp}/w.duckdb",
                            LOCKSTEP_STATE_DIR=f"{tmp}/state",
                            DBT_SEND_ANONYMOUS_USAGE_STATS="false")
            # generate the demo files first so the timing is the materialization alone
            subprocess.run([sys.executable, "-m", "orchestration.cli", "demo-data"], cwd=ROOT,
                           env=env, check=True, capture_output=True)
            out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                                 capture_output=True, text=True)
            if out.returncode != 0:
                sys.stderr.write(out.stderr[-4000:])
                raise SystemExit("materialization failed")
            times.append(float(out.stdout.strip().splitlines()[-1]))
    return times


def code_location_load(repeat: int) -> list[float]:
    """Wall time of importing the code location in a fresh interpreter (what a Dagster code
    server does on start), the dbt manifest already prepared."""
    times = []
    for _ in range(repeat):
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", "import orchestration.definitions"], cwd=ROOT,
                       env=clean_env(), check=True)
        times.append(time.monotonic() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-clone", action="store_true",
                        help="only time the materialization")
    args = parser.parse_args()
    rows = []
    if not args.skip_clone:
        with tempfile.TemporaryDirectory(prefix="lockstep-uv-cache-") as cache:
            rows.append(("`make demo`, fresh clone, cold uv cache",
                         f"{make_demo_on_fresh_clone(Path(cache)):.1f} s"))
        rows.append(("`make demo`, fresh clone, warm uv cache",
                     f"{make_demo_on_fresh_clone(None):.1f} s"))
    loads = code_location_load(args.repeat)
    rows.append((f"code location load, fresh interpreter (median of {len(loads)})",
                 f"{statistics.median(loads):.1f} s (min {min(loads):.1f}, max {max(loads):.1f})"))
    runs = one_materialization(args.repeat)
    rows.append((f"one full materialization of the demo universe (median of {len(runs)})",
                 f"{statistics.median(runs):.1f} s (min {min(runs):.1f}, max {max(runs):.1f})"))
    print(f"Machine: {machine()}\n")
    print("| what | wall time |\n|---|---:|")
    for what, value in rows:
        print(f"| {what} | {value} |")
    shutil.rmtree(ROOT / "benchmarks" / "out", ignore_errors=True)


if __name__ == "__main__":
    main()
