"""The run's JSON beyond ``/api/submissions/<id>``: its recording and the caller's own runs.

Who sees a run's log and source is ``TREE_SHOW_LOGS_TO``: ``author`` (default) or
``everyone``; the report, the error and the replay are for everyone.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, url_for
from flask.typing import ResponseReturnValue

from web.errors import error_body
from web.run_report import report
from web.services import scheduler, store, web_config
from web.storage import Submission

bp = Blueprint("runs_api", __name__, url_prefix="/api")

MY_RUNS = 50  # "My runs" lists this many, newest first


def may_see_private(sub: Submission) -> bool:
    """Whether the caller may see this run's log and source (``TREE_SHOW_LOGS_TO``)."""
    return sub.user_id == g.user_id or web_config().show_logs_to == "everyone"


def run_json(sub: Submission) -> dict[str, Any]:
    """The submission's JSON plus its plain-words report, recording link, and (if allowed) log."""
    data = scheduler().public(sub, g.user_id)
    data["report"] = report(sub)
    data["page_url"] = url_for("runs.show", submission_id=sub.id)
    data["recording_url"] = (
        url_for("runs_api.recording", submission_id=sub.id) if sub.recorded_frames else None
    )
    if may_see_private(sub):
        data["log"] = sub.log
    return data


# An answer that depends on who asks (the author's log, their own runs): never kept by a cache
# between the browser and the server for someone else (red team round forty).
PERSONAL = {"Cache-Control": "private, no-store", "Vary": "Cookie"}


@bp.get("/submissions")
def my_runs() -> ResponseReturnValue:
    """The caller's own submissions ("My runs"), newest first."""
    sched = scheduler()
    subs = [sched.get(s.id) or s for s in store().of_user(g.user_id, limit=MY_RUNS)]
    return jsonify(submissions=[run_json(s) for s in subs]), 200, PERSONAL


@bp.get("/submissions/<submission_id>/recording")
def recording(submission_id: str) -> ResponseReturnValue:
    """What the tree showed during the run (format: ``web.recordings``), for everyone."""
    from web.api import _find

    sub = _find(submission_id)
    if sub is None:
        return jsonify(error_body("not_found", "no such submission")), 404
    try:
        data = store().read_recording(sub)
    except OSError:
        return jsonify(error_body("not_found", "this run has no recording")), 404
    # Finished runs never change their recording: let browsers keep it.
    headers = {"Cache-Control": "private, max-age=3600", "X-Ledtree-Format": "LTR1"}
    return Response(data, mimetype="application/octet-stream", headers=headers)
