"""The pages in real headless Chromium (Debian's) at a phone's 390x844, served by waitress on 127.0.0.1.

Screenshots go to artifacts/ (CI lists them). Layout facts are asserted, not eyeballed: nothing wider
than the screen, one-line table headers, chart labels clear of the bars, history dots inside their
chart, the live number labelled, a fault shown whole, the advice in the number's place."""

from __future__ import annotations

import math
import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from station import config as config_mod
from station.config import Config
from station.store import Store
from station.web import StationHooks, create_app, serve, stop_server

from webseed import FRONT_ADVICE, add_set_now, seed_database, seed_view_cases

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
WIDTH, HEIGHT = 390, 844
CHART_RADIUS_PX = 10  # .chart border-radius in base.html
pytestmark = pytest.mark.browser

JUDGING = {"running": True, "lifter_present": True, "calibrated": True, "phase": "descent", "thigh_deg": 20.0,
           "rep_count": 2, "set_active": True, "fault": None, "setup_issue": None, "setup_advice": None,
           "bar": {"levels": [1.0] * 6 + [0.0] * 4, "pattern": "depth", "label": "60% to target"}}
LONG_FAULT = "camera stopped delivering frames: /dev/video0 disappeared (USB reset?), retrying in 8 s"
LIVE = dict(JUDGING)

# elements whose right edge passes the viewport: what makes a phone page scroll sideways
OVERFLOWING = """() => [...document.querySelectorAll('body *')].filter(e => {
  const r = e.getBoundingClientRect(); return r.width > 0 && r.right > window.innerWidth + 0.5;
}).map(e => e.tagName + (e.id ? '#' + e.id : '') + (e.className && e.className.baseVal === undefined ? '.' + e.className : ''))"""
# lines of text in an element: distinct line tops of its text's client rects
LINES = """e => { const r = document.createRange(); r.selectNodeContents(e);
  return new Set([...r.getClientRects()].filter(x => x.width > 0).map(x => Math.round(x.top))).size; }"""
# the narrowest gap (px) between the text of two neighbouring cells in a table's rows
CELL_GAP = """t => { let gap = Infinity; const ink = c => { const r = document.createRange(); r.selectNodeContents(c);
  const rs = [...r.getClientRects()].filter(x => x.width > 0);
  return rs.length ? [Math.min(...rs.map(x => x.left)), Math.max(...rs.map(x => x.right))] : null; };
  for (const row of t.querySelectorAll('tr')) { const cells = [...row.children].map(ink);
    for (let i = 1; i < cells.length; i++) if (cells[i - 1] && cells[i]) gap = Math.min(gap, cells[i][0] - cells[i - 1][1]); }
  return gap; }"""
