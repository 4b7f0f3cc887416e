"""The phone page: Flask app factory, two blueprints (pages, api), served by waitress.

The web layer only reads the database (its own SQLite connection per request; WAL lets it read
while the station writes) and asks the runner, through `StationHooks`, for live state and to
apply settings. Debug mode is never on; errors are short messages, never tracebacks.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from flask import Flask, g, jsonify, render_template, request

from station.store import Store

log = logging.getLogger(__name__)


class BadRequest(Exception):
    """A parameter the user can fix: 400 with this message."""


@dataclass
class StationHooks:
    """What the page needs from the running station (defaults: a read-only history viewer)."""

    get_config: Callable
    apply_settings: Callable[[dict], object] | None = None   # raises ConfigError with a message
    live: Callable[[], dict] = lambda: {"running": False}
    preview_jpeg: Callable[[], bytes | None] = lambda: None
    store_status: Callable[[], dict] = lambda: {"disk_full": False, "error": None}
    # the self-test (docs/self-test.md); None: this page cannot start one (a read-only history viewer)
    selftest_status: Callable[[], dict] = lambda: {"running": False, "outcome": None, "reps": []}
    selftest_start: Callable[[], dict] | None = None     # raises station.analysis.selftest.SelfTestError with a message
    selftest_cancel: Callable[[], bool] | None = None


def _secret_key(state_dir: Path) -> bytes:
    """Persisted so CSRF tokens survive a restart; created with the state directory."""
    path = state_dir / "web-secret"
    try:
        if path.exists():
            return path.read_bytes()
        state_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        path.write_bytes(key)
        path.chmod(0o600)
        return key
    except OSError:
        return secrets.token_bytes(32)


def create_app(db_path: Path, hooks: StationHooks, state_dir: Path | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=_secret_key(state_dir or Path(db_path).parent), DEBUG=False, TESTING=False,
                      SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict", MAX_CONTENT_LENGTH=64 * 1024,
                      JSON_SORT_KEYS=False)
    app.extensions["station"] = {"db_path": Path(db_path), "hooks": hooks}

    from station.web.api import api
    from station.web.pages import pages

    app.register_blueprint(pages)
    app.register_blueprint(api, url_prefix="/api")

    @app.before_request
    def open_store():
        g.store = None

    @app.teardown_request
    def close_store(_exc):
        store = g.pop("store", None)
        if store is not None:
            store.close()

    def wants_json() -> bool:
        return request.path.startswith("/api/")

    def error(status: int, message: str):
        if wants_json():
            return jsonify({"error": message}), status
        return render_template("error.html", status=status, message=message), status

    app.register_error_handler(BadRequest, lambda e: error(400, str(e)))
    app.register_error_handler(400, lambda e: error(400, getattr(e, "description", "bad request")))
    app.register_error_handler(403, lambda e: error(403, getattr(e, "description", "forbidden")))
    app.register_error_handler(404, lambda e: error(404, "not found"))
    app.register_error_handler(405, lambda e: error(405, "method not allowed"))
    app.register_error_handler(409, lambda e: error(409, getattr(e, "description", "conflict")))
    app.register_error_handler(413, lambda e: error(413, "request too large"))

    @app.errorhandler(Exception)
    def unexpected(exc):
        log.exception("unexpected error on %s", request.path)
        return error(500, "internal error: the station logged the details")

    @app.after_request
    def headers(response):
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
            "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    return app


def store() -> Store:
    """The request's read connection."""
    from flask import current_app

    if g.get("store") is None:
        g.store = Store(current_app.extensions["station"]["db_path"])
    return g.store


def hooks() -> StationHooks:
    from flask import current_app

    return current_app.extensions["station"]["hooks"]


def int_arg(name: str, default: int, lo: int, hi: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"parameter {name}={raw!r} must be a whole number") from None
    if not lo <= value <= hi:
        raise BadRequest(f"parameter {name}={value} must be between {lo} and {hi}")
    return value


def serve(app: Flask, host: str, port: int, threads: int = 4):
    """A waitress server the caller can run on a thread and close()."""
    from waitress.server import create_server

    return create_server(app, host=host, port=port, threads=threads, ident="station", clear_untrusted_proxy_headers=True)
