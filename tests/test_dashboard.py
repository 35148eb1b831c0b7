"""The dashboard renders every page against a published warehouse built from demo data, with
the synthetic label on each, its controls working and its tables formatted for people
(Streamlit's headless AppTest; no browser)."""

import base64
import gc
import json
import re
from datetime import date, timedelta

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import PROJECT_ROOT, REAL_DATA

APP = str(PROJECT_ROOT / "dashboard" / "app.py")
PAGES = {"Today": "Today: 2025-12-31", "Pairs": "Pairs",
         "Peak coincidence": "Peak coincidence", "Liquidity and rates": "Liquidity and rates"}
# a fraction or an unrounded price as the marts store them: -0.4701, 66100.7969
RAW_NUMBER = re.compile(r"^-?\d+\.\d{3,}$")


@pytest.fixture(scope="module")
def warehouse(demo_build):
    """The session's demo build (tests/conftest.py); the dashboard only reads its published
    copy."""
    return demo_build.warehouse


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


def test_the_distance_cards_say_below_without_a_minus(warehouse, monkeypatch):
    """Each card of the Today page says how far below its record close an instrument is in
    words ("26.4 % below its record close", red, arrow down), never "-26.4 % vs record
    close" nor "-0.0 %"; the distance is the close and the record from the marts, divided
    here; "at a record close" only at one."""
    from streamlit.proto.Metric_pb2 import Metric

    from tests.conftest import query

    up, down = Metric.MetricDirection.Value("UP"), Metric.MetricDirection.Value("DOWN")
    green, red = Metric.MetricColor.Value("GREEN"), Metric.MetricColor.Value("RED")
    app = _open(monkeypatch, warehouse, "Today")
    cards = {m.label: m.proto for m in app.metric}
    standing = query(warehouse, """
        SELECT subject_name, close, record_value, is_at_record FROM marts.mart_daily_brief
        WHERE fact_kind = 'standing' AND basis = 'close'
          AND brief_date = (SELECT max(brief_date) FROM marts.mart_daily_brief)""")
    assert len(standing) >= 2 and not standing.is_at_record.all()
    for r in standing.itertuples():
        card = cards[r.subject_name]
        if r.is_at_record:
            assert (card.delta, card.direction, card.color) == ("at a record close", up, green)
            continue
        size = (1 - r.close / r.record_value) * 100
        number = f"{size:.1f}" if size >= 0.05 else f"{size:.2f}"
        assert card.delta == f"{number} % below its record close", card.delta
        assert (card.direction, card.color) == (down, red)
    deltas = " ".join(m.proto.delta for m in app.metric)
    assert "-0.0" not in deltas and "+0.0" not in deltas and "vs record" not in deltas


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


# ------------------------------------------------------------------ issue 29: the time charts
# Run on the demo warehouse and on one built from the real history (where Bitcoin starts 27
# years after the Russell 2000); the expected dates and sums come from the published marts
# through SQL, the charts from the figures the dashboard sends to the browser.
# (each build asked for only when its parameter runs: without the real history, its half
# skips before the demo build is made for it)
@pytest.fixture(scope="module", params=[
    pytest.param("demo", marks=pytest.mark.slow),
    pytest.param("real", marks=[pytest.mark.slow, pytest.mark.real_data])])
def built(request):
    if request.param == "demo":
        return "demo", request.getfixturevalue("warehouse")
    result, real = request.getfixturevalue("real_warehouse")
    assert result.success
    return "real", real


def _sql(warehouse, sql, params=()):
    import duckdb

    from orchestration.lib.publish import DB_NAME, current_path

    path = current_path(warehouse.parent / "published") / DB_NAME
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def _figures(app) -> dict:
    """The Plotly figures of the page by chart key (the id ends with the key)."""
    return {c.proto.id.split("-", 2)[-1]: json.loads(c.proto.spec)
            for c in app.get("plotly_chart")}


def _time_figures(app) -> dict:
    """The page's time charts (a date x axis): the ones that share the page's range."""
    return {key: f for key, f in _figures(app).items()
            if f["layout"].get("xaxis", {}).get("type") == "date"}


def _values(data):
    """A figure's array as a list: Plotly sends numbers as typed arrays (base64 `bdata`)."""
    if isinstance(data, dict) and "bdata" in data:
        values = np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"])
        return values.reshape(data["shape"]) if "shape" in data else values
    return data


