"""Operator controls over HTTP (SPEC §4): ``/api/admin/*`` with ``Authorization: Bearer``.

Registered only when ``TREE_ADMIN_TOKEN`` is set, so without a token the routes do not exist.
Tokens are compared with ``hmac.compare_digest`` (constant time).
"""

from __future__ import annotations

import hmac

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from web.errors import error_body
from web.runner_client import RunnerUnavailable
from web.services import idle_show, scheduler, store

bp = Blueprint("admin_api", __name__, url_prefix="/api/admin")


def token_ok(candidate: str | None) -> bool:
    """Whether ``candidate`` is the operator token (constant-time comparison)."""
    token = current_app.config.get("ADMIN_TOKEN")
    if not token or not candidate:
        return False
    return hmac.compare_digest(candidate.encode(), str(token).encode())


@bp.before_request
def require_token() -> ResponseReturnValue | None:
    """Refuse every request without the right bearer token."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token_ok(value.strip()):
        body = error_body("unauthorized", "operator token required")
        return jsonify(body), 401, {"WWW-Authenticate": 'Bearer realm="ledtree"'}
    return None


@bp.get("/status")
def status() -> ResponseReturnValue:
    """The queue as operators see it, and the runner's tree and sandbox layers."""
    sched = scheduler()
    return jsonify({**sched.state.snapshot(sched.clock()), "tree": sched.tree_event()})


@bp.post("/stop")
def stop() -> ResponseReturnValue:
    """Stop the running program (``cancelled``/``operator``)."""
    sub = scheduler().stop_current("operator")
    if sub is None:
        return jsonify(error_body("not_running", "nothing is running")), 409
    return jsonify(scheduler().public(sub))


@bp.post("/submissions/<submission_id>/remove")
def remove(submission_id: str) -> ResponseReturnValue:
    """Remove a pending submission."""
    try:
        sub = scheduler().operator.remove(submission_id)
    except KeyError:
        return jsonify(error_body("not_found", "no such submission")), 404
    except ValueError as exc:
        return jsonify(error_body("not_pending", str(exc))), 409
    return jsonify(scheduler().public(sub))


@bp.get("/submissions/<submission_id>")
def show(submission_id: str) -> ResponseReturnValue:
    """Any submission with its log and source (moderation)."""
    sub = scheduler().get(submission_id)
    if sub is None:
        return jsonify(error_body("not_found", "no such submission")), 404
    data = scheduler().public(sub)
    data["log"] = sub.log
    try:
        data["source"] = store().read_source(sub).decode("utf-8", "replace")
    except OSError:
        data["source"] = None
    return jsonify(data)


@bp.post("/archive")
def archive() -> ResponseReturnValue:
    """Start a new event: finished submissions move to uploads/archive/ (nothing deleted)."""
    try:
        folder = scheduler().operator.archive()
    except OSError as exc:
        return jsonify(error_body("storage_unavailable", f"Cannot archive: {exc}")), 503
    return jsonify(archived_to=folder)


@bp.post("/pause")
def pause() -> ResponseReturnValue:
    """Hold the queue after the current program."""
    scheduler().operator.pause()
    return jsonify(paused=True)


@bp.post("/resume")
def resume() -> ResponseReturnValue:
    """Go on with the queue."""
    scheduler().operator.resume()
    return jsonify(paused=False)


@bp.post("/blank")
def blank() -> ResponseReturnValue:
    """Blank the tree."""
    try:
        scheduler().operator.blank()
    except RunnerUnavailable as exc:
        return jsonify(error_body("tree_offline", str(exc))), 503
    return jsonify(blanked=True)


@bp.get("/idle-show")
def idle_show_status() -> ResponseReturnValue:
    """The idle show: on or off, the starred runs, what plays now."""
    return jsonify(idle_show().status())


@bp.post("/idle-show")
def idle_show_switch() -> ResponseReturnValue:
    """Switch the idle show on or off: JSON ``{"on": true | false}``."""
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict) or not isinstance(payload.get("on"), bool):
        return jsonify(
            error_body("bad_request", 'expected JSON {"on": true} or {"on": false}')
        ), 400
    idle_show().set_enabled(payload["on"])
    return jsonify(idle_show().status())


@bp.post("/submissions/<submission_id>/star")
def star(submission_id: str) -> ResponseReturnValue:
    """Add a finished run's recording to the idle show."""
    try:
        idle_show().star(submission_id)
    except KeyError:
        return jsonify(error_body("not_found", "no such submission")), 404
    except ValueError as exc:
        return jsonify(error_body("no_recording", f"It cannot be starred: {exc}.")), 409
    return jsonify(idle_show().status())


@bp.delete("/submissions/<submission_id>/star")
def unstar(submission_id: str) -> ResponseReturnValue:
    """Take a run out of the idle show."""
    idle_show().unstar(submission_id)
    return jsonify(idle_show().status())
