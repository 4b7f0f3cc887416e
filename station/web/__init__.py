"""The phone page: Flask app factory, two blueprints (pages, api), served by waitress.

The web layer only reads the database (its own SQLite connection per request; WAL lets it read
while the station writes) and asks the runner, through `StationHooks`, for live state and to
apply settings. Debug mode is never on; errors are short messages, never tracebacks.
"""

from __future__ import annotations

import errno
import logging
import re
import secrets
import socket
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, g, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, Map

from station.errors import StationError
from station.files import write_atomic
from station.store import Store, StoreError, is_damage
from station.web.security import PinGuard, host_allowed, own_names, pin_matches, pin_set

if TYPE_CHECKING:
    from waitress.server import BaseWSGIServer, MultiSocketServer

    from station.config import Config

log = logging.getLogger(__name__)
SECRET_BYTES = 32
MAX_BODY = 64 * 1024        # the largest form the pages send is under 1 KB
MAX_FORM_PARTS = 50         # the settings form has 7 fields
TOO_LARGE = f"request too large (at most {MAX_BODY // 1024} KB and {MAX_FORM_PARTS} form fields)"
__all__ = ["BadRequest", "StationHooks", "WebError", "create_app", "pin_matches", "pin_set", "serve", "stop_server"]


class BadRequest(Exception):
    """A parameter the user can fix: 400 with this message."""


class WebError(StationError):
    """The page cannot be served as configured (port in use, bad web.host): one line, exit 2."""