OVERLAP = """([a, b]) => { const r1 = a.getBoundingClientRect(), r2 = b.getBoundingClientRect();
  return !(r1.right <= r2.left || r2.right <= r1.left || r1.bottom <= r2.top || r2.bottom <= r1.top); }"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not CHROMIUM:
        if os.environ.get("CI"):
            pytest.fail("CI must install Debian's chromium (.ci/run does)")
        pytest.skip("Debian's chromium is not installed (apt install chromium); CI installs it")
    db = tmp_path_factory.mktemp("browser") / "station.db"
    cases = seed_view_cases(db)   # recorded first: the Last set page shows the seeded sets' last
    ids = seed_database(db)
    cfg = Config()
    app = create_app(db, StationHooks(get_config=lambda: cfg, live=lambda: dict(LIVE)))
    srv = serve(app, "127.0.0.1", 0)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.effective_port}", ids, cases, db
    stop_server(srv)


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
    page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT}, device_scale_factor=2, is_mobile=True)
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    return page, requests


def _shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{WIDTH}x{HEIGHT}.png"), full_page=True)


def _fits_the_phone(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= WIDTH, f"page is {width} px wide: it must not scroll sideways on a phone"
    assert page.evaluate(OVERFLOWING) == []


def test_last_set_page_on_a_phone(server, browser):
    base, ids, _, _ = server
    page, requests = _phone_page(browser, base)
    page.goto(base + "/", wait_until="networkidle")
    assert page.locator("#reps tbody tr").count() == 4
    assert page.locator("svg.chart").count() >= 3
    assert "reps" in page.locator("#summary").inner_text()
    _fits_the_phone(page)
    _shot(page, "last-set")
    page.goto(base + f"/set/{ids[1]}", wait_until="networkidle")
    assert "started to round" in page.locator("#summary").inner_text()
    _fits_the_phone(page)
    for th in page.locator("#reps th").all():
        assert th.evaluate(LINES) == 1, f"header {th.inner_text()!r} wraps"
    for link in page.locator("#reps td:first-child a, a.tap").all():   # rep numbers were 10 x 19 px
        box = link.bounding_box()
        assert box["height"] >= 38 and box["width"] >= 20, f"tap target {link.inner_text()!r}: {box}"
    bars = page.locator("svg.chart").first
    labels, rects = bars.locator("text.ref").all(), bars.locator("rect").all()
    assert labels and rects
    for label in labels:
        for rect in rects:
            assert not page.evaluate(OVERLAP, [label.element_handle(), rect.element_handle()]), \
                f"chart label {label.text_content()!r} overlaps a bar"
    _shot(page, "wink-set")
    assert requests and all(url.startswith(base) for url in requests), [u for u in requests if not u.startswith(base)]
    page.close()


def test_view_gate_sets_on_a_phone(server, browser):
    base, _, cases, _ = server
    page, _ = _phone_page(browser, base)
    page.goto(base + f"/set/{cases['unjudged']}", wait_until="networkidle")
    assert page.locator("#summary").inner_text() == FRONT_ADVICE
    assert page.locator("svg.chart").count() == 0 and "°" not in page.locator("main").inner_text()
    _fits_the_phone(page)
    _shot(page, "unjudged-set")
    page.goto(base + f"/set/{cases['verdicts']}", wait_until="networkidle")
    verdicts = page.locator("#reps small.verdict").all_inner_texts()
    assert verdicts == ["below parallel", "at parallel", "above parallel"]
    assert [c.strip() for c in page.locator("#reps tbody td:last-child").all_inner_texts()] == ["44°", "-", "-"]
    _fits_the_phone(page)
    _shot(page, "verdicts-set")
    page.close()


def test_history_dots_stay_inside_their_chart(server, browser):
    base, _, _, _ = server
    page, _ = _phone_page(browser, base)
    page.goto(base + "/history", wait_until="networkidle")
    chart = page.locator("svg.chart").first.bounding_box()
    corner = CHART_RADIUS_PX  # the chart's rounded corners clip anything closer to its edge than this
    dots = page.locator("svg.chart circle").all()
    assert len(dots) >= 4
    for dot in dots:
        box = dot.bounding_box()
        assert chart["x"] + corner <= box["x"] and box["x"] + box["width"] <= chart["x"] + chart["width"] - corner
        assert chart["y"] + corner <= box["y"] and box["y"] + box["height"] <= chart["y"] + chart["height"] - corner
    assert "not judged" in page.locator("table").inner_text()
    for th in page.locator("table th").all():
        assert th.evaluate(LINES) == 1, f"header {th.inner_text()!r} wraps"
    _fits_the_phone(page)
    _shot(page, "history")
    page.close()


def test_live_page_labels_the_number_shows_a_fault_whole_and_the_advice_instead_of_depth(server, browser):
    base, _, _, _ = server
    page, requests = _phone_page(browser, base)
    LIVE.clear()
    LIVE.update(JUDGING)
    page.goto(base + "/live")
    page.wait_for_function("() => document.querySelectorAll('#bar i.on').length === 6")
    assert page.locator("#depth").inner_text() == "20°"
    label = page.locator("#depthlabel")
    assert label.is_visible() and label.inner_text() == "thigh angle · above parallel"
    number, under = page.locator("#depth").bounding_box(), label.bounding_box()
    assert under["y"] >= number["y"] + number["height"] - 1, "the label sits under the number"
    assert page.locator("#reps").inner_text() == "2 reps done", "not 'rep 2', read as the rep under way"
    assert page.locator("#label").inner_text() == "60% to target", "a share of what, said"
    _fits_the_phone(page)
    _shot(page, "live")
    LIVE["thigh_deg"] = -12.4   # a depth as every page writes it: unsigned, the side in words
    page.wait_for_function("() => document.getElementById('depth').textContent === '12°'")
    assert label.inner_text() == "thigh angle · below parallel"
    LIVE["thigh_deg"] = JUDGING["thigh_deg"]
    LIVE["bar"] = {"levels": [1.0] * 3 + [0.0] * 7, "pattern": "rep", "label": "rep 3"}
    LIVE["rep_count"] = 3
    page.wait_for_function("() => document.getElementById('reps').textContent === '3 reps done'")
    assert page.locator("#label").inner_text() == "", "the bar's rep count is the reps line's, said once"
    LIVE.update(JUDGING)

    LIVE["fault"] = LONG_FAULT
    LIVE["bar"] = {"levels": [0.0] * 9 + [1.0], "pattern": "fault", "label": "check the page: " + LONG_FAULT}
    page.wait_for_function("() => !document.getElementById('fault').hidden")
    fault = page.locator("#fault")
    assert LONG_FAULT in fault.inner_text(), "the whole fault, not a cut-off piece"
    assert fault.evaluate("e => e.scrollWidth <= e.clientWidth")
    assert not page.locator("#depth").is_visible(), "no fresh frames: the last number would be stale"
    _fits_the_phone(page)
    _shot(page, "live-fault")

    LIVE.clear()
    LIVE.update(JUDGING, calibrated=False, phase="waiting", thigh_deg=None, setup_issue="front_view",
                setup_advice=FRONT_ADVICE, bar={"levels": [1.0] + [0.0] * 9, "pattern": "setup", "label": FRONT_ADVICE})
    page.wait_for_function("() => !document.getElementById('advice').hidden")
    assert page.locator("#advice").inner_text() == FRONT_ADVICE
    assert not page.locator("#depth").is_visible(), "no depth number while the station cannot judge"
    assert page.locator("#label").inner_text() == "", "the advice is not repeated under itself"
    _fits_the_phone(page)
    _shot(page, "live-setup")
    LIVE.clear()
    LIVE.update(JUDGING)
    page.wait_for_function("() => document.getElementById('advice').hidden")
    assert page.locator("#depth").is_visible()

    LIVE.update(lifter_present=False, thigh_deg=None,   # idle: one line says so, not two
                bar={"levels": [0.0] * 10, "pattern": "idle", "label": "waiting for a lifter"})
    page.wait_for_function("() => document.getElementById('phase').textContent === 'no lifter in view'")
    assert page.locator("#label").inner_text() == "", "'waiting for a lifter' under 'no lifter in view'"
    assert all(url.startswith(base) for url in requests)
    page.close()


def test_rep_replay_in_place_marked_and_scrubbable(server, browser):
    base, ids, _, db = server
    store = Store(db)
    rep_id = store.get_set(ids[1])["reps"][2]["id"]   # rep 3 of the seeded wink set
    store.close()
    page, requests = _phone_page(browser, base)
    page.goto(base + f"/rep/{rep_id}", wait_until="networkidle")
    svg = page.locator("#replay").bounding_box()
    skeleton = page.locator("#lifter").bounding_box()
    centre = skeleton["x"] + skeleton["width"] / 2
    assert abs(centre - (svg["x"] + svg["width"] / 2)) < 0.2 * svg["width"], "the lifter is centred, not left"
    assert skeleton["height"] > 0.4 * svg["height"], "the lifter fills the replay"
    deepest, onset = page.locator(".mark.deepest").bounding_box(), page.locator(".mark.onset").bounding_box()
    assert onset["x"] < deepest["x"], "the rounding begins on the way down, before the deepest frame"
    _fits_the_phone(page)
    _shot(page, "rep-replay")
    readout = page.locator("#readout")
    assert "thigh" in readout.inner_text() and "0.00 s" in readout.inner_text()
    thigh = page.locator("#lifter polyline").nth(1)  # hip to knee
    before = thigh.get_attribute("points")
    page.locator("#scrub").fill("12")
    assert thigh.get_attribute("points") != before, "scrubbing moves the lifter"
    assert not readout.inner_text().startswith("0.00 s")
    page.click("#to-onset")
    assert "lower back rounding" in readout.inner_text()
    page.click("#to-deepest")
    assert "deepest" in readout.inner_text()
    # the dashed parallel rises 9 deg towards the hip (the hip point sits above the joint): a level knee
    # line put a hip the page calls below parallel above the line
    x1, y1, x2, y2 = (float(page.locator("#replay .parallel-line").get_attribute(k)) for k in ("x1", "y1", "x2", "y2"))
    hip_x = float(page.locator("#lifter circle").nth(1).get_attribute("cx"))
    knee_x = float(page.locator("#lifter circle").nth(2).get_attribute("cx"))
    hip_end_higher = (y2 < y1) if hip_x > knee_x else (y1 < y2)
    assert hip_end_higher and math.degrees(math.atan2(abs(y2 - y1), x2 - x1)) == pytest.approx(9.0, abs=0.3)
    _shot(page, "rep-replay-deepest")
    # Play: back to the first frame, which the page also draws on load, so only the click can move it on
    page.locator("#scrub").fill("0")
    assert readout.inner_text().startswith("0.00 s")
    page.wait_for_timeout(300)
    assert readout.inner_text().startswith("0.00 s"), "nothing plays before Play is pressed"
    page.click("#play")
    last = page.locator("#scrub").get_attribute("max")
    page.wait_for_function(f"() => document.getElementById('scrub').value === '{last}'", timeout=15000)
    assert not readout.inner_text().startswith("0.00 s"), "Play ran the rep to its last frame"
    assert all(url.startswith(base) for url in requests)
    page.close()


def test_last_set_page_shows_a_new_set_without_a_reload_by_hand(server, browser):
    base, _, _, db = server
    page, _ = _phone_page(browser, base)
    page.goto(base + "/?lifter=maria", wait_until="networkidle")
    assert page.locator("h1").inner_text() == "No sets yet"
    add_set_now(db, "maria", "2 reps, all below parallel.")
    page.wait_for_function("() => document.getElementById('summary') && "
                           "document.getElementById('summary').textContent.indexOf('2 reps, all below') === 0",
                           timeout=20000)
    assert page.locator("#reps tbody tr").count() == 2
    page.close()


# --- the self-test: start it from the page, follow it, read the result ----------------------------

class PhoneSelfTest:
    """The runner's self-test hooks: started from the page, then moved on by the test."""

    def __init__(self):
        self.running = False
        self.rep = 1
        self.started = 0

    def status(self):
        from station.analysis.selftest import target_words

        targets = [25.0, 18.0, 10.5, 4.0]   # 10.5: the station says "10", a page rounding it again "11"
        reps = [{"number": k + 1, "rep_index": k + 1, "set_key": 1, "target_deg": targets[k], "judged": True,
                 "depth_deg": targets[k] - 2, "wink": False, "onset_deg": None, "confidence": 0.0, "note": "",
                 "verdict": "above", "reason": ""} for k in range(self.rep - 1)]
        if len(reps) > 1:     # rep 2's back was hidden: its depth stands, its rounding was not judged
            reps[1].update(judged=False, reason="back hidden", note="Not judged: your lower back was hidden.")
        return {"running": self.running, "starting": False, "lifter": "maria", "rep": self.rep,
                "target_deg": targets[self.rep - 1], "target_words": target_words(targets[self.rep - 1]), "max_reps": 10, "reps": reps, "outcome": None,
                "message": (f"Rep {self.rep - 1}: no rounding. Rep {self.rep}: a little deeper, to "
                            f"{targets[self.rep - 1]:.0f}° above parallel." if self.rep > 1 else
                            "Self-test started: slow bodyweight squats, side-on to the camera.")}

    def start(self):
        self.started += 1
        self.running = True
        return self.status()

    def cancel(self):
        self.running = False
        return True


