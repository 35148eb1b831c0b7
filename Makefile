# lockstep -- the front door. Every target sets itself up, idempotently.
#   make demo     synthetic demo data through the whole pipeline, then the snapshot
#   make test     the test suite, all of it (what CI runs)
#   make test-fast the quick loop: no real history, browser or pipeline build (docs/testing.md)
#   make run      the pipeline on LOCKSTEP_SOURCE (demo | files | live; LOCKSTEP_FULL_REFRESH=1 rebuilds all)
#   make refresh  the pipeline on live Yahoo + FRED data (needs FRED_API_KEY)
#   make dev      the Dagster UI on http://127.0.0.1:3000 (DEV_PORT=...), for LOCKSTEP_WAREHOUSE
#   make dashboard the dashboard on http://127.0.0.1:8501 (reads the published copy)
#   make brief    the day's story as Markdown (DATE=YYYY-MM-DD, default: the latest date)
#   make docs     dbt's docs (lineage, columns, types, tests) on http://127.0.0.1:8080

SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3

export LOCKSTEP_SOURCE ?= demo
export LOCKSTEP_ENGINE ?= duckdb
export LOCKSTEP_STATE_DIR ?= $(CURDIR)/.lockstep
export LOCKSTEP_WAREHOUSE ?= $(CURDIR)/warehouse/lockstep.duckdb
# No DAGSTER_HOME here: each warehouse has its own Dagster instance, under
# $(LOCKSTEP_STATE_DIR)/warehouses/<stem>-<hash of its path>/dagster_home, which the commands
# below derive (orchestration/settings.py, dagster_home); a DAGSTER_HOME you export wins.
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export UV_PYTHON_DOWNLOADS := never

# uv from PATH, else the one pip installs as a module
UV = $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
RUN = $(UV) run --frozen --no-sync
# dbt has its own environment (pyproject's `dbt` group): Dagster runs it as a CLI, and the
# code location loads without importing dbt-core. Same uv.lock as .venv.
DBT = $(CURDIR)/.venv-dbt/bin/dbt

DBT_SOURCES := $(shell find dbt_project/models dbt_project/macros dbt_project/tests -type f 2>/dev/null) \
               dbt_project/dbt_project.yml dbt_project/profiles.yml
MANIFEST := dbt_project/target/manifest.json
# the warehouse the manifest was parsed for: dbt's partial parsing (which spares every run a
# full parse) only holds for that path, so a new LOCKSTEP_WAREHOUSE re-parses once
PARSED_FOR := dbt_project/target/.parsed-for
$(shell mkdir -p dbt_project/target; echo "$(LOCKSTEP_WAREHOUSE) $(LOCKSTEP_ENGINE)" | cmp -s - $(PARSED_FOR) \
  || echo "$(LOCKSTEP_WAREHOUSE) $(LOCKSTEP_ENGINE)" > $(PARSED_FOR))

.PHONY: help setup run demo refresh backfill test test-fast dev dashboard lint bench clean clean-warehouse demo-data snapshot brief docs screenshots automation-on automation-off

help:
	@sed -n "2,10p" Makefile | sed 's/^# *//'

# Both environments are installed with their bytecode compiled (uv --compile-bytecode): a
# Python that may not write .pyc files (PYTHONDONTWRITEBYTECODE, a read-only install)
# otherwise compiles every module it imports on every start, and each run imports dagster,
# pandas, matplotlib and dbt-core: that would more than double their import time. It costs
# under a minute once, at install.
# Set-up chatter (pip, uv sync, dbt parse) goes to $(SETUP_LOG), unless VERBOSE=1; a
# failing step prints the log's last lines.
SETUP_LOG := $(LOCKSTEP_STATE_DIR)/logs/setup.log
ifeq ($(strip $(VERBOSE)),)
QUIETLY = >>"$(SETUP_LOG)" 2>&1 || { echo "lockstep: $(1) failed; the last lines of $(SETUP_LOG):"; tail -n 25 "$(SETUP_LOG)"; exit 1; }
else
QUIETLY =
endif

.venv/.synced: pyproject.toml uv.lock
	@mkdir -p "$(dir $(SETUP_LOG))"
	@echo "lockstep: setting up the environments (uv sync; log: $(SETUP_LOG))"
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 \
	  || $(PYTHON) -m pip install --quiet uv $(call QUIETLY,installing uv) \
	  || $(PYTHON) -m pip install --quiet --user uv $(call QUIETLY,installing uv)
	@$(UV) sync --frozen --compile-bytecode $(call QUIETLY,uv sync)
	@touch $@

