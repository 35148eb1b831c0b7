"""What sqlfluff's jinja templater renders dbt's names with when it lints the project's SQL
(`make lint`; .sqlfluff names this folder as its library_path). sqlfluff's own dbt builtins
give a placeholder string for every var, which breaks the macros that loop over a var or do
arithmetic with it, and they know nothing of env_var, exceptions or dbt's cross-database
macros. Here the vars are dbt_project.yml's own, env_var is fixed (below), and the
cross-database macros render as dbt-duckdb renders them, so the linter parses the SQL dbt
runs."""

from pathlib import Path

import yaml
from jinja2 import pass_context
from jinja2.exceptions import TemplateRuntimeError, UndefinedError

_PROJECT = yaml.safe_load((Path(__file__).parent.parent / "dbt_project.yml").read_text())
_VARS = _PROJECT.get("vars") or {}


def var(name, default=None):
    """A dbt var, as dbt_project.yml sets it."""
    if name in _VARS:
        return _VARS[name]
    if default is None:
        # dbt fails on it too; as a Jinja error sqlfluff reports it (TMP) and goes on
        raise UndefinedError(f"var {name!r} is not set in dbt_project.yml")
    return default


# the incremental build from a date (README, "Incremental marts") renders the most SQL: the
# models' branches for it are linted as dbt runs them (sqlfluff also renders the other side
# of each if, as variants)
_ENV = {"LOCKSTEP_INPUTS_CHANGED_FROM": "2025-12-01"}


def env_var(name, default=""):
    """An environment variable as the dbt step sets it for an incremental build; any other
    as unset (its default), so the SQL linted is the same on every machine."""
    return _ENV.get(name, default)


class _Exceptions:
    @staticmethod
    def raise_compiler_error(message):
        raise TemplateRuntimeError(message)


class _Dbt:
    """dbt's cross-database macros, rendered as dbt-duckdb renders them."""

    @staticmethod
    def dateadd(datepart, interval, from_date_or_timestamp):
        return f"date_add({from_date_or_timestamp}, interval ({interval}) {datepart})"

    @staticmethod
    def datediff(first_date, second_date, datepart):
        return f"date_diff('{datepart}', {first_date}::timestamp, {second_date}::timestamp)"

    @staticmethod
    def last_day(date, datepart):
        return (f"cast(date_trunc('{datepart}', {date}) + interval 1 {datepart}"
                " - interval 1 day as date)")

    @staticmethod
    def generate_series(upper_bound):
        return f"select generate_series as generated_number from generate_series(1, {upper_bound})"


exceptions = _Exceptions()
dbt = _Dbt()
invocation_id = "00000000-0000-0000-0000-000000000000"


class _Target:
    """dbt's `target`: the DuckDB one, so the SQL linted is what the DuckDB build runs (the
    Spark side of each engine switch is what dbt-spark runs; the Spark tests cover it)."""

    type = "duckdb"
    name = "dev"


class _Config:
    """dbt's `config` in a model: config(...) renders nothing, config.get(...) is unset."""

    def __call__(self, *args, **kwargs):
        return ""

    @staticmethod
    def get(name, default=None, **kwargs):
        return default


class _Adapter:
    """dbt's `adapter.dispatch`, as dbt-duckdb resolves it: the duckdb__ macro of the name,
    else the default__ one (macros/portable.sql and the other engine switches)."""

    @staticmethod
    @pass_context
    def dispatch(context, name, macro_namespace=None):
        for prefix in ("duckdb__", "default__"):
            macro = context.get(prefix + name)
            if macro is not None:
                return macro
        raise UndefinedError(f"no duckdb__ or default__ macro for {name!r}")


target = _Target()
config = _Config()
adapter = _Adapter()
