"""HTML pages: last set (home), set, rep with replay, history, live, settings."""

from __future__ import annotations

import hmac
import json
import logging
import math
import re
import secrets
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, session, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from station import config as config_mod
from station.analysis.quality import SETUP_SHORT
from station.analysis.selftest import SelfTestError
from station.analysis.summary import PARALLEL_BAND_DEG
from station.web import TOO_LARGE, BadRequest, hooks, int_arg, store
from station.web.charts import depth_bars, evidence_svg, history_chart, rep_curves, selftest_history_chart, set_curves
from station.web.security import pin_matches, pin_set
from station.web.views import (
    VERDICT_TEXT,
    history,
    lifter_arg,
    rep_advice,
    rep_sentence,
    replay_model,
    selftest_view,
    set_or_404,
)

pages = Blueprint("pages", __name__)
log = logging.getLogger(__name__)


def csrf_token() -> str:
    """The form's token; a page that carries one is never cached (Cache-Control: no-store)."""
    g.no_store = True
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


@pages.app_context_processor
def template_globals() -> dict[str, Any]:
    status = hooks().store_status()
    return {"csrf_token": csrf_token, "disk_full": status.get("disk_full"), "store_error": status.get("error"),
            "store_damaged": status.get("damaged"), "verdict_text": VERDICT_TEXT, "setup_short": SETUP_SHORT,
            # a rep seen with one leg has a wider band: the rep table says so beside its verdict
            "standard_band_deg": PARALLEL_BAND_DEG}


@pages.app_template_filter("clock")
def clock(ts: float | None, style: str = "date") -> str:
    """A Unix time as the station's clock reads it. The page's script replaces it with the phone's own
    time zone and language; without JavaScript the lifter still reads a time, not 1763915227."""
    try:
        moment = datetime.fromtimestamp(float(ts))  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError, OSError):
        return ""
    return moment.strftime("%a %H:%M" if style == "weekday" else "%d %b %Y, %H:%M")


DEG_WORD = re.compile(r"(\d) deg\b")


@pages.app_template_filter("degrees")
def degrees(text: str | None) -> str:
    """The analysis' sentences say "6 deg below" (they are also printed in a terminal); the pages write
    every other angle as "6°"."""
    return DEG_WORD.sub("\\1°", text or "")


def check_csrf() -> None:
    """Compared as UTF-8 bytes: a non-ASCII field is a failed check, not an exception."""
    token = request.form.get("csrf", "").encode("utf-8", "replace")
    expected = str(session.get("csrf", "")).encode("utf-8", "replace")
    if not token or not expected or not hmac.compare_digest(token, expected):
        abort(403, "the form expired or did not come from this page (CSRF check failed): reload and try again")


def check_form() -> None:
    """CSRF token and PIN for every change; wrong PINs make everyone wait longer (PinGuard)."""
    check_csrf()
    web_cfg = hooks().get_config().web
    if not pin_set(web_cfg):
        abort(403, "changes are disabled: no PIN is set (run `sudo station pin set` on the station)")
    guard = current_app.extensions["station"]["pin_guard"]
    addr = request.remote_addr or "?"
    pin = request.form.get("pin", "")
    # begin() counts the attempt before the slow check, so concurrent requests cannot share one window;
    # an empty PIN (Save pressed before typing it) is not a guess, and only looks
    wait = guard.begin(addr) if pin else guard.wait_s(addr)
    if wait > 0:
        abort(429, f"too many wrong PINs: try again in {math.ceil(wait)} s")
    if not pin:
        abort(403, "enter the PIN to change anything")
    try:
        right = pin_matches(web_cfg, pin)
    except config_mod.PinCheckError as exc:
        guard.not_checked(addr)
        log.error("the settings PIN cannot be checked: %s", exc)
        abort(503, "the PIN cannot be checked: the station's web.pin_hash is unusable (its log says why); "
                   "set the PIN again with `sudo station pin set` on the station")
    except BaseException:
        guard.failed(addr)     # never a free guess, whatever went wrong
        raise
    if not right:
        guard.failed(addr)
        abort(403, "wrong PIN")
    guard.succeeded(addr)


