"""`make lint`'s SQL half: sqlfluff with the committed .sqlfluff (jinja templater, DuckDB
dialect, dbt's names from dbt_project/lint_context) renders the house style's SQL without
complaint and still catches what its rules are for. CI runs `make lint` over the whole dbt
project (.ci/run); these check the configuration itself, on SQL written here."""

import configparser
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

CONFIG = PROJECT_ROOT / ".sqlfluff"

# the house style: aligned aliases, a `using` join, a one-line filter, the domain's column
# names (date, close), a loop over a dbt var and dbt's cross-database date macro
HOUSE_STYLE = """\
{%- set pairs = var('divergence_pairs') %}
with prices as (
    select * from {{ ref('stg_market_prices') }} where close > 0
),

pairs as (
    {%- for p in pairs %}
    select '{{ p.leader }}' as leader, '{{ p.laggard }}' as laggard
    {%- if not loop.last %} union all{% endif %}
    {%- endfor %}
)

select
    p.leader,
    i.instrument_name,
    x.date,
    x.close,
    cast({{ dbt.dateadd('day', 1, 'x.date') }} as date)   as next_day
from prices as x
inner join pairs as p on p.leader = x.symbol
inner join {{ ref('stg_instruments') }} as i using (symbol)
"""

# an unused CTE (ST03), upper-case keywords among lower-case ones (CP01), a join that does
# not say which (AM05) and a column it cannot tell the table of (RF01)
FAULTY = """\
with unused as (
    select 1 as one
),

prices as (
    SELECT symbol, close from {{ ref('stg_market_prices') }}
)

select p.symbol, q.close
from prices as p
join {{ ref('stg_instruments') }} as i on i.symbol = p.symbol
"""


def _lint(tmp_path: Path, sql: str) -> set[str]:
    model = tmp_path / "model.sql"
    model.write_text(sql)
    # the project's .sqlfluff, named: the file lies outside the project
    out = subprocess.run([sys.executable, "-m", "sqlfluff", "lint", "--config", str(CONFIG),
                          "--format", "json", "--nofail", str(model)], cwd=PROJECT_ROOT,
                         capture_output=True, text=True, check=True)
    [result] = json.loads(out.stdout)
    return {v["code"] for v in result["violations"]}


def test_the_house_style_passes(tmp_path):
    assert _lint(tmp_path, HOUSE_STYLE) == set()


def test_the_rules_still_catch_faults(tmp_path):
    assert {"ST03", "CP01", "AM05", "RF01"} <= _lint(tmp_path, FAULTY)


def test_a_var_the_project_does_not_set_is_a_templating_error(tmp_path):
    assert "TMP" in _lint(tmp_path, "select {{ var('no_such_var') }} as x\n")


def test_every_rule_turned_off_says_why():
    config = configparser.ConfigParser()
    config.read(CONFIG)
    assert config["sqlfluff"]["dialect"] == "duckdb"
    assert config["sqlfluff"]["templater"] == "jinja"
    off = {r.strip() for r in config["sqlfluff"]["exclude_rules"].split(",")}
    reasons = dict(re.findall(r"^#\s+([A-Z]{2}\d{2})\s+(\S.*)$", CONFIG.read_text(), re.M))
    assert off == set(reasons), (off ^ set(reasons))
    assert all(len(why) > 20 for why in reasons.values())


@pytest.mark.parametrize("target", [".ci/run"])
def test_ci_runs_the_linter_before_the_tests(target):
    lines = [line.strip() for line in (PROJECT_ROOT / target).read_text().splitlines()]
    assert lines.index("make lint") < lines.index("make test")
