"""Web fuzz pass (issue 11): every route, every method, every query parameter and form field with huge,
negative and malformed ids, NaN/inf, non-ASCII, empty and oversized values. No answer may be a 500 or
carry a traceback. Breadth through Flask's test client; a few raw requests through the real waitress."""

from __future__ import annotations

import itertools
import re
import socket
import threading
import time

import pytest
from test_faults import NOW, rep, set_result

from station import config as config_mod
from station.config import Config
from station.store import StoreWriter
from station.web import StationHooks, create_app, serve, stop_server
from station.web.security import PinGuard

IDS = ["1", "0", "-1", "2", "9223372036854775807", "9223372036854775808", "18446744073709551616", "1" + "0" * 40,
       "abc", "1.5", "%00", "%C3%A9", "%FF", "1e3", " 1", "%EF%BC%91"]
FORMATS = ["csv", "json", "xml", "", "%00", "CSV"]
VALUES = ["", "-1", "0", "1", "nan", "NaN", "inf", "-inf", "1e999", "-1e308", "9" * 5000, "é", "\x00", "%FF",
          "１２", " 5 ", "9223372036854775808", "<script>alert(1)</script>", "a" * 70_000]
PARAMS = ["limit", "offset", "days", "lifter", "test", "fmt"]
FIELDS = ["csrf", "pin", "target_depth_deg", "wink_sensitivity", "mode", "brightness", "lifter"]
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
BAD = re.compile(r"Traceback|File \"/|werkzeug\.exceptions|sqlite3\.", re.I)


class Settings:
    def __init__(self):
        self.cfg = Config()
        self.cfg.web.pin_hash = config_mod.hash_pin("2468")

    def get(self):
        return self.cfg

    def apply(self, changes):
        self.cfg = config_mod.updated(self.cfg, changes)   # ConfigError for what it refuses: a 400
        return self.cfg


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    db = tmp_path_factory.mktemp("fuzz") / "station.db"
    writer = StoreWriter(db)
    reps = [rep(i) for i in (1, 2, 3)]
    for r in reps:
        writer.rep_finished(1, NOW, NOW, 0.0, r)
    writer.set_finished(1, NOW, set_result(reps))
    assert writer.flush()
    writer.close()
    settings = Settings()
    return create_app(db, StationHooks(get_config=settings.get, apply_settings=settings.apply,
                                       live=lambda: {"running": True}, selftest_start=lambda: {},
                                       selftest_cancel=lambda: True, preview_jpeg=lambda: b"\xff\xd8"))


def check(response, what) -> None:
    body = response.get_data(as_text=True)
    assert response.status_code != 500, (what, body[:300])
    assert response.status_code < 600 and not BAD.search(body), (what, response.status_code, body[:300])


def urls(app) -> list[str]:
    """Every route with each of its arguments replaced by each hostile id (or format)."""
    out = []
    for rule in app.url_map.iter_rules():
        names = sorted(rule.arguments)
        choices = [FORMATS if name == "fmt" else IDS for name in names]
        for combo in itertools.product(*choices) if names else [()]:
            url = rule.rule
            for name, value in zip(names, combo, strict=True):
                url = re.sub(rf"<[^>]*{name}>", value, url)
            out.append(url)
    return sorted(set(out))


def test_every_route_with_hostile_ids_and_every_method(app):
    client = app.test_client()
    seen = 0
    for url in urls(app):
        for method in METHODS:
            check(client.open(url, method=method), f"{method} {url}")
            seen += 1
    assert seen > 500


def test_every_query_parameter_with_hostile_values(app):
    client = app.test_client()
    get_urls = sorted({re.sub(r"<[^>]*fmt>", "csv", re.sub(r"<[^>]*_id>", "1", r.rule))
                       for r in app.url_map.iter_rules() if "GET" in r.methods and "static" not in r.rule})
    assert "/api/sets/1" in get_urls and "/api/sets" in get_urls and "/selftest" in get_urls
    for url, name, value in itertools.product(get_urls, PARAMS, VALUES):
        check(client.get(url, query_string={name: value}), f"GET {url}?{name}={value[:20]!r}")


