"""Every setting has one home, orchestration/settings.py: read there from the environment and
nowhere else, declared with the default README's Configuration table states, secrets hidden
when settings are printed."""

import ast
import re
from pathlib import Path

import pytest

from orchestration.settings import (
    DEFAULT_STATE_DIR,
    PROJECT_ROOT,
    VARIABLES,
    SettingsError,
    load_settings,
    lock_timeout,
)

SCANNED = ("orchestration", "dashboard")
ENVIRONMENT_READERS = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}


def _readme_configuration() -> dict[str, str]:
    """README's configuration table: variable -> default, as written (backquotes dropped)."""
    lines = (PROJECT_ROOT / "README.md").read_text().splitlines()
    start = lines.index("| variable | default | what |")
    table = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        name, default = (cell.strip().strip("`") for cell in line.split("|")[1:3])
        table[name] = default
    return table


def test_the_readme_table_lists_exactly_the_declared_settings_with_their_defaults():
    readme = _readme_configuration()
    declared = {v.name: v.default for v in VARIABLES.values()}
    assert sorted(set(declared) - set(readme)) == [], "declared, missing from README"
    assert sorted(set(readme) - set(declared)) == [], "in README, not read by lockstep"
    assert readme == declared


def test_the_declared_defaults_are_what_an_empty_environment_gives():
    """Each default as README states it is the value load_settings reads without the
    variable: a path relative to the repository, a number, a word, or nothing ('-')."""
    settings = load_settings({})
    checked = 0
    for name, var in VARIABLES.items():
        value = getattr(settings, name)
        if var.default == "-":
            assert value in (None, False), name
        elif "<" in var.default:
            continue  # worked out from other settings: the next test
        elif isinstance(value, Path):
            assert value == PROJECT_ROOT / var.default, name
        elif isinstance(value, float):
            assert value == float(var.default), name
        else:
            assert value == var.default, name
        checked += 1
    assert checked == len(VARIABLES) - 2


def test_the_worked_out_defaults():
    warehouse = "/data/w/prices.duckdb"
    settings = load_settings({"LOCKSTEP_WAREHOUSE": warehouse, "LOCKSTEP_STATE_DIR": "/s"})
    assert settings.publish_dir == Path("/data/w/published")
    assert settings.published_db == Path("/data/w/published/current/lockstep.duckdb")
    assert settings.dagster_home.parent.parent == Path("/s/warehouses")
    assert settings.dagster_home.parent.name.startswith("prices-")
    assert settings.dagster_home.name == "dagster_home"
    chosen = load_settings({"LOCKSTEP_WAREHOUSE": warehouse, "DAGSTER_HOME": "/home/d",
                            "LOCKSTEP_PUBLISH_DIR": "/pub"})
    assert (chosen.dagster_home, chosen.publish_dir) == (Path("/home/d"), Path("/pub"))


def test_every_setting_is_read_from_the_mapping_given():
    env = {"LOCKSTEP_SOURCE": "files", "LOCKSTEP_ENGINE": "spark", "LOCKSTEP_DATA_DIR": "/d",
           "LOCKSTEP_CATALOG": "/c.yaml",
           "LOCKSTEP_WAREHOUSE": "/w/x.duckdb", "LOCKSTEP_CREATE_DIRS": "1",
           "LOCKSTEP_STATE_DIR": "/s", "LOCKSTEP_PUBLISH_DIR": "/p",
           "LOCKSTEP_LOCK_TIMEOUT": "12.5", "LOCKSTEP_DUCKDB_MEMORY_LIMIT": "2GB",
           "LOCKSTEP_FULL_REFRESH": "yes", "LOCKSTEP_ALERT_WEBHOOK": "https://h.example/x",
           "VERBOSE": "1", "LOCKSTEP_DBT": "/bin/dbt", "DAGSTER_HOME": "/dh",
           "FRED_API_KEY": "k"}
    assert set(env) == {v.name for v in VARIABLES.values()}  # one value for each
    s = load_settings(env)
    assert (s.source, s.engine, s.data_dir, s.catalog, s.warehouse) == \
        ("files", "spark", Path("/d"), Path("/c.yaml"), Path("/w/x.duckdb"))
    assert s.spark_dir.parent.parent == Path("/s/warehouses")
    assert s.spark_dir.name == "spark"
    assert (s.create_dirs, s.state_dir, s.publish_dir, s.lock_timeout_s, s.memory_limit) == \
        (True, Path("/s"), Path("/p"), 12.5, "2GB")
    assert (s.full_refresh, s.alert_webhook, s.verbose, s.dbt, s.dagster_home,
            s.fred_api_key) == (True, "https://h.example/x", True, Path("/bin/dbt"),
                                Path("/dh"), "k")