@pytest.fixture(scope="module")
def selftest_server(tmp_path_factory):
    if not CHROMIUM:
        pytest.skip("Debian's chromium is not installed (apt install chromium)")
    from selftestseed import seed_selftests

    db = tmp_path_factory.mktemp("selftest-browser") / "station.db"
    info = seed_selftests(db, "maria")
    cfg = Config()
    cfg.web.pin_hash = config_mod.hash_pin("2468")
    cfg.station.lifter = "maria"
    fake = PhoneSelfTest()
    app = create_app(db, StationHooks(get_config=lambda: cfg, live=lambda: dict(JUDGING), selftest_status=fake.status,
                                      selftest_start=fake.start, selftest_cancel=fake.cancel))
    srv = serve(app, "127.0.0.1", 0)
    threading.Thread(target=srv.run, daemon=True).start()
    yield f"http://127.0.0.1:{srv.effective_port}", fake, info
    stop_server(srv)


def _inside(page, inner, outer, slack=0.5):
    a, b = inner.bounding_box(), outer.bounding_box()
    return (a["x"] >= b["x"] - slack and a["y"] >= b["y"] - slack and a["x"] + a["width"] <= b["x"] + b["width"] + slack
            and a["y"] + a["height"] <= b["y"] + b["height"] + slack)


