"""Every page and API route through Flask's test client; PIN and CSRF; bad parameters."""

from __future__ import annotations

import re

import pytest

from station import config as config_mod
from station.config import Config
from station.web import StationHooks, create_app

from webseed import seed_database


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    db = tmp_path_factory.mktemp("web") / "station.db"
    ids = seed_database(db)
    return db, ids


class Settings:
    def __init__(self, pin="2468"):
        self.cfg = Config()
        self.cfg.web.pin = pin
        self.applied = []

    def get(self):
        return self.cfg

    def apply(self, changes):
        self.cfg = config_mod.updated(self.cfg, changes)
        self.applied.append(changes)
        return self.cfg


@pytest.fixture
def client(seeded):
    db, _ = seeded
    settings = Settings()
    live = {"running": True, "lifter_present": True, "thigh_deg": 12.0, "bar": {"levels": [1, 1, 0], "pattern": "depth"}}
    app = create_app(db, StationHooks(get_config=settings.get, apply_settings=settings.apply, live=lambda: live,
                                      preview_jpeg=lambda: b"\xff\xd8fake"))
    client = app.test_client()
    client.settings = settings
    return client


def _csrf(client, path="/settings"):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def test_last_set_page_shows_the_summary_table_and_charts(client, seeded):
    page = client.get("/").get_data(as_text=True)
    assert 'id="reps"' in page and page.count("<svg") >= 3
    assert "4 reps" in page  # the newest seeded set
    assert "http" not in page.replace("http://www.w3.org/2000/svg", "")  # no external anything


def test_wink_set_page_says_where_the_back_rounded(client, seeded):
    _, ids = seeded
    page = client.get(f"/set/{ids[1]}").get_data(as_text=True)
    assert "lower back started to round" in page and "try stopping at" in page


def test_rep_page_has_curves_and_replay(client):
    page = client.get("/rep/1").get_data(as_text=True)
    assert 'id="replay"' in page and '"joints":' in page and "<svg" in page


def test_history_and_live_pages(client):
    assert "History" in client.get("/history").get_data(as_text=True)
    assert "No sets in this period" in client.get("/history?lifter=nobody").get_data(as_text=True)
    assert client.get("/history?days=7").status_code == 200
    assert 'id="bar"' in client.get("/live").get_data(as_text=True)


@pytest.mark.parametrize("url", ["/api/last-set", "/api/sets", "/api/sets/1", "/api/reps/1", "/api/history",
                                 "/api/live", "/api/settings", "/api/health"])
def test_api_routes_return_json(client, url):
    response = client.get(url)
    assert response.status_code == 200 and response.is_json


def test_api_content(client, seeded):
    _, ids = seeded
    last = client.get("/api/last-set").get_json()["set"]
    assert last["id"] == ids[-1] and last["rep_count"] == 4
    assert len(client.get("/api/sets?limit=2").get_json()["sets"]) == 2
    rep = client.get("/api/reps/1").get_json()["rep"]
    assert rep["series"]["joint_names"][2] == "hip"
    assert client.get("/api/live").get_json()["thigh_deg"] == 12.0


def test_exports(client):
    csv_response = client.get("/api/sets/1.csv")
    assert csv_response.mimetype == "text/csv" and csv_response.get_data(as_text=True).startswith("set_id,")
    assert client.get("/api/sets/1.json").get_json()["id"] == 1


@pytest.mark.parametrize("url,message", [
    ("/api/sets?limit=abc", "must be a whole number"),
    ("/api/sets?limit=0", "between 1 and 500"),
    ("/api/history?days=-3", "between 1 and 3650"),
    ("/history?days=x", "must be a whole number"),
])
def test_bad_parameters_are_400_with_a_message(client, url, message):
    response = client.get(url)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_missing_things_are_404(client):
    assert client.get("/set/9999").status_code == 404
    assert client.get("/api/reps/9999").get_json() == {"error": "not found"}
    assert client.get("/nowhere").status_code == 404


def test_preview_is_off_by_default(client):
    assert client.get("/api/preview.jpg").status_code == 404
    client.settings.cfg.web.preview = True
    assert client.get("/api/preview.jpg").data.startswith(b"\xff\xd8")


def test_settings_change_with_pin_and_csrf_is_applied(client):
    token = _csrf(client)
    response = client.post("/settings", data={"csrf": token, "pin": "2468", "target_depth_deg": "-5",
                                              "wink_sensitivity": "high", "mode": "lights_only", "lifter": "Maria"})
    assert response.status_code == 200 and "Saved" in response.get_data(as_text=True)
    cfg = client.settings.cfg
    assert cfg.analysis.target_depth_deg == -5 and cfg.analysis.wink_sensitivity == "high"
    assert cfg.feedback.mode == "lights_only" and cfg.station.lifter == "Maria"


def test_settings_rejects_wrong_pin_missing_csrf_and_bad_values(client):
    token = _csrf(client)
    wrong = client.post("/settings", data={"csrf": token, "pin": "0000", "target_depth_deg": "-5"})
    assert wrong.status_code == 403 and "wrong PIN" in wrong.get_data(as_text=True)
    forged = client.post("/settings", data={"pin": "2468", "target_depth_deg": "-5"})
    assert forged.status_code == 403 and "CSRF" in forged.get_data(as_text=True)
    bad = client.post("/settings", data={"csrf": token, "pin": "2468", "target_depth_deg": "90"})
    assert bad.status_code == 400 and "between -40.0 and 40.0" in bad.get_data(as_text=True)
    nan = client.post("/settings", data={"csrf": token, "pin": "2468", "brightness": "bright"})
    assert nan.status_code == 400 and "not a number" in nan.get_data(as_text=True)
    odd = client.post("/settings", data={"csrf": token, "pin": "2468", "lifter": "<script>"})
    assert odd.status_code == 400
    assert client.settings.applied == []


def test_repeated_wrong_pins_lock_the_form(client):
    token = _csrf(client)
    for _ in range(5):
        client.post("/settings", data={"csrf": token, "pin": "1111"})
    locked = client.post("/settings", data={"csrf": token, "pin": "2468"})
    assert locked.status_code == 403 and "too many wrong PINs" in locked.get_data(as_text=True)


def test_without_a_pin_changes_are_disabled(seeded):
    db, _ = seeded
    settings = Settings(pin="")
    client = create_app(db, StationHooks(get_config=settings.get, apply_settings=settings.apply)).test_client()
    assert "Changes are disabled" in client.get("/settings").get_data(as_text=True)
    response = client.post("/settings", data={"csrf": _csrf(client), "pin": "", "target_depth_deg": "1"})
    assert response.status_code == 403 and "no PIN is set" in response.get_data(as_text=True)


def test_delete_needs_the_pin(tmp_path):
    db = tmp_path / "del.db"
    ids = seed_database(db, sets=__import__("webseed").SETS[:1])
    settings = Settings()
    client = create_app(db, StationHooks(get_config=settings.get)).test_client()
    token = _csrf(client, f"/set/{ids[0]}")
    assert client.post(f"/set/{ids[0]}/delete", data={"csrf": token, "pin": "1"}).status_code == 403
    assert client.post(f"/set/{ids[0]}/delete", data={"csrf": token, "pin": "2468"}).status_code == 302
    assert client.get(f"/set/{ids[0]}").status_code == 404


def test_security_headers_and_no_debug(client):
    response = client.get("/")
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert client.application.debug is False
