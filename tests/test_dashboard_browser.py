"""The dashboard in a real browser: headless Debian Chromium (packages chromium and
chromium-driver, which .ci/run installs) at 1600 px opens every page of a dashboard serving a
warehouse built from demo data and one built from the real history (skipped when
../shared/data/real is absent): titles, the pair and range controls, years on every time
axis, tables without raw fractions and with every column visible, the synthetic label (and
its absence on real data), no Streamlit exception; a screenshot of every page under a
temporary folder. Then the layout of every page on "All" at 1600 and at 390 px (a phone):
shared ranges and plot edges, event labels, titles, bars and tables, from what Plotly drew.
Skipped when Chromium is not installed."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time

import pytest
import requests

from tests.conftest import PROJECT_ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
                       reason="Debian chromium and chromium-driver are not installed"),
]

# page -> (title prefix, a heading only that page shows)
PAGES = {
    "Today": ("Today: ", "The brief"),
    "Pairs": ("Pairs", "Divergence episodes and what happened next (newest first)"),
    "Peak coincidence": ("Peak coincidence", "Clusters and bottoms (newest first)"),
    "Liquidity and rates": ("Liquidity and rates", "Policy-rate changes (newest first)"),
}
RAW_NUMBER = re.compile(r"^-?\d+\.\d{3,}$")
YEAR = re.compile(r"(19|20)\d\d")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(warehouse):
    port = _free_port()
    env = {**os.environ, "LOCKSTEP_WAREHOUSE": str(warehouse)}
    env.pop("LOCKSTEP_PUBLISH_DIR", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(PROJECT_ROOT / "dashboard" / "app.py"),
         "--server.address", "127.0.0.1", "--server.port", str(port),
         "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/_stcore/health", timeout=1).status_code == 200:
                return server, url
        except requests.RequestException:
            time.sleep(0.3)
    server.terminate()
    pytest.fail("the dashboard did not start")


@pytest.fixture(scope="module",
                params=["demo", pytest.param("real", marks=pytest.mark.real_data)])
def dashboard(request, dbt_manifest):
    if request.param == "demo":  # the session's demo build (tests/conftest.py), read only
        build = request.getfixturevalue("demo_build")
        result, warehouse = build.first, build.warehouse
        assert result.success
    else:
        result, warehouse = request.getfixturevalue("real_warehouse")
        assert result.success
    server, url = _serve(warehouse)
    try:
        yield request.param, url
    finally:
        server.terminate()
        server.wait(10)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1600,1200",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def _wait(driver, css, text=None, timeout=60):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = driver.find_elements(By.CSS_SELECTOR, css)
        try:
            if found and (text is None or any(text in e.text for e in found)):
                return found
        except StaleElementReferenceException:
            pass  # Streamlit re-rendered between finding and reading: look again
        time.sleep(0.3)
    raise AssertionError(f"no {css!r} containing {text!r} within {timeout} s")


def _wait_xpath(driver, xpath, timeout=60):
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = driver.find_elements(By.XPATH, xpath)
        if found:
            return found[0]
        time.sleep(0.3)
    labels = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "label")]
    raise AssertionError(f"nothing at {xpath} within {timeout} s; labels: {labels}")


def _settled(driver, timeout=60):
    """Wait until Streamlit's rerun is over: no element still marked stale, nothing running."""
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = driver.find_elements(By.CSS_SELECTOR, "[data-stale='true']") or \
            driver.find_elements(By.CSS_SELECTOR, "[data-testid='stStatusWidget']")
        if not busy:
            time.sleep(0.5)
            return
        time.sleep(0.3)
    raise AssertionError("the page kept running")


def _click_label(driver, scope, text):
    label = _wait_xpath(driver, f"{scope}//label[.//p[normalize-space()='{text}']]")
    driver.execute_script("arguments[0].click();", label)


def _go_to(driver, url, page):
    """The dashboard's `page` at 1600 px (another test may have left a phone's width)."""
    driver.set_window_size(1600, 1200)
    driver.get(url)
    _wait(driver, "h1")
    _click_label(driver, "//*[@data-testid='stSidebar']", page)


def _year_ticks(driver, until=lambda charts: True, timeout=60):
    """The x-axis tick labels of every time chart (a date x axis) on the page, per chart,
    once every chart has drawn its axis (and `until` holds: Streamlit may redraw a chart
    after a rerun)."""
    deadline = time.monotonic() + timeout
    while True:
        charts = driver.execute_script("""
            return Array.from(document.querySelectorAll('.js-plotly-plot')).filter(
                plot => plot._fullLayout && plot._fullLayout.xaxis.type === 'date').map(plot =>
                Array.from(plot.querySelectorAll('.xtick text')).map(t => t.textContent));""")
        if charts and all(charts) and until(charts):
            return charts
        if time.monotonic() > deadline:
            raise AssertionError(f"the charts did not draw as expected: {charts}")
        time.sleep(0.5)