def test_self_test_from_the_page_on_a_phone(selftest_server, browser):
    base, fake, info = selftest_server
    page, requests = _phone_page(browser, base)
    page.goto(base + "/selftest", wait_until="networkidle")
    for link in page.locator("nav a").all():
        assert link.evaluate(LINES) == 1, f"nav item {link.inner_text()!r} wraps"
    assert page.locator("nav a.on").inner_text() == "Safe depth"
    assert page.locator("#start").is_visible() and not page.locator("#status").is_visible()
    _fits_the_phone(page)
    _shot(page, "selftest-start")

    page.fill("#pin", "2468")
    page.click("#begin")
    page.wait_for_selector("#status", state="visible")
    assert fake.started == 1
    assert page.locator("#st-rep").inner_text() == "1" and page.locator("#st-target").inner_text() == "25° above"
    fake.rep = 3   # two reps done: the page follows without a reload
    page.wait_for_function("() => document.getElementById('st-rep').textContent === '3'")
    assert page.locator("#st-target").inner_text() == "10° above", "the station's words, not rounded again"
    assert page.locator("#st-reps tbody tr").count() == 2
    assert page.locator("#st-reps tbody tr").last.inner_text().split() == \
        ["2", "18°", "above", "16°", "above", "not", "judged", "back", "hidden"], "why, in the table"
    assert "a little deeper" in page.locator("#st-message").inner_text()
    polled = page.locator("#st-reps tbody").inner_text()
    page.reload(wait_until="domcontentloaded")
    assert page.locator("#st-reps tbody").inner_text() == polled, "the page and its script say the same"
    assert page.locator("#cancel").is_visible() and page.locator("#start").count() == 0
    _fits_the_phone(page)
    _shot(page, "selftest-running")

    fake.running = False   # the station finished the test: the page reloads with the result
    page.wait_for_selector("#start", state="visible", timeout=10000)
    page.wait_for_load_state("networkidle")
    result = info["result"]
    assert page.locator("#result").inner_text() == result.message
    evidence = page.locator("svg#evidence")
    assert evidence.is_visible() and evidence.locator("g.panel").count() == 2
    for panel in evidence.locator("g.panel").all():
        assert _inside(page, panel, evidence), "each skeleton stays inside the drawing"
    onset, bottom = evidence.locator("g.panel.onset"), evidence.locator("g.panel.bottom")
    assert not page.evaluate(OVERLAP, [onset.element_handle(), bottom.element_handle()]), "side by side, apart"
    assert "rounding began" in onset.locator("text").text_content()
    assert evidence.locator("line.onset-ghost").count() == 1
    history = page.locator("svg.chart").last
    dots = history.locator("circle").all()
    assert len(dots) == 3
    for dot in dots:
        assert _inside(page, dot, history)
    assert page.locator("#tests tbody tr").count() == 3
    assert "deeper" in page.locator("#trend").inner_text()
    for th in page.locator("#test-reps th, #tests th").all():
        assert th.evaluate(LINES) == 1, f"header {th.inner_text()!r} wraps"
    _fits_the_phone(page)
    _shot(page, "selftest-result")
    page.set_viewport_size({"width": 360, "height": 740})   # three result boxes ran 7 px past a 360 px screen
    assert page.evaluate(OVERFLOWING) == [] and page.evaluate("document.documentElement.scrollWidth") <= 360
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    page.click("#evidence-rep")
    page.wait_for_selector("#replay")
    assert all(url.startswith(base) for url in requests), [u for u in requests if not u.startswith(base)]
    page.close()


