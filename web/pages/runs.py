"""``/runs/<id>``: one run's page (status, report, code, log, replay); ``/runs``: "My runs"."""

from __future__ import annotations

from flask import Blueprint, abort, g, render_template

from web.api import _find
from web.pages._data import source_lines
from web.run_report import report
from web.runs_api import MY_RUNS, may_see_private
from web.services import scheduler, store

bp = Blueprint("runs", __name__)


@bp.get("/runs/<submission_id>")
def show(submission_id: str) -> str:
    """The run page; ``static/js/run_page.js`` keeps it live and plays the recording."""
    sub = _find(submission_id)
    if sub is None:
        abort(404)
    private = may_see_private(sub)
    lines = None
    if private:
        try:
            lines = source_lines(store().read_source(sub).decode("utf-8", "replace"))
        except OSError:
            lines = None
    return render_template(
        "runs/show.html",
        sub=scheduler().public(sub, g.user_id),
        report=report(sub),
        private=private,
        lines=lines,
        log=sub.log if private else None,
        error_line=(sub.error or {}).get("line"),
        # The dry run's error line, marked while the run has none of its own.
        predicted_line=sub.predicted_error_line if sub.status in ("pending", "running") else None,
        time_limit=scheduler().time_limit_s,
    )


@bp.get("/runs")
def mine() -> str:
    """The caller's own runs, newest first (by the identity cookie)."""
    sched = scheduler()
    subs = [sched.get(s.id) or s for s in store().of_user(g.user_id, limit=MY_RUNS)]
    rows = [(sched.public(s, g.user_id), report(s)) for s in subs]
    return render_template("runs/mine.html", rows=rows)
