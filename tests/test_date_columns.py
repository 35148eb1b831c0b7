"""Each mart declares its date column once (its YAML's `config: meta: date_column:`), and the
publish step and the UI's metadata use that column, never a guess such as "the first DATE
column"."""

import json
from datetime import date

import duckdb
import pytest
import yaml

from tests.conftest import PROJECT_ROOT

MARTS = PROJECT_ROOT / "dbt_project" / "models" / "marts"


def _contract(model: str) -> dict[str, str]:
    """The model's columns and types as its YAML declares them (the enforced contract)."""
    [spec] = [m for m in yaml.safe_load((MARTS / f"{model}.yml").read_text())["models"]
              if m["name"] == model]
    return {c["name"]: str(c.get("data_type", "")).lower() for c in spec["columns"]}


def test_every_mart_declares_its_date_column(dbt_manifest):
    from orchestration.project import mart_date_columns

    manifest = json.loads(dbt_manifest.read_text())
    marts = sorted(n["name"] for n in manifest["nodes"].values()
                   if n["resource_type"] == "model" and n["fqn"][1] == "marts")
    declared = mart_date_columns(manifest)
    assert [m for m in marts if m not in declared] == []
    for mart in marts:
        contract = _contract(mart)
        column = declared[mart]
        if column is None:  # no date of its own: said so, for a summary
            assert mart.endswith(("_summary", "_base_rates", "_significance", "_lead_lag")), mart
        else:
            assert contract[column] == "date", (mart, column)
    # a mart with a date in its key is dated by it
    assert declared["fct_divergence_daily"] == "date"
    assert declared["mart_daily_brief"] == "brief_date"
    assert declared["mart_lead_lag_rolling"] == "window_end_week"  # not its first DATE column
    assert next(c for c, kind in _contract("mart_lead_lag_rolling").items()
                if kind == "date") == "window_start_week"


def test_the_randomised_mart_declares_it_too():
    from orchestration.lib.randomisation import COLUMNS, DATE_COLUMN

    assert DATE_COLUMN is None  # a summary per pair and horizon
    assert "DATE" in {kind for _, kind, _ in COLUMNS}  # although it has DATE columns


def _windows(path):
    """A mart whose first DATE column is not its date: windows dated by their last day."""
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute("""CREATE TABLE marts.windows AS
                       SELECT DATE '2025-12-01' + i::INTEGER AS window_start,
                              DATE '2025-12-01' + i::INTEGER + 40 AS window_end, i AS value
                       FROM range(0, 30) r(i)""")


def test_publish_splits_and_compares_by_the_declared_column(tmp_path):
    from orchestration.lib.publish import publish_marts

    warehouse, root = tmp_path / "w.duckdb", tmp_path / "published"
    _windows(warehouse)
    # window_start runs 2025-12-01..2025-12-30, window_end 2026-01-10..2026-02-08: by the
    # declared column every row is of 2026 (by the first DATE column all would be of 2025)
    one = publish_marts(warehouse, root, "one", date_columns={"windows": "window_end"})
    assert one["date_columns"] == {"windows": "window_end"}
    assert sorted(p.name for p in (root / "v-one" / "parquet" / "windows").iterdir()) == \
        ["2026.parquet"]
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE marts.windows SET value = -1 WHERE window_end = DATE '2026-01-15'")
    two = publish_marts(warehouse, root, "two", date_columns={"windows": "window_end"})
    assert two["changes"]["windows"] == "1 of 30 dates (window_end) replaced, 1 of 30 rows"
    with duckdb.connect(str(root / "current" / "lockstep.duckdb"), read_only=True) as con:
        assert con.execute("SELECT window_start, value FROM marts.windows WHERE value < 0"
                           ).fetchall() == [(date(2025, 12, 6), -1)]
    # undeclared: no date, compared and written whole
    three = publish_marts(warehouse, root, "three", date_columns={})
    assert three["date_columns"] == {"windows": None}
    assert [p.name for p in (root / "v-three" / "parquet" / "windows").iterdir()] == \
        ["all.parquet"]


def test_a_declared_column_the_mart_does_not_have_is_a_clear_error(tmp_path):
    from orchestration.lib.publish import publish_marts

    warehouse, root = tmp_path / "w.duckdb", tmp_path / "published"
    _windows(warehouse)
    with pytest.raises(RuntimeError, match=r"marts\.windows declares date_column 'day' .* has "
                                           r"no such column"):
        publish_marts(warehouse, root, "one", date_columns={"windows": "day"})
    with pytest.raises(RuntimeError, match=r"'value' .* that column is BIGINT, not DATE"):
        publish_marts(warehouse, root, "one", date_columns={"windows": "value"})
    assert not (root / "current").exists()  # nothing published


def test_the_metadata_shows_the_range_of_the_declared_column(tmp_path):
    from orchestration.lib.mart_metadata import table_facts

    _windows(tmp_path / "w.duckdb")
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert table_facts(con, "marts", "windows", "window_end") == {
            "dagster/row_count": 30, "date_range": "2026-01-10 to 2026-02-08"}
        assert table_facts(con, "marts", "windows", None) == {"dagster/row_count": 30}
        assert table_facts(con, "marts", "missing", "window_end") == {}