def _tables(driver, timeout=60):
    """Every table's cells, and whether it fits its container (no horizontal scroll), once
    the page's tables have rendered."""
    deadline = time.monotonic() + timeout
    while True:
        tables = driver.execute_script("""
            return Array.from(document.querySelectorAll("[data-testid='stTable'] table")).map(
                t => ({cells: Array.from(t.querySelectorAll('td, th')).map(
                           c => c.textContent.trim()),
                       fits: t.scrollWidth <= t.parentElement.clientWidth + 1}));""")
        if (tables and all(t["cells"] for t in tables)) or time.monotonic() > deadline:
            return tables
        time.sleep(0.5)


@pytest.mark.parametrize("page", list(PAGES))
def test_page_in_chromium(dashboard, browser, tmp_path, page):
    from selenium.webdriver.common.by import By

    kind, url = dashboard
    title, marker = PAGES[page]
    _go_to(browser, url, page)
    _wait(browser, "h1", title)
    _wait(browser, "h2, h3", marker)
    _settled(browser)
    alerts = " ".join(e.text for e in browser.find_elements(
        By.CSS_SELECTOR, "[data-testid='stAlert']"))
    assert ("SYNTHETIC DEMO DATA" in alerts) == (kind == "demo")
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-testid='stException']")
    if page != "Today":
        _wait(browser, ".js-plotly-plot .xtick text")
        charts = _year_ticks(browser)
        assert charts and all(ticks for ticks in charts), charts
        for ticks in charts:  # every tick of every time axis carries its year
            assert all(YEAR.search(t) for t in ticks), ticks
        tables = _tables(browser)
        assert tables
        for t in tables:
            assert t["fits"], "a table is wider than the page at 1600 px"
            raw = [c for c in t["cells"] if RAW_NUMBER.match(c)]
            assert raw == [], raw[:5]
    shot = tmp_path / f"{kind}_{page.replace(' ', '_')}.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000


def test_pair_and_range_controls_in_chromium(dashboard, browser):
    """Choosing another pair and the range "All" redraws the charts: on the real history the
    leader's axis then reaches back before Bitcoin (1990s); the default range starts with
    the laggard's history."""
    kind, url = dashboard
    _go_to(browser, url, "Pairs")
    _wait(browser, "h1", "Pairs")
    _settled(browser)
    _wait(browser, ".js-plotly-plot .xtick text")
    first_year = min(int(YEAR.search(t).group()) for t in _year_ticks(browser)[0])
    assert first_year >= (2018 if kind == "demo" else 2014)
    opener = _wait(browser, "[data-testid='stSelectbox'] button[aria-label='Open']")[0]
    browser.execute_script("arguments[0].click();", opener)
    option = _wait_xpath(browser, "//*[@role='option'][contains(., 'S&P 500 / Bitcoin')]")
    option.click()
    _settled(browser)
    _click_label(browser, "//*[@data-testid='stRadio']", "All")
    _settled(browser)
    _wait(browser, "[class*='st-key-chart_'] p", "S&P 500 and Bitcoin")
    oldest = 2019 if kind == "demo" else 1990

    def reaches_back(charts):
        return min(int(YEAR.search(t).group()) for t in charts[0]) <= oldest

    _year_ticks(browser, until=reaches_back)