def test_nav_fits_one_line_on_every_page(server, browser):
    base, ids, _, _ = server
    page, _ = _phone_page(browser, base)
    for path in ("/", "/history", "/live", "/settings", "/selftest"):
        page.goto(base + path, wait_until="domcontentloaded")
        for link in page.locator("nav a").all():
            assert link.evaluate(LINES) == 1, f"{path}: nav item {link.inner_text()!r} wraps"
        _fits_the_phone(page)
    page.close()


@pytest.mark.parametrize("width", [360, 390])
def test_every_page_fits_a_narrow_phone(server, browser, width):
    """At 360 px (many Android phones) the nav's 'Settings' ran to x=370 and the rep table's 'lean'
    header was cut; nothing may reach past the screen's edge."""
    base, ids, _, _ = server
    page = browser.new_page(viewport={"width": width, "height": 780}, device_scale_factor=2, is_mobile=True)
    for path in ("/", f"/set/{ids[0]}", "/history", "/live", "/selftest", "/settings"):
        page.goto(base + path, wait_until="load")
        assert page.evaluate(OVERFLOWING) == [], path
        assert page.evaluate("document.documentElement.scrollWidth") <= width, path
        for table in page.locator("table").all():    # 2 px apart, a row read "20° above parallel 25° above"
            assert table.evaluate(CELL_GAP) >= 4, f"{path}: neighbouring cells' text runs together"
    page.close()