class RowId(IntegerConverter):
    """A database id in a URL: 1 .. 2^63-1 (SQLite's INTEGER); anything else is a plain 404."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        super().__init__(map, min=1, max=2**63 - 1)


@dataclass
class StationHooks:
    """What the page needs from the running station (defaults: a read-only history viewer)."""

    get_config: Callable[[], Config]
    apply_settings: Callable[[dict], Config] | None = None   # raises ConfigError with a message
    live: Callable[[], dict] = lambda: {"running": False}
    preview_jpeg: Callable[[], bytes | None] = lambda: None
    store_status: Callable[[], dict] = lambda: {"disk_full": False, "error": None}
    # the self-test (docs/self-test.md); None: this page cannot start one (a read-only history viewer)
    selftest_status: Callable[[], dict] = lambda: {"running": False, "outcome": None, "reps": []}
    selftest_start: Callable[[], dict] | None = None     # raises station.analysis.selftest.SelfTestError with a message
    selftest_cancel: Callable[[], bool] | None = None


def _secret_key(state_dir: Path) -> bytes:
    """Persisted so CSRF tokens survive a restart. A missing, empty or short file (left by a start
    on a full disk) is replaced, atomically and 0600, so it can never make every page fail."""
    path = state_dir / "web-secret"
    try:
        key = path.read_bytes()
        if len(key) >= SECRET_BYTES:
            return key
        log.warning("%s is %d bytes (needs %d): a new one is made; forms open before now must be reloaded",
                    path, len(key), SECRET_BYTES)
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("cannot read %s (%s): a new one is made", path, exc)
    key = secrets.token_bytes(SECRET_BYTES)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, key, mode=0o600)   # never a short secret after a crash or a full disk
    except OSError as exc:
        log.warning("cannot save %s (%s): forms expire when the station restarts", path, exc)
    return key


def create_app(db_path: Path, hooks: StationHooks, state_dir: Path | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=_secret_key(state_dir or Path(db_path).parent), DEBUG=False, TESTING=False,
                      SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict", MAX_CONTENT_LENGTH=MAX_BODY,
                      MAX_FORM_MEMORY_SIZE=MAX_BODY, MAX_FORM_PARTS=MAX_FORM_PARTS, JSON_SORT_KEYS=False,
                      PROPAGATE_EXCEPTIONS=False)
    app.url_map.converters["rowid"] = RowId
    app.extensions["station"] = {"db_path": Path(db_path), "hooks": hooks, "pin_guard": PinGuard()}

    from station.web.api import api
    from station.web.pages import pages

    app.register_blueprint(pages)
    app.register_blueprint(api, url_prefix="/api")

    @app.before_request
    def check_host() -> ResponseReturnValue | None:
        """DNS rebinding: a page on another name must not read this station's API from a phone's browser."""
        if not host_allowed(request.host, own_names(hooks.get_config().web.host)):
            port = request.environ.get("SERVER_PORT", "")
            port = f":{port}" if port.isdigit() and port != "80" else ""
            return error(400, f"this station answers only to its own addresses, not {request.host[:80]!r}: open "
                              f"it by its IP address or http://{socket.gethostname()}.local{port}/")
        g.store = None
        return None

    @app.teardown_request
    def close_store(_exc: BaseException | None) -> None:
        store = g.pop("store", None)
        if store is not None:
            store.close()

    def wants_json() -> bool:
        return request.path.startswith("/api/")

    def error(status: int, message: str) -> ResponseReturnValue:
        if wants_json():
            return jsonify({"error": message}), status
        try:
            title = {400: "Bad request", 403: "Not allowed", 404: "Not found", 413: "Too large",
                     429: "Wait", 503: "Unavailable"}.get(status, "Error")
            return render_template("error.html", title=title, status=status, message=message), status
        except Exception:  # noqa: BLE001 - the error page itself failed: plain text, never a traceback
            log.exception("error page failed")
            return message, status, {"Content-Type": "text/plain; charset=utf-8"}

    def http_error(exc: HTTPException) -> ResponseReturnValue:
        code = exc.code or 500
        messages = {404: f"there is nothing at {request.path[:80]}", 405: "method not allowed", 413: TOO_LARGE}
        # abort(404, "why") keeps its reason; werkzeug's stock texts are replaced by short ones (a 413
        # for too many form fields carries a stock text of its own)
        own = exc.description if exc.description != type(exc).description and code != 413 else None
        return error(code, own or messages.get(code) or exc.description or exc.name)

    def damaged(exc: Exception) -> ResponseReturnValue:
        """The history file is unreadable: say so and what to do (503), not a 500."""
        log.error("history database problem on %s: %s", request.path, exc)
        what = "damaged" if is_damage(exc) else "not readable right now"
        return error(503, f"the history database is {what}: {exc}. Run `station doctor`; "
                          "a damaged file is moved aside and a fresh one started when the station restarts")

    app.register_error_handler(BadRequest, lambda e: error(400, str(e)))
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(sqlite3.DatabaseError, damaged)
    app.register_error_handler(StoreError, damaged)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> ResponseReturnValue:
        log.exception("unexpected error on %s", request.path)
        return error(500, "internal error: the station logged the details")

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        if g.get("no_store") or request.path == "/settings":
            response.headers["Cache-Control"] = "no-store"   # a CSRF token or a PIN form: never cached
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


WHOLE_NUMBER = re.compile(r"-?[0-9]+")


def int_arg(name: str, default: int, lo: int, hi: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    # digits 0-9 only: int() also takes "1_0", "+5", " 5 " and other scripts' digits
    if not WHOLE_NUMBER.fullmatch(raw):
        raise BadRequest(f"parameter {name}={raw[:40]!r} must be a whole number (digits 0-9)")
    # a number of 20 digits or more is out of every range: never handed to int() (thousands of digits are slow)
    digits = raw.lstrip("-").lstrip("0") or "0"     # "0005" is 5, however many zeros lead
    value = (int(digits) if len(digits) < 20 else hi + 1) * (-1 if raw.startswith("-") else 1)
    if not lo <= value <= hi:
        limits = f"between {lo} and {hi}" if hi < 10**9 else f"at most {hi}" if value > hi else f"at least {lo}"
        shown = raw if len(raw) <= 24 else raw[:20] + "..."
        raise BadRequest(f"parameter {name}={shown} must be {limits}")
    return value


# waitress: idle or half-open connections must not lock the phones out (docs/reliability.md)
SERVER_OPTIONS = dict(
    connection_limit=500,      # waitress stops accepting at this many open connections (default 100)
    channel_timeout=15,        # an idle connection is closed after this many seconds (default 120)
    cleanup_interval=2,        # ... checked this often (default 30)
    asyncore_use_poll=True,    # poll(), not select(): no 1024-descriptor ceiling
    backlog=1024,
    # refused (413, plain text: the server cannot know the route) before it is read (default 1 GB). Not
    # more: waitress holds a body whole before Flask sees it, 500 connections x 1 MB was 400 MB of files
    max_request_body_size=MAX_BODY,
    max_request_header_size=64 * 1024,  # default 256 KB
)


HOST_SETTING = "([web] host, or the demo's --host)"   # where a bad address is set


def serve(app: Flask, host: str, port: int, threads: int = 4) -> BaseWSGIServer | MultiSocketServer:
    """A waitress server the caller can run on a thread and close(); a WebError (one line) when the
    address cannot be used."""
    from waitress.server import create_server

    try:
        return create_server(app, host=host, port=port, threads=threads, ident="station",
                             clear_untrusted_proxy_headers=True, **SERVER_OPTIONS)
    except socket.gaierror as exc:
        raise WebError(f"web.host {host!r} cannot be resolved ({exc.strerror}): use an address of this machine, "
                       f"0.0.0.0 for every network or 127.0.0.1 for this machine only {HOST_SETTING}") \
            from None
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise WebError(f"port {port} is already in use: another station running? choose another port "
                           f"([web] port, or the demo's --port)") from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise WebError(f"web.host {host!r} is not an address of this machine: use 0.0.0.0 for every network "
                           f"or one of its own addresses {HOST_SETTING}") from None
        if exc.errno == errno.EACCES:
            raise WebError(f"port {port} needs root (ports below 1024): set [web] port to 8080 or another port "
                           "above 1023") from None
        raise WebError(f"cannot serve the page on {host}:{port}: {exc.strerror or exc} (check [web] host and "
                       "port)") from None
    except ValueError:  # waitress: getaddrinfo found nothing for this host
        raise WebError(f"web.host {host!r} cannot be resolved or is not an address: use an address of this "
                       f"machine, 0.0.0.0 for every network or 127.0.0.1 for this machine only "
                       f"{HOST_SETTING}") from None


def stop_server(server: BaseWSGIServer | MultiSocketServer, timeout_s: float = 2.0) -> None:
    """Let the page's worker threads finish the requests they hold, then close the sockets. close()
    alone closed the server's wake-up pipe under a thread still answering a request, which then
    failed writing to it (EBADF, a waitress traceback at every stop with a page being polled)."""
    server.task_dispatcher.shutdown(timeout=timeout_s)
    server.close()