# ----------------------------------------------------- issue 29: the layout at 1600 and 390 px
# What the browser drew, per chart: Plotly's own layout (`_fullLayout`: the x range, the plot
# area) and data, and the bounding boxes of the titles, event labels, toolbar, legend and
# bars; per table, its scrolling frame.
GEOMETRY = """
const box = e => { const r = e.getBoundingClientRect();
                   return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
const charts = Array.from(document.querySelectorAll('.js-plotly-plot')).map(plot => {
  const full = plot._fullLayout, at = plot.getBoundingClientRect(), size = full._size;
  const holder = plot.closest("[class*='st-key-chart_']");
  const titles = Array.from(plot.querySelectorAll('.gtitle')).concat(holder
      ? Array.from(holder.querySelectorAll("[data-testid='stMarkdownContainer']")).filter(
            e => !e.closest('.js-plotly-plot')).slice(0, 1) : []);
  const bar = plot.querySelector('.modebar');
  return {
    key: holder ? holder.className.match(/st-key-chart_([a-z_]+)/)[1] : null,
    time: full.xaxis.type === 'date',
    width: full.width, shown: at.width, chart: box(plot),
    ranges: Object.keys(full).filter(k => /^xaxis\\d*$/.test(k)).map(k => full[k].range),
    area: {left: at.left + size.l, right: at.left + size.l + size.w,
           top: at.top + size.t, bottom: at.top + size.t + size.h},
    titles: titles.map(t => ({text: t.textContent.trim(), ...box(t)})),
    modebar: bar && bar.getBoundingClientRect().width > 0 ? box(bar) : null,
    legend: plot.querySelector('.legend') ? box(plot.querySelector('.legend')) : null,
    labels: Array.from(plot.querySelectorAll('.annotation')).map(
        a => ({text: a.textContent, ...box(a)})),
    axes: Array.from(plot.querySelectorAll(
        '.g-ytitle, .g-y2title, .ytick text, .y2tick text, .xtick text')).map(
        a => ({text: a.textContent, ...box(a)})),
    bars: Array.from(plot.querySelectorAll('.barlayer .point path')).map(
        b => b.getBoundingClientRect().width),
    lines: plot._fullData.filter(t => t.mode === 'lines').map(
        t => ({name: t.name, x0: String(t.x[0]), y0: t.y[0]})),
  };
});
const tables = Array.from(document.querySelectorAll('table')).map(t => {
  const holder = t.closest("[data-testid='stElementContainer']");
  let frame = t;
  while (frame && frame !== holder &&
         !['auto', 'scroll'].includes(getComputedStyle(frame).overflowX)) {
    frame = frame.parentElement;
  }
  const own = frame && frame !== holder;
  return {scrolls: own, frame: own ? box(frame) : box(holder), width: t.scrollWidth,
          inner: own ? frame.scrollWidth : null};
});
return {width: window.innerWidth, charts: charts, tables: tables};
"""


def _overlap(a, b, slack=0.5) -> bool:
    return (min(a["right"], b["right"]) - max(a["left"], b["left"]) > slack and
            min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > slack)


def _geometry(driver, width, timeout=60):
    """The page's geometry once every chart has redrawn at the window's width (Plotly
    follows its container after a resize)."""
    driver.set_window_size(width, 1000)
    deadline, previous = time.monotonic() + timeout, None
    while True:
        time.sleep(0.7)
        found = driver.execute_script(GEOMETRY)
        settled = all(abs(c["width"] - c["shown"]) <= 1 and c["chart"]["right"] <= found["width"]
                      for c in found["charts"])
        if settled and found == previous:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"the charts did not settle at {width} px: {found['charts']}")
        previous = found


@pytest.mark.parametrize("page", list(PAGES))
def test_layout_at_1600_and_390_px(dashboard, browser, page):
    """On "All" (the longest range), at 1600 and at 390 px: the time charts of a page share
    their x range and their plot area's left and right edge (a date sits at the same pixel
    in each); each rebased line is 100 at the date its legend names; event labels overlap
    neither each other, the plot area (the lines), the toolbar, the legend nor another
    chart; every chart's title sits clear of the toolbar, inside the page; no axis title or
    tick label is cut off; bars are at least 3 px wide; every table lies inside the page and
    scrolls inside its own frame."""
    from selenium.webdriver.common.by import By

    kind, url = dashboard
    _go_to(browser, url, page)
    _wait(browser, "h1", PAGES[page][0])
    _wait(browser, "h2, h3", PAGES[page][1])
    _settled(browser)
    if browser.find_elements(By.XPATH, "//*[@data-testid='stRadio']//label[.//p[.='All']]"):
        _click_label(browser, "//*[@data-testid='stRadio']", "All")
        _settled(browser)
    if page != "Today":
        _wait(browser, ".js-plotly-plot .xtick text")
    try:
        for width in (1600, 390):
            _check_layout(kind, page, _geometry(browser, width))
    finally:
        browser.set_window_size(1600, 1200)