def _set_page(set_id: int | None, title: str, refresh: bool = False) -> str:
    """One set. `refresh`: the page watches for a newer set and reloads (the Last set page)."""
    if set_id is None:
        return render_template("last_set.html", title=title, set=None, refresh=refresh)
    data = set_or_404(set_id, with_series=True)
    if data["setup_issue"]:  # the view gate could not judge this set: its advice, no depth numbers
        return render_template("last_set.html", title=title, set=data, refresh=refresh)
    target = None if data["selftest_id"] else data["target_depth_deg"]   # a self-test: one per rep
    thigh_svg, angles_svg = set_curves(data["reps"], target)
    return render_template("last_set.html", title=title, set=data, refresh=refresh,
                           bars_svg=depth_bars(data["reps"], target),
                           thigh_svg=thigh_svg, angles_svg=angles_svg)


@pages.get("/")
def last_set() -> str:
    return _set_page(store().last_set_id(lifter_arg()), "Last set", refresh=True)


@pages.get("/set/<rowid:set_id>")
def one_set(set_id: int) -> str:
    return _set_page(set_id, f"Set {set_id}")


@pages.get("/rep/<rowid:rep_id>")
def rep(rep_id: int) -> str:
    data = store().get_rep(rep_id)
    if data is None:
        abort(404, f"there is no rep {rep_id} (its set may have been deleted)")
    series = data.get("series")
    model = replay_model(data)
    replay = json.dumps(model, separators=(",", ":")).replace("</", "<\\/") if model else None
    return render_template("rep.html", title=f"Rep {data['index']}", rep=data, replay_marks=model,
                           sentence=rep_sentence(data) if data["judged"] else "", advice=rep_advice(data),
                           curves_svg=rep_curves(series) if series and data["judged"] else "", replay=replay)


@pages.get("/history")
def history_page() -> str:
    lifter = lifter_arg()
    data = history(lifter)
    chart = history_chart(data["points"], join_onsets=data["one_lifter"])
    return render_template("history.html", title="History", chart_svg=chart, lifters=store().lifters(with_records=True),
                           lifter=lifter, **data)


@pages.get("/live")
def live() -> str:
    return render_template("live.html", title="Live", preview=hooks().get_config().web.preview)


SETTING_FIELDS = {
    "target_depth_deg": ("analysis.target_depth_deg", float),
    "wink_sensitivity": ("analysis.wink_sensitivity", str),
    "mode": ("feedback.mode", str),
    "brightness": ("feedback.brightness", float),
    "lifter": ("station.lifter", str),
}


@pages.route("/settings", methods=["GET", "POST"])
def settings() -> tuple[str, int]:
    """A refused change comes back on the form with its reason and what was typed, not on an error
    page the lifter has to go back from and type it all again."""
    cfg = hooks().get_config()
    message = error = None
    typed: dict[str, str] = {}
    if request.method == "POST":
        try:
            cfg, message = _save_form(cfg)
        except (BadRequest, HTTPException) as exc:
            error = (str(exc) if isinstance(exc, BadRequest) else TOO_LARGE if exc.code == 413
                     else (exc.description or exc.name))
            status = exc.code if isinstance(exc, HTTPException) and exc.code else 400
            typed = {name: request.form.get(name, "") for name in SETTING_FIELDS}
    own_target = store().lifter_target(cfg.station.lifter)
    page = render_template("settings.html", title="Settings", cfg=cfg, lifters=store().lifters(), message=message,
                           error=error, typed=typed, changes_enabled=pin_set(cfg.web), own_target=own_target)
    return page, (status if error else 200)


PLAIN_NUMBER = re.compile(r"-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?")   # HTML's number, ASCII digits