.venv-dbt/.synced: pyproject.toml uv.lock .venv/.synced
	@mkdir -p "$(dir $(SETUP_LOG))"
	@UV_PROJECT_ENVIRONMENT=.venv-dbt $(UV) sync --frozen --only-group dbt $(SPARK_GROUP) --compile-bytecode $(call QUIETLY,uv sync of .venv-dbt)
	@touch $@

# The Spark engine (LOCKSTEP_ENGINE=spark; docs/spark.md): pyspark and dbt-spark (pyproject's
# `spark` group) go into .venv-dbt beside dbt-duckdb, only when Spark is used, and the
# `.spark` mark keeps them there when .venv-dbt is synced again. Java comes from the system.
JAVA_MAJOR := $(shell java -version 2>&1 | sed -n 's/.*version "\(1\.\)\{0,1\}\([0-9]*\).*/\2/p' | head -n 1)
JAVA_OK := $(shell [ -n "$(JAVA_MAJOR)" ] && [ "$(JAVA_MAJOR)" -ge 17 ] 2>/dev/null && echo yes)
SPARK_GROUP = $(if $(wildcard .venv-dbt/.spark),--only-group spark)

.venv-dbt/.spark: pyproject.toml uv.lock .venv-dbt/.synced
	@$(if $(JAVA_OK),true,echo "lockstep: the Spark engine needs Java 17 or newer, and \
	  $(if $(JAVA_MAJOR),java here is version $(JAVA_MAJOR),there is no java on PATH). \
	  On Debian or Ubuntu: sudo apt-get install -y openjdk-17-jre-headless (docs/spark.md)"; exit 2)
	@mkdir -p "$(dir $(SETUP_LOG))"
	@echo "lockstep: adding the Spark engine to .venv-dbt (pyspark, dbt-spark; log: $(SETUP_LOG))"
	@UV_PROJECT_ENVIRONMENT=.venv-dbt $(UV) sync --frozen --only-group dbt --only-group spark --compile-bytecode $(call QUIETLY,uv sync of .venv-dbt with the spark group)
	@touch $@

# make test runs the Spark tests where Java 17+ is installed (they skip, saying why, where not)
SPARK_SETUP = $(if $(or $(filter spark,$(LOCKSTEP_ENGINE)),$(JAVA_OK)),.venv-dbt/.spark)

# dbt parse writes into a folder of its own, whose manifest and parse state then replace
# target/'s by a rename each: a process loading the code location meanwhile (a run, the UI,
# another `make` for another warehouse, a test) reads the old file or the new, never half
$(MANIFEST): .venv/.synced .venv-dbt/.synced $(DBT_SOURCES) $(PARSED_FOR)
	@mkdir -p "$(dir $(SETUP_LOG))"
	@echo "lockstep: preparing the dbt manifest (dbt parse; log: $(SETUP_LOG))"
	@set -e; cd dbt_project; parsing=$$(mktemp -d target/.parse-XXXXXX); \
	  trap 'rm -rf "$$parsing"' EXIT; \
	  cp target/partial_parse.msgpack "$$parsing/" 2>/dev/null || true; \
	  $(DBT) parse --quiet --profiles-dir . --target-path "$$parsing" $(call QUIETLY,dbt parse); \
	  mv -f "$$parsing/partial_parse.msgpack" "$$parsing/manifest.json" target/
	@touch $@

setup: .venv/.synced .venv-dbt/.synced $(if $(filter spark,$(LOCKSTEP_ENGINE)),.venv-dbt/.spark) $(MANIFEST)

run: setup
	@$(RUN) python -m orchestration.cli run

demo-data: setup
	@LOCKSTEP_SOURCE=demo $(RUN) python -m orchestration.cli demo-data

demo: demo-data
	@$(MAKE) --no-print-directory run LOCKSTEP_SOURCE=demo

refresh:
	@$(MAKE) --no-print-directory run LOCKSTEP_SOURCE=live

# make backfill START=2020-01-01 [END=2020-12-31]: re-load that range, rebuild the marts
backfill: setup
	@test -n "$(START)" || { echo "make backfill needs START=YYYY-MM-DD (and optionally END=)"; exit 2; }
	@$(RUN) python -m orchestration.cli run --start "$(START)" $(if $(END),--end "$(END)")

snapshot: setup
	@$(RUN) python -m orchestration.cli snapshot

# make brief [DATE=2025-12-11]: the day's story from marts.mart_daily_brief (latest by default)
brief: setup
	@$(RUN) python -m orchestration.cli brief $(if $(DATE),--date "$(DATE)")

