"""JSON API: everything the pages show (documented in docs/api.md). Read-only."""

from __future__ import annotations

import time

from flask import Blueprint, Response, abort, jsonify

from station import config as config_mod
from station.store import Store
from station.web import hooks, int_arg, store
from station.web.security import pin_set
from station.web.views import history, lifter_arg, selftest_view, set_or_404

api = Blueprint("api", __name__)


@api.get("/health")
def health() -> Response:
    # "now": the station's clock, which the pages compare with the phone's (docs/api.md)
    return jsonify({"ok": True, "now": time.time(), **hooks().store_status()})


@api.get("/last-set")
def last_set() -> Response:
    set_id = store().last_set_id(lifter_arg())
    if set_id is None:
        return jsonify({"set": None})
    return jsonify({"set": set_or_404(set_id)})


@api.get("/sets")
def sets() -> Response:
    limit = int_arg("limit", 20, 1, 500)
    offset = int_arg("offset", 0, 0, 1_000_000)
    return jsonify({"sets": store().list_sets(limit=limit, offset=offset, lifter=lifter_arg())})


@api.get("/sets/<rowid:set_id>")
def one_set(set_id: int) -> Response:
    return jsonify({"set": set_or_404(set_id)})


EXPORTS = {"csv": ("text/csv", Store.export_csv), "json": ("application/json", Store.export_json)}


@api.get("/sets/<rowid:set_id>.<fmt>")
def export(set_id: int, fmt: str) -> Response:
    if fmt not in EXPORTS:
        abort(404, f"a set is exported as .csv or .json, not .{fmt[:20]}")
    mimetype, render = EXPORTS[fmt]
    text = render(store(), set_id)
    if text is None:
        abort(404, f"there is no set {set_id}")
    return Response(text, mimetype=mimetype,
                    headers={"Content-Disposition": f"attachment; filename=set-{set_id}.{fmt}"})


@api.get("/reps/<rowid:rep_id>")
def rep(rep_id: int) -> Response:
    data = store().get_rep(rep_id)
    if data is None:
        abort(404, f"there is no rep {rep_id}")
    return jsonify({"rep": data})


@api.get("/history")
def history_api() -> Response:
    data = history(lifter_arg())
    return jsonify({"days": data["days"], "sets": data["sets"], "onset_trend": data["onset_trend"],
                    "more_sets": data["more_sets"]})


@api.get("/live")
def live() -> Response:
    return jsonify(hooks().live())


@api.get("/settings")
def settings() -> Response:
    cfg = hooks().get_config()
    return jsonify({"analysis": config_mod.to_dict(cfg)["analysis"],
                    "feedback": {k: v for k, v in config_mod.to_dict(cfg)["feedback"].items()
                                 if k in ("mode", "brightness", "buzzer_type")},
                    "lifter": cfg.station.lifter, "lifters": store().lifters(),
                    "changes_enabled": pin_set(cfg.web), "preview": cfg.web.preview})


@api.get("/preview.jpg")
def preview() -> Response:
    if not hooks().get_config().web.preview:
        abort(404, "the camera preview is off ([web] preview = false in the config)")
    jpeg = hooks().preview_jpeg()
    if jpeg is None:
        abort(404, "no camera frame yet: the station has not seen one since it started")
    return Response(jpeg, mimetype="image/jpeg", headers={"Cache-Control": "no-store"})


@api.get("/selftest")
def selftest() -> Response:
    """The running self-test's status, the lifter's target and their self-tests (docs/api.md)."""
    data = selftest_view(lifter_arg())     # no lifter named: the active one
    return jsonify({"status": data["status"], "lifter": data["lifter"], "target": data["target"],
                    "latest": data["selftest"], "tests": data["tests"], "trend": data["trend"]})


@api.get("/selftests/<rowid:test_id>")
def one_selftest(test_id: int) -> Response:
    data = store().get_selftest(test_id)
    if data is None:
        abort(404, f"there is no self-test {test_id}")
    return jsonify({"selftest": data})