@pytest.mark.parametrize("env, named", [
    ({"LOCKSTEP_SOURCE": "yahoo"}, "LOCKSTEP_SOURCE='yahoo'"),
    ({"LOCKSTEP_SOURCE": "files"}, "LOCKSTEP_DATA_DIR"),
    ({"LOCKSTEP_ENGINE": "postgres"}, "LOCKSTEP_ENGINE='postgres' is not one of duckdb, spark"),
    ({"LOCKSTEP_LOCK_TIMEOUT": "half an hour"}, "LOCKSTEP_LOCK_TIMEOUT='half an hour'"),
    ({"LOCKSTEP_FULL_REFRESH": "please"}, "LOCKSTEP_FULL_REFRESH='please'"),
])
def test_a_bad_value_is_an_error_naming_its_variable(env, named):
    with pytest.raises(SettingsError, match=re.escape(named)):
        load_settings(env)


def test_one_setting_is_read_alone():
    """A connection's lock timeout does not depend on the rest being valid."""
    assert lock_timeout({"LOCKSTEP_LOCK_TIMEOUT": "60", "LOCKSTEP_SOURCE": "nonsense"}) == 60.0


def test_secrets_are_hidden_when_settings_are_printed():
    key = "abcdef0123456789fred"
    hook = "https://hooks.example.com/services/T000/B000/s3cr3tT0ken?x=1"
    settings = load_settings({"FRED_API_KEY": key, "LOCKSTEP_ALERT_WEBHOOK": hook})
    for shown in (repr(settings), str(settings), f"{settings}"):
        assert key not in shown and "s3cr3tT0ken" not in shown and "/services" not in shown
        assert "fred_api_key='***'" in shown
        assert "alert_webhook='https://hooks.example.com/***'" in shown
    # the values themselves are there for the code that uses them
    assert (settings.fred_api_key, settings.alert_webhook) == (key, hook)
    assert "fred_api_key=None" in repr(load_settings({}))


def _environment_reads(path: Path) -> list[str]:
    """Where a module reads or writes the process environment: os.environ, os.getenv and
    their kin, however os was imported."""
    tree = ast.parse(path.read_text())
    os_names = {"os"}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            os_names |= {a.asname or a.name for a in node.names if a.name == "os"}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr in ENVIRONMENT_READERS
                and isinstance(node.value, ast.Name) and node.value.id in os_names):
            found.append(f"{path}:{node.lineno}: {node.value.id}.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module in ("os", "posix"):
            found += [f"{path}:{node.lineno}: from {node.module} import {a.name}"
                      for a in node.names if a.name in ENVIRONMENT_READERS]
    return found


def test_no_module_but_settings_reads_the_environment():
    reads = []
    for folder in SCANNED:
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py")):
            if path != PROJECT_ROOT / "orchestration" / "settings.py":
                reads += _environment_reads(path)
    assert reads == []
    # the scan finds what it looks for
    assert _environment_reads(PROJECT_ROOT / "orchestration" / "settings.py")


def test_the_makefile_and_dbt_profile_defaults_are_the_declared_ones():
    """The Makefile exports the warehouse, state directory and source for every command, and
    dbt's profile has defaults for dbt run by hand: the same as the settings'."""
    make = dict(re.findall(r"^export (\w+) \?= (.+)$",
                           (PROJECT_ROOT / "Makefile").read_text(), re.M))
    assert {name: value.replace("$(CURDIR)/", "") for name, value in make.items()} == {
        name: VARIABLES[field].default for name, field in (
            ("LOCKSTEP_SOURCE", "source"), ("LOCKSTEP_ENGINE", "engine"),
            ("LOCKSTEP_STATE_DIR", "state_dir"),
            ("LOCKSTEP_WAREHOUSE", "warehouse"))}
    profile = dict(re.findall(r"env_var\('(\w+)', '([^']*)'\)",
                              (PROJECT_ROOT / "dbt_project" / "profiles.yml").read_text()))
    assert profile == {"LOCKSTEP_ENGINE": VARIABLES["engine"].default,
                       "LOCKSTEP_WAREHOUSE": "../" + VARIABLES["warehouse"].default,
                       "LOCKSTEP_DUCKDB_MEMORY_LIMIT": VARIABLES["memory_limit"].default,
                       # the Spark engine's directory for dbt run by hand (the dbt step
                       # passes the warehouse's own, Settings.spark_dir)
                       "LOCKSTEP_SPARK_DIR": "../" + DEFAULT_STATE_DIR + "/spark"}


def test_every_make_step_that_logs_to_the_setup_log_makes_its_folder_first():
    """A step that writes set-up chatter to $(SETUP_LOG) may be the first to run for a new
    LOCKSTEP_STATE_DIR (the Spark group's sync, after uv.lock changed, when the others are
    current): each makes the log's folder itself, or it fails with "No such file or
    directory" and no log to show."""
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    rules = re.split(r"\n(?=[^\s#][^\n]*:)", makefile)
    logging = [rule for rule in rules if "$(call QUIETLY" in rule]
    assert len(logging) >= 4
    for rule in logging:
        assert 'mkdir -p "$(dir $(SETUP_LOG))"' in rule, rule.splitlines()[0]