def _day(value) -> date:
    return date.fromisoformat(str(value)[:10])


def _range(figure) -> list[date]:
    ranges = {tuple(_day(v) for v in axis["range"]) for name, axis in figure["layout"].items()
              if name.startswith("xaxis")}
    assert len(ranges) == 1, ranges  # every x axis of a chart (a right axis shares it)
    return list(ranges.pop())


def _on(monkeypatch, warehouse, page, choice=None):
    app = _open(monkeypatch, warehouse, page)
    if choice:
        key = {"Pairs": "range_pair", "Peak coincidence": "range_coincidence",
               "Liquidity and rates": "range_liquidity"}[page]
        app.radio(key=key).set_value(choice).run()
        assert not app.exception, app.exception
    return app


def _page_dates(warehouse, page) -> tuple[date, date]:
    """The first and last date of the data a page draws, straight from the marts."""
    sql = {
        "Pairs": """SELECT min(date), max(date) FROM (
            SELECT date FROM marts.fct_divergence_daily WHERE pair_id = '^RUT/BTC-USD'
            UNION ALL SELECT date FROM marts.fct_drawdowns_daily WHERE symbol = 'BTC-USD')""",
        "Peak coincidence": """SELECT min(d), max(d) FROM (
            SELECT unnest([leader_start_date, leader_event_date, leader_end_date]) AS d
            FROM marts.fct_peak_coincidence WHERE pair_id = '^RUT/BTC-USD'
            UNION ALL SELECT date FROM marts.fct_all_time_highs
            WHERE symbol = 'BTC-USD' AND NOT is_first_observation)""",
        # the target range's steps start the day before its first stored change
        "Liquidity and rates": """SELECT min(d), max(greatest(d, e)) FROM (
            SELECT week_ending AS d, week_ending AS e FROM marts.fct_fed_balance_sheet_weekly
            WHERE is_complete
            UNION ALL SELECT date, date FROM marts.mart_crypto_macro_daily
            UNION ALL SELECT effective_date - 1, effective_date
            FROM marts.fct_policy_rate_changes)""",
    }[page]
    [(first, last)] = _sql(warehouse, sql)
    return first, last


@pytest.mark.parametrize("choice", ["All", "1Y"])
def test_each_rebased_line_starts_at_100_on_its_own_first_date(built, monkeypatch, choice):
    """On "All" (and whenever an instrument starts after the range start) each line is 100 at
    its own first close in the range, and the legend and the caption name that date; the
    second point is that close's own ratio (the rebasing is the close's, not a rank)."""
    kind, warehouse = built
    app = _on(monkeypatch, warehouse, "Pairs", choice)
    figure = _figures(app)["pair_prices"]
    lo, hi = _range(figure)
    first, last = _page_dates(warehouse, "Pairs")
    assert hi == last and lo == (first if choice == "All" else last - timedelta(days=365))
    expected = {
        "Russell 2000": _sql(warehouse, """
            SELECT date, leader_close FROM marts.fct_divergence_daily
            WHERE pair_id = '^RUT/BTC-USD' AND leader_close IS NOT NULL AND date >= ?
            ORDER BY date LIMIT 2""", (lo,)),
        "Bitcoin": _sql(warehouse, """
            SELECT date, close FROM marts.fct_drawdowns_daily
            WHERE symbol = 'BTC-USD' AND close IS NOT NULL AND date >= ?
            ORDER BY date LIMIT 2""", (lo,)),
    }
    lines = {t["name"].split(" (")[0]: t for t in figure["data"] if t.get("mode") == "lines"}
    assert set(lines) == set(expected)
    caption = " ".join(c.value for c in app.caption)
    for name, ((day, close), (day2, close2)) in expected.items():
        line, ys = lines[name], _values(lines[name]["y"])
        assert _day(line["x"][0]) == day and ys[0] == pytest.approx(100)
        assert _day(line["x"][1]) == day2
        assert ys[1] == pytest.approx(close2 / close * 100)
        assert line["name"] == f"{name} (100 = {day})"
        assert f"{name} at its close of {day}" in caption
    if kind == "real" and choice == "All":  # Bitcoin's history starts in 2014
        assert expected["Bitcoin"][0][0] > expected["Russell 2000"][0][0] + timedelta(days=365)
    titles = " ".join(m.value for m in app.markdown) + json.dumps(figure["layout"])
    assert "rebased to 100 on" not in titles


