"""The dashboard renders every page against a published warehouse built from demo data, with
the synthetic label on each (Streamlit's headless AppTest; no browser)."""

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import PROJECT_ROOT, materialize_all

pytestmark = pytest.mark.slow

APP = str(PROJECT_ROOT / "dashboard" / "app.py")
PAGES = {
    "Market snapshot": "Market snapshot",
    "Drawdowns and divergence": "^RUT/BTC-USD: drawdowns and divergence",
    "Peak coincidence": "Peak coincidence and joint bottoms",
    "Fed liquidity": "Fed liquidity and policy rates",
}


@pytest.fixture(scope="module")
def published(tmp_path_factory, dbt_manifest):
    tmp = tmp_path_factory.mktemp("dash")
    result, warehouse = materialize_all(tmp, source="demo")
    assert result.success
    return warehouse.parent / "published" / "current" / "lockstep.duckdb"


@pytest.mark.parametrize("page, title", list(PAGES.items()))
def test_page_renders_with_synthetic_label(published, monkeypatch, page, title):
    monkeypatch.setenv("LOCKSTEP_PUBLISHED", str(published))
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    app.sidebar.radio(key="page").set_value(page).run()
    assert not app.exception, app.exception
    assert [t.value for t in app.title] == [title]
    assert any("SYNTHETIC DEMO DATA" in w.value for w in app.warning)
    assert len(app.dataframe) >= 1
    if page == "Market snapshot":
        frame = app.dataframe[0].value
        assert set(frame.symbol) >= {"BTC-USD", "^RUT"}


def test_missing_published_warehouse_is_explained(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCKSTEP_PUBLISHED", str(tmp_path / "nothing.duckdb"))
    app = AppTest.from_file(APP, default_timeout=30)
    app.run()
    assert not app.exception
    assert "No published warehouse" in app.error[0].value