def test_a_station_clock_off_from_the_phones_is_said_on_every_page(server, browser):
    """after a power cut without network time the station's clock lags: the phone's is right"""
    base, _, _, _ = server
    page, _ = _phone_page(browser, base)
    page.goto(base + "/history", wait_until="networkidle")
    assert page.locator("#clock-alert").count() == 0, "a station in step with the phone says nothing"
    page.close()
    page, _ = _phone_page(browser, base)
    page.clock.install(time=time.time() + 3 * 3600 + 20 * 60)   # the phone 3 h 20 min ahead of the station
    page.goto(base + "/history", wait_until="networkidle")
    alert = page.locator("#clock-alert")
    alert.wait_for(timeout=5000)
    assert "3 h 20 min behind this phone's" in alert.inner_text()
    _fits_the_phone(page)
    page.close()
    page, _ = _phone_page(browser, base)
    page.clock.install(time=time.time() - 7190)   # 1 h 59 min 50 s: never "1 h 60 min"
    page.goto(base + "/history", wait_until="networkidle")
    page.locator("#clock-alert").wait_for(timeout=5000)
    assert "2 h 0 min ahead of this phone's" in page.locator("#clock-alert").inner_text()
    page.close()


def test_the_smallest_phones_need_no_sideways_scrolling(server, browser):
    """320 px (an iPhone SE's first size, large text on a 390 px phone): the rep table cut off its last
    column and the page zoomed out"""
    base, ids, _, db = server
    store = Store(db)
    rep_id = store.get_set(ids[1])["reps"][2]["id"]
    store.close()
    page = browser.new_page(viewport={"width": 320, "height": 640}, device_scale_factor=2, is_mobile=True)
    for path in ("/", f"/set/{ids[1]}", f"/rep/{rep_id}", "/history", "/live", "/selftest", "/settings"):
        page.goto(base + path, wait_until="load")   # Live polls: never network-idle
        page.wait_for_timeout(300)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 320, f"{path} is {width} px wide at 320"
        assert page.evaluate(OVERFLOWING) == [], path
    page.close()


def test_live_during_a_self_test_says_the_rep_and_its_target_once(server, browser):
    """it said the rep and its target three times: the big line, the bar's label (written for the
    terminal bar) and the test's sentence"""
    base, _, _, _ = server
    message = "Rep 1: 20° above parallel, no rounding. Rep 2: a little deeper, to 17° above parallel."
    LIVE.clear()
    LIVE.update(JUDGING)
    LIVE["selftest"] = {"rep": 2, "target_deg": 17.0, "target_words": "17° above", "message": message}
    LIVE["bar"] = {"levels": [1.0] * 4 + [0.0] * 6, "pattern": "depth",
                   "label": "self-test rep 2 to 17° above: 40% to target"}
    try:
        page, _ = _phone_page(browser, base)
        page.goto(base + "/live")
        page.wait_for_function("() => document.getElementById('selftest-text').textContent.length > 0")
        assert page.locator("#reps").inner_text() == "test rep 2, to 17° above"
        assert page.locator("#label").inner_text() == "40% to target"
        assert page.locator("#selftest-text").inner_text() == message
        _fits_the_phone(page)
        page.close()
    finally:
        LIVE.clear()
        LIVE.update(JUDGING)