def _check_layout(kind, page, found):
    """The assertions of test_layout_at_1600_and_390_px on one width's geometry."""
    where = f"{kind}, {page}, {found['width']} px"
    charts = found["charts"]
    assert (page == "Today") == (not charts), where
    # one x range, and the same plot-area edges, on every time chart of the page
    timed = [c for c in charts if c["time"]]
    assert timed or page == "Today", where
    assert len({json.dumps(r) for c in timed for r in c["ranges"]}) <= 1, where
    for edge in ("left", "right"):
        edges = [c["area"][edge] for c in timed]
        assert not edges or max(edges) - min(edges) <= 1, (where, edge, edges)
    for c in charts:
        what = f"{where}, chart {c['key'] or c['titles']}"
        titles = [t for t in c["titles"] if t["text"]]
        assert titles, what
        for t in titles:
            assert t["right"] <= found["width"] and t["left"] >= 0, (what, t)
            assert not (c["modebar"] and _overlap(t, c["modebar"])), (what, t, c["modebar"])
        for n, label in enumerate(c["labels"]):
            assert not _overlap(label, c["area"]), (what, label, c["area"])
            assert not (c["modebar"] and _overlap(label, c["modebar"])), (what, label)
            assert not (c["legend"] and _overlap(label, c["legend"])), (what, label)
            assert c["chart"]["left"] <= label["left"] and \
                label["right"] <= c["chart"]["right"], (what, label)
            for other in c["labels"][n + 1:]:
                assert not _overlap(label, other), (what, label, other)
        for text in c["axes"]:  # axis titles and tick labels are not cut off
            assert c["chart"]["left"] <= text["left"] + 1 and \
                text["right"] <= c["chart"]["right"] + 1, (what, text)
        assert all(w >= 3 for w in c["bars"]), (what, min(c["bars"]))
        for line in c["lines"]:
            rebased = re.search(r"\(100 = (\d{4}-\d\d-\d\d)\)", line["name"] or "")
            if rebased:
                assert line["x0"][:10] == rebased.group(1), (what, line)
                assert line["y0"] == pytest.approx(100), (what, line)
    for table in found["tables"]:
        assert table["scrolls"], (where, table)
        assert 0 <= table["frame"]["left"] and table["frame"]["right"] <= found["width"], \
            (where, table)
        assert table["inner"] >= table["width"] - 1, (where, table)


# ------------------------------------------------------------------ issue 30: the evidence
EVIDENCE = """
return ['pair_distribution', 'pair_lead_lag'].map(key => {
  const holder = document.querySelector(`[class*='st-key-chart_${key}']`);
  const plot = holder && holder.querySelector('.js-plotly-plot');
  if (!plot || !plot._fullLayout) { return {key: key, drawn: false}; }
  const r = plot.getBoundingClientRect();
  return {key: key, drawn: true, left: r.left, right: r.right, width: r.width,
          bars: plot.querySelectorAll('.barlayer .point path').length,
          marks: plot.querySelectorAll('.scatterlayer .point').length,
          shapes: plot.querySelectorAll('.shapelayer path').length,
          caption: Array.from(holder.querySelectorAll("[data-testid='stCaptionContainer']"))
                       .map(c => c.textContent).join(' ')};
});
"""


def test_the_evidence_charts_in_chromium(dashboard, browser):
    """The Pairs page draws the distribution of every day's outcome with the divergences
    marked on it, and the cross-correlation by lag with its band, inside the page at 1600
    and at 390 px, each with its caption; choosing the 30-day horizon redraws the
    distribution."""
    kind, url = dashboard
    _go_to(browser, url, "Pairs")
    _wait(browser, "h1", "Pairs")
    _wait(browser, "h2, h3", "Every day against the divergences")
    _settled(browser)
    try:
        for width in (1600, 390):
            browser.set_window_size(width, 1000)
            deadline = time.monotonic() + 60
            while True:
                time.sleep(0.7)
                charts = {c["key"]: c for c in browser.execute_script(EVIDENCE)}
                if all(c["drawn"] and c["right"] <= width for c in charts.values()):
                    break
                assert time.monotonic() < deadline, (kind, width, charts)
            where = f"{kind}, {width} px"
            spread, lags = charts["pair_distribution"], charts["pair_lead_lag"]
            assert spread["bars"] >= 20 and spread["marks"] >= 1, (where, spread)
            assert "Bitcoin beat the Russell 2000 on" in spread["caption"], where
            assert "(exact binomial, one-sided)" in spread["caption"], where
            assert lags["bars"] == 17 and lags["shapes"] == 17, (where, lags)
            assert "The largest is at lag" in lags["caption"], where
            for chart in charts.values():
                assert 0 <= chart["left"] and chart["right"] <= width, (where, chart)
        browser.set_window_size(1600, 1200)
        _click_label(browser, "//*[@data-testid='stRadio']", "30 days")
        _settled(browser)
        _wait(browser, "[class*='st-key-chart_pair_distribution'] p", "over 30 days")
    finally:
        browser.set_window_size(1600, 1200)
