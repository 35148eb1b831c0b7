"""Make the dashboard screenshots of docs/dashboard.md from the synthetic demo data.

    uv run python docs/make_screenshots.py        (or: make screenshots)

Builds a demo warehouse in a temporary folder (the same `python -m orchestration.cli run`
that `make demo` runs), serves the dashboard on a free local port, opens the Today, Pairs and
Liquidity pages in headless Chromium (Debian's chromium and chromium-driver) at 1600 px and
the Liquidity page at a phone's 390 px, and writes docs/dashboard-today.png, -pairs.png,
-liquidity.png and -phone.png, and docs/dashboard-evidence.png (the Pairs page scrolled to
every day's outcome against the divergences and the lead/lag chart), each reduced to a
palette PNG under 300 KB. The pictures show synthetic data, and say so.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs"
LIMIT = 300_000
WIDTH = 1600
# file -> (page, window width, height, the heading to scroll to): the desktop pages, the
# Liquidity page on a phone, and the Pairs page's evidence (its lower half)
SHOTS = {"dashboard-today.png": ("Today", WIDTH, 1250, None),
         "dashboard-pairs.png": ("Pairs", WIDTH, 1300, None),
         "dashboard-evidence.png": ("Pairs", WIDTH, 1450, "Every day against the divergences"),
         "dashboard-liquidity.png": ("Liquidity and rates", WIDTH, 1400, None),
         "dashboard-phone.png": ("Liquidity and rates", 390, 1400, None)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        return requests.get(url + "/_stcore/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _build(tmp: Path) -> dict[str, str]:
    home = tmp / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "orchestration" / "dagster_instance.yaml", home / "dagster.yaml")
    env = {**os.environ, "LOCKSTEP_SOURCE": "demo", "DAGSTER_HOME": str(home),
           "LOCKSTEP_WAREHOUSE": str(tmp / "warehouse" / "lockstep.duckdb"),
           "LOCKSTEP_STATE_DIR": str(tmp / "state"),
           # the warehouse's directory is new: a run creates it only when asked to
           "LOCKSTEP_CREATE_DIRS": "1"}
    env.pop("LOCKSTEP_PUBLISH_DIR", None)
    print("building a demo warehouse ...", flush=True)
    run = subprocess.run([sys.executable, "-m", "orchestration.cli", "run"], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    if run.returncode != 0:  # the run's own words, not only its exit status
        sys.exit(f"the demo build failed (exit {run.returncode}):\n{run.stdout}{run.stderr}")
    return env


def _shrink(png: Path) -> None:
    """A palette PNG (the pictures are flat colours and text): well under LIMIT."""
    image = Image.open(png).convert("RGB")
    for colors in (256, 128, 64):
        image.quantize(colors=colors, method=Image.Quantize.MEDIANCUT).save(png, optimize=True)
        if png.stat().st_size < LIMIT:
            return
    raise SystemExit(f"{png} is {png.stat().st_size:,} bytes, over {LIMIT:,}")


def main() -> int:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    with tempfile.TemporaryDirectory(prefix="lockstep-shots-") as tmp:
        env = _build(Path(tmp))
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"),
             "--server.address", "127.0.0.1", "--server.port", str(port),
             "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                     "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                     f"--user-data-dir={Path(tmp) / 'chromium'}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")
                                                  or "/usr/bin/chromedriver"), options=options)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while not _healthy(url):
                if time.monotonic() > deadline:
                    raise SystemExit("the dashboard did not start")
                time.sleep(0.5)
            for name, (page, width, height, heading) in SHOTS.items():
                # choose the page in the sidebar at full width (a phone folds the sidebar
                # away), then take the picture at the shot's width
                driver.set_window_size(WIDTH, height)
                driver.get(url)
                time.sleep(5)
                [label] = driver.find_elements(
                    By.XPATH, f"//*[@data-testid='stSidebar']//p[normalize-space()='{page}']")
                driver.execute_script("arguments[0].click();", label)
                time.sleep(10)  # the charts draw after the page
                if width != WIDTH:
                    driver.set_window_size(width, height)
                    time.sleep(5)  # Plotly redraws at the new width
                if heading:  # the section's heading at the top of the picture
                    [title] = driver.find_elements(
                        By.XPATH, f"//h3[normalize-space()='{heading}']")
                    driver.execute_script("arguments[0].scrollIntoView();", title)
                    time.sleep(3)
                target = OUT / name
                driver.save_screenshot(str(target))
                _shrink(target)
                print(f"{target.relative_to(ROOT)}: {target.stat().st_size:,} bytes")
        finally:
            driver.quit()
            server.terminate()
            server.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
