"""``/upload``: pick or drop a ``.py`` file; the answer says position and ETA, or the error.

The page's JavaScript posts to the JSON API; without JavaScript the same form (and the editor's
Run form, which sends a ``source`` field) posts here and gets the answer as a page. Both paths
run the API's own checks (``web.api.accept_submission``), so they cannot disagree.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request

from web.api import Program, accept_submission
from web.pages._data import require_csrf, time_limit
from web.pages.editor import render_editor

bp = Blueprint("upload", __name__)


@bp.get("/upload")
def form() -> str:
    """Render the upload form (works as a plain multipart form without JavaScript)."""
    return render_template(
        "upload/form.html", time_limit=time_limit(), result=None, error=None, name="", title=""
    )


@bp.post("/upload")
def submit() -> tuple[str, int, dict[str, str]]:
    """Queue an uploaded file (or the editor's ``source`` field) and show the answer."""
    require_csrf()
    upload = request.files.get("file")
    name, title = request.form.get("name"), request.form.get("title")
    headers: dict[str, str] = {}
    if upload is not None and upload.filename:
        program = Program(upload.read(), filename=upload.filename, name=name, title=title)
        status, body, headers = accept_submission(program)
    elif "source" in request.form:  # the editor's Run form, without JavaScript
        typed = request.form["source"]
        program = Program(typed.encode("utf-8", "surrogatepass"), name=name, title=title)
        status, body, headers = accept_submission(program)
        if status >= 400:  # the editor again, with the program, its labels and the reason
            error = body.get("error")
            page = render_editor(typed, name=name, title=title, error=error)
            return page, status, headers
    else:
        status, body = 400, {"error": {"code": "empty", "message": "pick a .py file first"}}
    result, error = (body, None) if status < 400 else (None, body.get("error"))
    page = render_template(
        "upload/form.html",
        time_limit=time_limit(),
        result=result,
        error=error,
        name=name or "",
        title=title or "",
    )
    return page, 200 if status < 400 else status, headers