def _save_form(cfg: config_mod.Config) -> tuple[config_mod.Config, str]:
    """The posted form, checked and applied: the new Config and what to tell the lifter."""
    check_form()
    changes = {}
    for name, (key, kind) in SETTING_FIELDS.items():
        raw = request.form.get(name)
        if raw is None or raw == "":
            continue
        if kind is float and not PLAIN_NUMBER.fullmatch(raw.strip()):
            # float() also takes "1_0", "inf" and other scripts' digits; a browser's number field sends none
            raise BadRequest(f"{name} = {raw[:40]!r} is not a number: write a finite number with digits 0-9 "
                             "(an optional - and decimal point)")
        try:
            changes[key] = kind(raw.strip())
        except ValueError:
            raise BadRequest(f"{name} = {raw[:40]!r} is not a number") from None
        if kind is float and not math.isfinite(changes[key]):
            raise BadRequest(f"{name} = {raw[:40]!r} must be a finite number")
        section, field = key.split(".")
        if changes[key] == getattr(getattr(cfg, section), field):
            # the form posts every field: saving one must not pin the others over the config file
            del changes[key]
    lifter = changes.get("station.lifter")
    if lifter is not None and not config_mod.lifter_name_ok(lifter):
        raise BadRequest(config_mod.LIFTER_NAME_RULE)
    apply_settings = hooks().apply_settings
    if apply_settings is None:
        abort(403, "this page is read-only: settings are applied by the running station")
    if not changes:
        return cfg, "Nothing changed."
    target_before = cfg.analysis.target_depth_deg
    try:
        cfg = apply_settings(changes)
    except config_mod.ConfigError as exc:
        raise BadRequest(str(exc)) from None
    message = "Saved. The station uses the new settings from the next frame."
    # a lifter's own target from their self-test wins over the configured one (docs/self-test.md)
    if cfg.analysis.target_depth_deg != target_before and store().lifter_target(cfg.station.lifter) is not None:
        message += (f" {cfg.station.lifter}'s own target from the self-test still applies to them; "
                    "the target depth here is for lifters without one.")
    return cfg, message


@pages.post("/set/<rowid:set_id>/delete")
def delete_set(set_id: int) -> Response:
    check_form()
    deleted = store().delete_set(set_id)
    if deleted is None:
        abort(409, "This set is still in progress: delete it once it has finished (the station is still "
                   "saving its reps).")
    if not deleted:
        abort(404, f"there is no set {set_id} (it may have been deleted already)")
    return redirect(url_for("pages.history_page"))


# --- the self-test: "find my safe depth" (docs/self-test.md) ----------------------------------------

@pages.get("/selftest")
def selftest(start_error: str | None = None) -> str:
    cfg = hooks().get_config()
    test_id = int_arg("test", 0, 0, 2**62) or None
    data = selftest_view(lifter_arg(), test_id)
    shown = data["selftest"]
    return render_template("selftest.html", title="Safe depth", **data,
                           evidence_svg=evidence_svg(shown["evidence"], shown["onset_deg"]) if shown else "",
                           history_svg=selftest_history_chart(data["tests"]),
                           lifters=store().lifters(with_records=True, also=cfg.station.lifter),
                           active_lifter=cfg.station.lifter, can_start=hooks().selftest_start is not None,
                           changes_enabled=pin_set(cfg.web), start_error=start_error)


@pages.post("/selftest/start")
def selftest_start() -> Response | tuple[str, int]:
    """Starting needs the PIN: the test ends by rewriting the lifter's target depth, and a start from
    anyone on the gym's Wi-Fi would change what the bar and buzzer tell a lifter under the bar. A
    refused start comes back on the Safe depth page with its reason and the form, as Settings does
    (a bare "403 wrong PIN" page left the lifter nowhere to type it again)."""
    try:
        check_form()
        start = hooks().selftest_start
        if start is None:
            abort(403, "this page is read-only: a self-test needs the running station")
        try:
            start()
        except SelfTestError as exc:
            abort(409, str(exc))
    except HTTPException as exc:   # the re-rendered form carries a fresh CSRF token too
        return selftest(start_error=exc.description or exc.name), exc.code or 403
    return redirect(url_for("pages.selftest"), code=303)


@pages.post("/selftest/cancel")
def selftest_cancel() -> Response:
    """Cancelling needs only the CSRF token: it changes nothing stored, and a lifter who wants out of
    the test must never be stuck in it for want of a PIN."""
    check_csrf()
    cancel = hooks().selftest_cancel
    if cancel is None:
        abort(403, "this page is read-only: no self-test runs here")
    cancel()
    return redirect(url_for("pages.selftest"), code=303)
