"""The dashboard in a real browser: headless Debian Chromium (packages chromium and
chromium-driver, which .ci/run installs) opens every page of a dashboard serving a warehouse
built from demo data, checks titles, tables, charts and the synthetic label, and saves
screenshots under a temporary folder. Skipped when Chromium is not installed."""

import os
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

# page -> (title, a heading or caption only that page shows)
PAGES = {
    "Market snapshot": ("Market snapshot", "At a record today"),
    "Drawdowns and divergence": ("^RUT/BTC-USD: drawdowns and divergence",
                                 "Divergence episodes"),
    "Peak coincidence": ("Peak coincidence and joint bottoms", "Record clusters and bottoms"),
    "Fed liquidity": ("Fed liquidity and policy rates", "Policy-rate changes"),
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory, dbt_manifest):
    tmp = tmp_path_factory.mktemp("browser")
    result, warehouse = materialize_all(tmp, source="demo")
    assert result.success
    port = _free_port()
    env = {**os.environ,
           "LOCKSTEP_PUBLISHED": str(warehouse.parent / "published" / "current" /
                                     "lockstep.duckdb")}
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(PROJECT_ROOT / "dashboard" / "app.py"),
         "--server.address", "127.0.0.1", "--server.port", str(port),
         "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(url + "/_stcore/health", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.3)
        else:
            pytest.fail("the dashboard did not start")
        yield url
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
                 "--disable-component-update", "--disable-sync", "--window-size=1400,1000",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def _wait(driver, css, text=None, timeout=45):
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


def _wait_xpath(driver, xpath, timeout=45):
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = driver.find_elements(By.XPATH, xpath)
        if found:
            return found[0]
        time.sleep(0.3)
    labels = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "label")]
    raise AssertionError(f"nothing at {xpath} within {timeout} s; labels: {labels}")


def _settled(driver, timeout=45):
    """Wait until Streamlit's rerun is over: no element still marked stale."""
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not driver.find_elements(By.CSS_SELECTOR, "[data-stale='true']"):
            return
        time.sleep(0.3)
    raise AssertionError("the page kept stale elements")


@pytest.mark.parametrize("page, texts", list(PAGES.items()))
def test_page_in_chromium(dashboard, browser, tmp_path, page, texts):
    title, marker = texts
    from selenium.webdriver.common.by import By

    browser.get(dashboard)
    _wait(browser, "h1")
    option = _wait_xpath(browser, f"//*[@data-testid='stSidebar']//p[normalize-space()='{page}']")
    browser.execute_script("arguments[0].click();", option)
    _wait(browser, "h1", title)
    _wait(browser, "h2, h3, [data-testid='stCaptionContainer']", marker)
    _settled(browser)
    _wait(browser, "[data-testid='stAlert']", "SYNTHETIC DEMO DATA")
    _wait(browser, "[data-testid='stDataFrame']")
    _wait(browser, "[data-testid='stVegaLiteChart'], .vega-embed")  # every page has a chart
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-testid='stException']")
    shot = tmp_path / f"{page.replace(' ', '_')}.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