# make docs [DOCS_PORT=8080]: dbt docs generate (against a copy of the warehouse) and serve
docs: setup
	@$(RUN) python -m orchestration.cli docs --port $(or $(DOCS_PORT),8080)

# PYTEST_ARGS passes more to pytest (a file, -k, -x). pytest's exit code 5 (no test
# collected or selected) fails both targets, as any other failure does. The tests run in
# two processes (pytest-xdist; TEST_WORKERS=0 runs them in this one): the machine's two
# cores; worksteal hands a worker that ran out a waiting test of the other's, and
# tests/conftest.py puts the longest first (docs/testing.md, "Two processes"). `make test`
# also installs the Spark group where Java 17+ is installed (the Spark tests skip, saying
# why, where it is not); `make test-fast` leaves them out (marker spark).
TEST_WORKERS ?= 2
XDIST = $(if $(filter 0,$(TEST_WORKERS)),-p no:xdist,-n $(TEST_WORKERS) --dist worksteal)
# The tests' temporary folders (warehouses, Dagster instances, published copies) go to
# memory (/dev/shm) when it is there: a run's Dagster instance commits each event to SQLite,
# and a first load plans thousands of them (one per asset and year), each a disk sync of
# about 8 ms on this machine, 0.1 ms in memory. pytest keeps only the last run's folders.
TEST_TMPDIR ?= $(shell test -d /dev/shm -a -w /dev/shm && echo /dev/shm)
TEST_ENV = $(if $(TEST_TMPDIR),TMPDIR=$(TEST_TMPDIR))
test: setup $(SPARK_SETUP)
	$(TEST_ENV) $(RUN) pytest $(XDIST) $(PYTEST_ARGS)

FAST_MARKERS = not real_data and not browser and not slow and not spark
test-fast: setup
	$(TEST_ENV) $(RUN) pytest -m "$(FAST_MARKERS)" $(XDIST) $(PYTEST_ARGS)

# `dagster ...` on the warehouse's own instance (orchestration/cli.py, `dagster`)
DAGSTER = $(RUN) python -m orchestration.cli dagster

# make dev [DEV_PORT=3000]: the UI, the daemon (schedules, sensors, the run queue) and the
# code server; Ctrl-C, SIGINT or SIGTERM to its process group stops them all
dev: setup
	$(DAGSTER) dev -w workspace.yaml -h 127.0.0.1 -p $(or $(DEV_PORT),3000)

# the two schedules and the automation sensor start stopped; these turn them on or off in
# the instance `make dev` runs (its daemon then launches the runs)
automation-on: setup
	@set -o pipefail; $(DAGSTER) schedule start --start-all -w workspace.yaml 2>&1 \
	  | grep -v dagster.code_server
	@set -o pipefail; $(DAGSTER) sensor start default_automation_condition_sensor \
	  -w workspace.yaml 2>&1 | grep -v dagster.code_server

automation-off: setup
	@set -o pipefail; for s in daily_refresh_weekdays daily_refresh_weekends; do \
	  $(DAGSTER) schedule stop $$s -w workspace.yaml 2>&1 | grep -v dagster.code_server; done
	@set -o pipefail; $(DAGSTER) sensor stop default_automation_condition_sensor \
	  -w workspace.yaml 2>&1 | grep -v dagster.code_server

# the dashboard reads only the published copy that `make run` writes with the same
# LOCKSTEP_WAREHOUSE / LOCKSTEP_PUBLISH_DIR (make demo / make run publish it)
dashboard: setup
	$(RUN) streamlit run dashboard/app.py --server.address 127.0.0.1 --server.port 8501 \
	  --server.headless true --browser.gatherUsageStats false

# docs/dashboard.md's pictures (docs/*.png), from the demo data in a temporary warehouse
screenshots: setup
	$(RUN) python docs/make_screenshots.py

# make lint: ruff over the Python, sqlfluff over the dbt project's SQL (.sqlfluff says which
# rules hold and why the others are off); CI runs it before the tests
lint: setup
	$(RUN) ruff check orchestration tests benchmarks dashboard docs dbt_project/lint_context
	$(RUN) sqlfluff lint dbt_project/models dbt_project/macros dbt_project/tests

bench: setup
	$(RUN) python benchmarks/bench_demo.py

clean-warehouse:
	rm -f "$(LOCKSTEP_WAREHOUSE)" "$(LOCKSTEP_WAREHOUSE).wal" "$(LOCKSTEP_WAREHOUSE).lock"

clean: clean-warehouse
	rm -rf .venv .venv-dbt .lockstep dbt_project/target dbt_project/logs
