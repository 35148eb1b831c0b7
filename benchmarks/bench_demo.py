"""Time `make demo` on a fresh clone (cold and warm uv cache), the code location's load and
one full materialization of the demo universe -- next to a trivial one-asset Dagster + dbt
project on the same machine at the same moment, the yardstick the targets were set against.

    uv run python benchmarks/bench_demo.py [--repeat 3] [--skip-cold]

A script, not a test: it prints a Markdown table for benchmarks/README.md with the machine
it ran on.
Everything runs in a fresh clone of the committed HEAD, set up by its own `make demo`, so
the figures are what a user's checkout does (its dbt partial-parse state, its .lockstep
state directory); each materialization starts from an empty warehouse. ../shared is not
needed (demo data is generated).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# runs inside the clone's .venv: the same job `make run` executes, in-process executor
MATERIALIZE = """
import time, dagster as dg
from orchestration.definitions import defs
from orchestration.partitions import range_tags, years
from orchestration.sources.demo.client import START
job = defs.resolve_job_def('daily_refresh')
t = time.monotonic()
# what `make demo` runs on a fresh instance: the first load, every year the demo covers
r = job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
                           tags=range_tags(*years(START.year)))
assert r.success
print(time.monotonic() - t)
"""

# the yardstick: one dbt model, one @dbt_assets, stock DbtCliResource, same timing boundary
TRIVIAL_DEFS = """
import sys, time, dagster as dg
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets
project = DbtProject(project_dir=sys.argv[1])
@dbt_assets(manifest=project.manifest_path)
def trivial(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    yield from dbt.cli(["build"], context=context).stream()
defs = dg.Definitions(assets=[trivial], jobs=[dg.define_asset_job("all", "*")],
                      resources={"dbt": DbtCliResource(project_dir=project,
                                                       dbt_executable=sys.argv[2])})
job = defs.resolve_job_def("all")
t = time.monotonic()
r = job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
assert r.success
print(time.monotonic() - t)
"""


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


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    started = time.monotonic()
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if out.returncode != 0:
        sys.stderr.write(out.stdout[-4000:] + out.stderr[-4000:])
        raise SystemExit(f"{' '.join(cmd)} failed in {cwd}")
    return elapsed, out.stdout


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LOCKSTEP_", "DAGSTER_", "VIRTUAL_ENV", "UV_PROJECT", "DBT_"))}
    env.update(extra)
    return env


def clone_and_demo(parent: Path, uv_cache: Path | None) -> tuple[Path, float]:
    clone = parent / "lockstep"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    extra = {"UV_CACHE_DIR": str(uv_cache)} if uv_cache else {}
    elapsed, _ = run(["make", "demo"], clone, clean_env(**extra))
    return clone, elapsed


def project_env(clone: Path) -> dict[str, str]:
    """What the Makefile exports for `make run` in that checkout."""
    return clean_env(LOCKSTEP_SOURCE="demo", LOCKSTEP_STATE_DIR=str(clone / ".lockstep"),
                     LOCKSTEP_WAREHOUSE=str(clone / "warehouse" / "lockstep.duckdb"),
                     DAGSTER_HOME=str(clone / ".lockstep" / "dagster_home"),
                     DBT_SEND_ANONYMOUS_USAGE_STATS="false")


def python_of(clone: Path) -> str:
    return str(clone / ".venv" / "bin" / "python")


def materializations(clone: Path, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        subprocess.run(["make", "--no-print-directory", "clean-warehouse"], cwd=clone,
                       env=clean_env(), check=True, capture_output=True)
        _, out = run([python_of(clone), "-c", MATERIALIZE], clone, project_env(clone))
        times.append(float(out.strip().splitlines()[-1]))
    return times


def loads(clone: Path, repeat: int, code: str) -> list[float]:
    """Wall time of a fresh interpreter running `code` (what a Dagster code server does on
    start: import the code location; the dbt manifest is already prepared)."""
    return [run([python_of(clone), "-c", code], clone, project_env(clone))[0]
            for _ in range(repeat)]


def trivial_project(clone: Path, tmp: Path, repeat: int) -> list[float]:
    project = tmp / "trivial"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(textwrap.dedent("""\
        name: trivial
        version: "1.0"
        profile: trivial
        """))
    (project / "profiles.yml").write_text(textwrap.dedent(f"""\
        trivial:
          target: local
          outputs:
            local:
              type: duckdb
              path: "{tmp / 'trivial.duckdb'}"
              threads: 1
        """))
    (project / "models" / "one.sql").write_text("select 1 as one\n")
    dbt = str(clone / ".venv-dbt" / "bin" / "dbt")
    env = {**clean_env(DBT_SEND_ANONYMOUS_USAGE_STATS="false"),
           "DBT_PROFILES_DIR": str(project)}
    run([dbt, "parse", "--quiet"], project, env)
    script = tmp / "trivial_defs.py"
    script.write_text(TRIVIAL_DEFS)
    return [float(run([python_of(clone), str(script), str(project), dbt], tmp, env)[1]
                  .strip().splitlines()[-1]) for _ in range(repeat)]


def summary(values: list[float]) -> str:
    return (f"{statistics.median(values):.1f} s (min {min(values):.1f}, "
            f"max {max(values):.1f})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-cold", action="store_true",
                        help="skip `make demo` with a cold uv cache")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="lockstep-bench-") as tmp:
        tmp = Path(tmp)
        if not args.skip_cold:
            cold = tmp / "cold"
            cold.mkdir()
            _, elapsed = clone_and_demo(cold, tmp / "uv-cache")
            rows.append(("`make demo`, fresh clone, cold uv cache", f"{elapsed:.1f} s"))
        warm = tmp / "warm"
        warm.mkdir()
        clone, elapsed = clone_and_demo(warm, None)
        rows.append(("`make demo`, fresh clone, warm uv cache", f"{elapsed:.1f} s"))
        print("progress: make demo done", file=sys.stderr)
        n = args.repeat
        rows.append((f"floor: `import dagster` alone, fresh interpreter (median of {n})",
                     summary(loads(clone, n, "import dagster"))))
        rows.append((f"code location load, fresh interpreter (median of {n})",
                     summary(loads(clone, n, "import orchestration.definitions"))))
        rows.append((f"yardstick: trivial one-asset Dagster + dbt project, one "
                     f"materialization (median of {n})", summary(trivial_project(clone, tmp, n))))
        rows.append((f"one full materialization of the demo universe (median of {n})",
                     summary(materializations(clone, n))))
    print(f"Machine: {machine()}\n")
    print("| what | wall time |\n|---|---:|")
    for what, value in rows:
        print(f"| {what} | {value} |")


if __name__ == "__main__":
    main()