@pytest.mark.parametrize("choice", ["All", "1Y"])
@pytest.mark.parametrize("page", ["Pairs", "Peak coincidence", "Liquidity and rates"])
def test_every_time_chart_of_a_page_shares_the_range(built, monkeypatch, page, choice):
    """One range per page, the one the control selects: "All" from the first to the last
    date of everything the page draws, "1 year" the 365 days to that last date."""
    _, warehouse = built
    app = _on(monkeypatch, warehouse, page, choice)
    figures = _time_figures(app)
    assert len(figures) == {"Pairs": 2, "Peak coincidence": 1, "Liquidity and rates": 3}[page]
    first, last = _page_dates(warehouse, page)
    expected = [first if choice == "All" else last - timedelta(days=365), last]
    assert {key: _range(f) for key, f in figures.items()} == dict.fromkeys(figures, expected)


@pytest.mark.parametrize("choice", ["1Y", "5Y", "All"])
def test_treasury_bars_stay_readable_and_say_what_they_are(built, monkeypatch, choice):
    """At most 64 bars over any range: a year is drawn per week; longer ranges per month,
    quarter or year, each bar the sum of the weekly changes of its weeks (checked against
    the mart by SQL), every week of the range in exactly one bar; the title names the
    period."""
    _, warehouse = built
    app = _on(monkeypatch, warehouse, "Liquidity and rates", choice)
    figure = _figures(app)["treasuries_change"]
    [bars] = figure["data"]
    lo, hi = _range(figure)
    title = next(m.value for m in app.markdown if "Treasury holdings" in m.value)
    period = re.search(r"change per (week|month|quarter|year)", title).group(1)
    if choice == "1Y":
        assert period == "week"
    values, spans = _values(bars["y"]), _values(bars["customdata"])
    assert 0 < len(values) <= 64
    previous = None
    for value, (start, end, weeks) in zip(values, spans, strict=True):
        start, end = _day(start), _day(end)
        assert previous is None or start > previous
        previous = end
        span = {"week": lambda d: d, "month": lambda d: (d.year, d.month),
                "quarter": lambda d: (d.year, (d.month - 1) // 3), "year": lambda d: d.year}
        assert span[period](start) == span[period](end), (period, start, end)
        [(total, n)] = _sql(warehouse, """
            SELECT sum(treasuries_change_1w), count(*) FROM marts.fct_fed_balance_sheet_weekly
            WHERE is_complete AND treasuries_change_1w IS NOT NULL
              AND week_ending BETWEEN ? AND ?""", (start, end))
        assert value == pytest.approx(total) and weeks == n
    [(in_range,)] = _sql(warehouse, """
        SELECT count(*) FROM marts.fct_fed_balance_sheet_weekly
        WHERE is_complete AND treasuries_change_1w IS NOT NULL
          AND week_ending BETWEEN ? AND ?""", (lo, hi))
    assert sum(int(w) for _, _, w in spans) == in_range


@pytest.mark.parametrize("choice", ["1Y", "All"])
@pytest.mark.parametrize("page", ["Pairs", "Liquidity and rates"])
def test_event_labels_sit_in_a_lane_above_the_plot(built, monkeypatch, page, choice):
    """No label is drawn over the lines: every annotation sits above the plot area (paper
    y >= 1, growing upwards), one per dated event in the range; rows never share a label
    position."""
    _, warehouse = built
    app = _on(monkeypatch, warehouse, page, choice)
    figures = _figures(app)
    for key, figure in figures.items():
        for note in figure["layout"].get("annotations", []):
            assert note["yref"] == "paper" and note["y"] >= 1, (key, note)
            assert note["yanchor"] == "bottom", (key, note)
    if page == "Liquidity and rates":
        lo, hi = _range(figures["liquidity_btc"])
        dated = _sql(warehouse, "SELECT event_date FROM marts.fct_dated_events WHERE kind <> "
                                "'fomc_announcement' AND event_date BETWEEN ? AND ?", (lo, hi))
        notes = figures["liquidity_btc"]["layout"].get("annotations", [])
        assert sorted(_day(n["x"]) for n in notes) == sorted(d for (d,) in dated)
        assert len({(n["x"], n.get("yshift")) for n in notes}) == len(notes)


# ------------------------------------------------------------------ issue 30: the evidence
# The Pairs page's distribution of every day's outcome with the divergences marked on it, and
# the cross-correlation by lag with its band: the figures' data against the marts by SQL.
@pytest.mark.parametrize("horizon", [30, 365])
def test_every_days_outcome_with_the_divergences_marked(built, monkeypatch, horizon):
    """The histogram holds every start day's laggard-minus-leader return with a known
    outcome (whatever the page's range), the red marks each episode's, their hover naming
    the episode's dates; the caption states the base rates and the test of
    mart_outcome_significance, written as people write numbers."""
    kind, warehouse = built
    app = _on(monkeypatch, warehouse, "Pairs", "1Y")  # the range does not cut the days
    app.radio(key="horizon_pair").set_value(horizon).run()
    assert not app.exception, app.exception
    figure = _figures(app)["pair_distribution"]
    [bars] = [t for t in figure["data"] if t["type"] == "histogram"]
    [marks] = [t for t in figure["data"] if t["type"] == "scatter"]
    expected = [v for (v,) in _sql(warehouse, """
        SELECT laggard_minus_leader_return FROM marts.fct_pair_forward_outcomes
        WHERE pair_id = '^RUT/BTC-USD' AND horizon_days = ?
          AND laggard_minus_leader_return IS NOT NULL ORDER BY start_date""", (horizon,))]
    np.testing.assert_array_equal(_values(bars["x"]), expected)
    [(n, share, k, known, p, verdict)] = _sql(warehouse, """
        SELECT base_rate_n_known, base_rate_share, n_laggard_beat, n_known, p_value, verdict
        FROM marts.mart_outcome_significance
        WHERE pair_id = '^RUT/BTC-USD' AND horizon_days = ?""", (horizon,))
    assert len(expected) == n > 1000
    assert np.mean(np.array(expected) > 0) == pytest.approx(share)  # right of 0: beat
    episodes = _sql(warehouse, f"""
        SELECT o.laggard_return_{horizon}d - o.leader_return_{horizon}d, e.start_date,
               e.end_date
        FROM marts.mart_divergence_outcomes AS o
        INNER JOIN marts.fct_divergence_episodes AS e USING (pair_id, episode_number)
        WHERE o.pair_id = '^RUT/BTC-USD' AND o.laggard_return_{horizon}d IS NOT NULL
          AND o.leader_return_{horizon}d IS NOT NULL ORDER BY e.end_date""")
    assert len(episodes) == known > 0
    np.testing.assert_allclose(_values(marks["x"]), [d for d, _, _ in episodes], rtol=0,
                               atol=1e-12)
    for text, (_, first, last) in zip(marks["hovertext"], episodes, strict=True):
        assert f", {first} to {last}: over the next {horizon} days Bitcoin " in text
    [caption] = [c.value for c in app.caption if "start day since" in c.value]
    # far down the page, the caption says again that the data is synthetic
    assert caption.startswith("SYNTHETIC DEMO DATA. ") == (kind == "demo")
    assert (f"with a known {horizon}-day outcome (n = {n:,}, whatever the range above"
            in caption)
    assert f"Bitcoin beat the Russell 2000 on {share * 100:.1f} % of them" in caption
    assert f"{k:,} of {known:,} ({k / known * 100:.1f} %)" in caption
    shown_p = "p < 0.001" if p < 0.001 else (f"p = {p:.2f}" if p >= 0.1 else f"p = {p:.3g}")
    assert f"Against the base rate, {shown_p} (exact binomial, one-sided): {verdict}" in caption


def test_the_cross_correlation_by_lag_with_its_band(built, monkeypatch):
    """One bar per lag -8..+8 at mart_lead_lag's correlation, the peak's in red; the band a
    box behind each bar at +/- its band_95; the caption names the peak and the reading of
    mart_lead_lag_summary and explains the lag's sign."""
    kind, warehouse = built
    app = _on(monkeypatch, warehouse, "Pairs")
    figure = _figures(app)["pair_lead_lag"]
    [bars] = [t for t in figure["data"] if t["type"] == "bar"]
    rows = _sql(warehouse, """
        SELECT lag_weeks, return_corr, band_95, is_peak FROM marts.mart_lead_lag
        WHERE pair_id = '^RUT/BTC-USD' ORDER BY lag_weeks""")
    assert [int(x) for x in _values(bars["x"])] == list(range(-8, 9)) == [r[0] for r in rows]
    np.testing.assert_allclose(_values(bars["y"]), [r[1] for r in rows], rtol=0, atol=1e-12)
    colors = bars["marker"]["color"]
    assert [c == "#d1495b" for c in colors] == [bool(r[3]) for r in rows]
    boxes = sorted((s["x0"], s["y1"], s["y0"]) for s in figure["layout"]["shapes"])
    assert [(x0 + 0.5, y1) for x0, y1, _ in boxes] == [(r[0], pytest.approx(r[2]))
                                                       for r in rows]
    assert all(y0 == -y1 for _, y1, y0 in boxes)
    [(peak, r, reading, first, last)] = _sql(warehouse, """
        SELECT peak_lag_weeks, peak_corr, reading, first_week_ending, last_week_ending
        FROM marts.mart_lead_lag_summary WHERE pair_id = '^RUT/BTC-USD'""")
    [caption] = [c.value for c in app.caption if "Correlation of weekly" in c.value]
    assert caption.startswith("SYNTHETIC DEMO DATA. ") == (kind == "demo")
    assert f"weeks ending {first} to {last}: at lag +k, Bitcoin's week k weeks after" in caption
    assert (f"The largest is at lag {f'{peak:+d}' if peak else '0'} (red; r = {r:.2f}"
            in caption)
    assert f"): {reading}." in caption


@pytest.mark.parametrize("choice", ["All", "1Y"])
def test_every_time_chart_of_the_liquidity_page_has_the_same_plot_area(built, monkeypatch,
                                                                       choice):
    """Net liquidity (with Bitcoin on a right axis), the target range and the Treasury bars:
    the same x domain and the same left and right margins, so a date sits at the same pixel
    in each (a secondary y axis must not shrink its chart's domain to [0, 0.94])."""
    _, warehouse = built
    figures = _time_figures(_on(monkeypatch, warehouse, "Liquidity and rates", choice))
    assert set(figures) == {"liquidity_btc", "policy_range", "treasuries_change"}
    areas = {key: ([tuple(axis.get("domain", [0, 1])) for name, axis in f["layout"].items()
                    if name.startswith("xaxis")],
                   f["layout"]["margin"]["l"], f["layout"]["margin"]["r"])
             for key, f in figures.items()}
    assert {key: area[0] for key, area in areas.items()} == dict.fromkeys(figures, [(0, 1)])
    assert len({area[1:] for area in areas.values()}) == 1, areas


def test_today_names_stale_pairs_and_instruments_without_prices(built, monkeypatch):
    """A pair card of a pair whose leader's latest date is not the day says "as of" that
    date, as the brief does; a configured instrument with no stored prices and its pair are
    named on the page (from the published no_data rows), never silently missing."""
    kind, warehouse = built
    app = _open(monkeypatch, warehouse, "Today")
    [(day,)] = _sql(warehouse, "SELECT max(brief_date) FROM marts.mart_daily_brief")
    pairs = _sql(warehouse, """
        SELECT leader_name || ' / ' || laggard_name, as_of_date FROM marts.mart_daily_brief
        WHERE brief_date = ? AND fact_kind = 'divergence'""", (day,))
    missing = _sql(warehouse, """
        SELECT subject_name, symbol, pair_id FROM marts.mart_daily_brief
        WHERE brief_date = ? AND fact_kind = 'no_data'""", (day,))
    captions = [c.value for c in app.caption]
    metrics = {m.label: m.value for m in app.metric}
    for label, as_of in pairs:
        assert label in metrics
        if as_of != day:
            assert any(c.startswith(f"as of {as_of}: ") for c in captions), (label, captions)
    for name, symbol, pair_id in missing:
        assert any(f"{name} ({symbol}): no stored prices" in c for c in captions), symbol
        if pair_id:
            assert any(f"so the pair {pair_id} cannot be assessed" in c for c in captions)
    if kind == "real":
        # the real history has no Nasdaq 100 file, and the Dow's prices stop in February
        assert not (REAL_DATA / "market" / "NDX.csv").exists()
        assert ("Nasdaq 100", "^NDX", "^NDX/BTC-USD") in missing
        assert metrics["Nasdaq 100 / Bitcoin"] == "Cannot be assessed"
        assert any(as_of != day for _, as_of in pairs)
