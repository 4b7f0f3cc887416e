"""The last-set page in real headless Chromium (Debian's), served by waitress on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from station.config import Config
from station.web import StationHooks, create_app, serve

from webseed import seed_database

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not CHROMIUM:
        if os.environ.get("CI"):
            pytest.fail("CI must install Debian's chromium (.ci/run does)")
        pytest.skip("Debian's chromium is not installed (apt install chromium); CI installs it")
    db = tmp_path_factory.mktemp("browser") / "station.db"
    ids = seed_database(db)
    cfg = Config()
    app = create_app(db, StationHooks(get_config=lambda: cfg, live=lambda: {
        "running": True, "lifter_present": True, "calibrated": True, "phase": "descent", "thigh_deg": 20.0,
        "rep_count": 2, "set_active": True, "bar": {"levels": [1.0] * 6 + [0.0] * 4, "pattern": "depth",
                                                    "label": "depth 60%"}}))
    srv = serve(app, "127.0.0.1", 0)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.effective_port}", ids
    srv.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


def _phone_page(browser, base):
    page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    return page, requests


def test_last_set_page_on_a_phone(server, browser):
    base, ids = server
    page, requests = _phone_page(browser, base)
    page.goto(base + "/", wait_until="networkidle")
    assert page.locator("#reps tbody tr").count() == 4
    assert page.locator("svg.chart").count() >= 3
    assert "reps" in page.locator("#summary").inner_text()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page is {width} px wide: it must not scroll sideways on a phone"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "last-set-390x844.png"), full_page=True)
    page.goto(base + f"/set/{ids[1]}", wait_until="networkidle")
    assert "started to round" in page.locator("#summary").inner_text()
    page.screenshot(path=str(ARTIFACTS / "wink-set-390x844.png"), full_page=True)
    assert requests and all(url.startswith(base) for url in requests), [u for u in requests if not u.startswith(base)]
    page.close()


def test_live_page_mirrors_the_bar_and_rep_replay_runs(server, browser):
    base, _ = server
    page, requests = _phone_page(browser, base)
    page.goto(base + "/live")
    page.wait_for_function("document.querySelectorAll('#bar i.on').length === 6")
    assert page.locator("#depth").inner_text() == "20°"
    page.goto(base + "/rep/1")
    page.click("#play")
    page.wait_for_timeout(300)
    assert page.locator("#replay polyline").first.get_attribute("points")
    assert all(url.startswith(base) for url in requests)
    page.close()
