"""The dashboard in a real browser: headless Debian Chromium (packages chromium and
chromium-driver, which .ci/run installs) at 1600 px opens every page of a dashboard serving a
warehouse built from demo data and one built from the real history (skipped when
../shared/data/real is absent): titles, the pair and range controls, years on every time
axis, tables without raw fractions and with every column visible, the synthetic label (and
its absence on real data), no Streamlit exception; a screenshot of every page under a
temporary folder. Skipped when Chromium is not installed."""

import os
import re
import shutil
import socket
import subprocess
import sys
import time

import pytest
import requests

from tests.conftest import PROJECT_ROOT, materialize_all

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
pytestmark = [
    pytest.mark.slow,
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


@pytest.fixture(scope="module", params=["demo", "real"])
def dashboard(request, tmp_path_factory, dbt_manifest):
    if request.param == "demo":
        tmp = tmp_path_factory.mktemp("browser")
        result, warehouse = materialize_all(tmp, source="demo")
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


def _year_ticks(driver, until=lambda charts: True, timeout=60):
    """The x-axis tick labels of every Plotly chart on the page, per chart, once every chart
    has drawn its axis (and `until` holds: Streamlit may redraw a chart after a rerun)."""
    deadline = time.monotonic() + timeout
    while True:
        charts = driver.execute_script("""
            return Array.from(document.querySelectorAll('.js-plotly-plot')).map(plot =>
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
    browser.get(url)
    _wait(browser, "h1")
    _click_label(browser, "//*[@data-testid='stSidebar']", page)
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
    browser.get(url)
    _wait(browser, "h1")
    _click_label(browser, "//*[@data-testid='stSidebar']", "Pairs")
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
    _wait(browser, ".gtitle", "S&P 500 and Bitcoin")
    oldest = 2019 if kind == "demo" else 1990

    def reaches_back(charts):
        return min(int(YEAR.search(t).group()) for t in charts[0]) <= oldest

    _year_ticks(browser, until=reaches_back)
