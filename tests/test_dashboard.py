"""The dashboard renders every page against a published warehouse built from demo data, with
the synthetic label on each, its controls working and its tables formatted for people
(Streamlit's headless AppTest; no browser)."""

import gc
import re

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import PROJECT_ROOT, materialize_all

pytestmark = pytest.mark.slow

APP = str(PROJECT_ROOT / "dashboard" / "app.py")
PAGES = {"Today": "Today: 2025-12-31", "Pairs": "Pairs",
         "Peak coincidence": "Peak coincidence", "Liquidity and rates": "Liquidity and rates"}
# a fraction or an unrounded price as the marts store them: -0.4701, 66100.7969
RAW_NUMBER = re.compile(r"^-?\d+\.\d{3,}$")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, dbt_manifest):
    tmp = tmp_path_factory.mktemp("dash")
    result, warehouse = materialize_all(tmp, source="demo")
    assert result.success
    return warehouse


def _open(monkeypatch, warehouse, page):
    # the same setting the publish step used: the copy beside LOCKSTEP_WAREHOUSE
    monkeypatch.setenv("LOCKSTEP_WAREHOUSE", str(warehouse))
    monkeypatch.delenv("LOCKSTEP_PUBLISH_DIR", raising=False)
    # finalize the materialization's leftover SQLite handles here, not during the script's
    # compile in AppTest's thread (CPython 3.11 can then fail ast.parse with "AST constructor
    # recursion depth mismatch", seen once in a full run)
    gc.collect()
    app = AppTest.from_file(APP, default_timeout=90)
    app.run()
    app.sidebar.radio(key="page").set_value(page).run()
    assert not app.exception, app.exception
    return app


def _cells(app):
    return [str(v) for t in app.table for v in [*t.value.index, *t.value.to_numpy().ravel()]]


@pytest.mark.parametrize("page, title", list(PAGES.items()))
def test_page_renders_formatted_and_labelled_synthetic(warehouse, monkeypatch, page, title):
    app = _open(monkeypatch, warehouse, page)
    assert [t.value for t in app.title] == [title]
    assert any("SYNTHETIC DEMO DATA" in w.value for w in app.warning)
    if page != "Today":
        assert app.table, page
    raw = [c for c in _cells(app) if RAW_NUMBER.match(c)]
    assert raw == [], raw[:5]
    assert len(app.get("plotly_chart")) >= (0 if page == "Today" else 1)


def test_today_tells_the_brief_and_the_headline_numbers(warehouse, monkeypatch):
    app = _open(monkeypatch, warehouse, "Today")
    text = "\n".join(m.value for m in app.markdown)
    assert "lockstep brief: 2025-12-31" in text  # the published brief.md
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Bitcoin"] == "92,000.00"
    assert metrics["Federal funds target range"] == "3.50-3.75 %"
    assert metrics["Russell 2000 / Bitcoin"] == "Not divergent"


def test_pair_and_range_controls(warehouse, monkeypatch):
    app = _open(monkeypatch, warehouse, "Pairs")
    pair = app.selectbox(key="pair")
    assert pair.value == "^RUT/BTC-USD"
    assert set(pair.options) >= {"Russell 2000 / Bitcoin (^RUT/BTC-USD)",
                                 "S&P 500 / Bitcoin (^GSPC/BTC-USD)"}
    assert app.radio(key="range_pair").value == "SINCE"  # since the laggard's first date
    pair.set_value("^GSPC/BTC-USD").run()
    app.radio(key="range_pair").set_value("1Y").run()
    assert not app.exception, app.exception
    episodes = app.table[0].value
    assert "S&P 500 after 30 d" in episodes.columns
    # the 2025-12 episode comes first (newest first) with its divergent days
    assert episodes.iloc[0]["First divergent day"] == "2025-12-11"


def test_missing_published_warehouse_is_explained(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCKSTEP_WAREHOUSE", str(tmp_path / "nothing.duckdb"))
    app = AppTest.from_file(APP, default_timeout=30)
    app.run()
    assert not app.exception
    assert "No published warehouse" in app.error[0].value
    assert "LOCKSTEP_PUBLISH_DIR" in app.error[0].value