def _csrf(client, path):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


@pytest.mark.parametrize("path", ["/settings", "/set/1/delete", "/selftest/start", "/selftest/cancel"])
def test_every_form_field_with_hostile_values_with_and_without_a_valid_token(app, path):
    client = app.test_client()
    token = _csrf(client, "/settings")
    codes = set()
    for field, value, valid in itertools.product(FIELDS, VALUES, (True, False)):
        app.extensions["station"]["pin_guard"] = PinGuard()   # reach the code behind the PIN every time
        data = {"csrf": token, "pin": "2468"} if valid else {}
        data[field] = value
        response = client.post(path, data=data)
        check(response, f"POST {path} {field}={value[:20]!r} valid={valid}")
        codes.add(response.status_code)
    assert codes & {200, 302, 303, 400}, "the fuzz got past the token and the PIN"
    for body, ctype in ((b"x" * 200_000, "application/x-www-form-urlencoded"), (b"{\"pin\": NaN}", "application/json"),
                        (b"--b\r\n" * 1000, "multipart/form-data; boundary=b"), (b"\xff\xfe" * 10, "text/plain")):
        check(client.post(path, data=body, content_type=ctype), f"POST {path} {ctype}")


def test_a_settings_page_reset_to_defaults_still_renders(app):
    """the fuzz above must not have left settings that break the page"""
    assert app.test_client().get("/settings").status_code == 200


RAW = [
    b"GET /api/sets/9223372036854775808 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    b"GET /set/\xff\xfe HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    b"GET /api/sets?lifter=%ED%A0%80 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    b"GET /api/sets?limit=%FF%FE&lifter=%00 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
    b"GET / HTTP/1.0\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nX-Big: " + b"a" * 300_000 + b"\r\n\r\n",
    b"POST /settings HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\n"
    b"Content-Length: 1000000000\r\n\r\npin=1",
    b"POST /settings HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n" + b"10000\r\n" + b"a" * 0x10000 + b"\r\n0\r\n\r\n",
    b"BREW /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,     # a TLS hello on the plain port
]


def _raw_exchange(port: int, raw: bytes, seconds: float = 10.0, enough=lambda data: False) -> bytes:
    """What the real server answers to raw bytes, read until it closes, `seconds` pass or `enough`."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(raw)
        data = b""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            data += chunk
            if enough(data):
                break
    return data


def test_raw_requests_through_the_real_waitress(app):
    srv = serve(app, "127.0.0.1", 0)
    threading.Thread(target=srv.run, daemon=True).start()
    try:
        for raw in RAW:
            data = _raw_exchange(srv.effective_port, raw, seconds=2, enough=lambda d: b"\r\n\r\n" in d and (
                b"Connection: close" in d or len(d) > 100))
            status = data.split(b"\r\n", 1)[0]
            assert b" 500 " not in status and b"Traceback" not in data, (raw[:60], data[:300])
            if b"Content-Length: 1000000000" in raw:
                assert b" 413 " in status, "an oversized body is refused before it is read"
    finally:
        stop_server(srv)


def test_a_body_over_the_form_limit_is_refused_before_it_is_read(app):
    """waitress holds a body whole before Flask sees it: a 1 MB limit let 480 idle connections hold
    400 MB of temporary files. Under the limit, /api answers in JSON (405: it takes no body)."""
    srv = serve(app, "127.0.0.1", 0)
    threading.Thread(target=srv.run, daemon=True).start()
    try:
        for size, status in ((60_000, b"405"), (100_000, b"413")):
            body = b"pin=" + b"1" * size
            raw = (f"POST /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                   f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n").encode()
            head, _, payload = _raw_exchange(srv.effective_port, raw + body).partition(b"\r\n\r\n")
            assert head.split(b" ")[1] == status, head
            if status == b"405":
                assert b"Content-Type: application/json" in head and b'"error"' in payload
    finally:
        stop_server(srv)
