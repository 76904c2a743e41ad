"""``/upload``: pick or drop a ``.py`` file; the answer says position and ETA, or the error.

The page's JavaScript posts to the JSON API; without JavaScript the same form (and the editor's
Run form, which sends a ``source`` field) posts here and gets the answer as a page. Both paths
run the API's own checks (``web.api.accept_submission``), so they cannot disagree.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request

from web.api import Program, accept_submission
from web.pages._data import require_csrf, time_limit

bp = Blueprint("upload", __name__)


@bp.get("/upload")
def form() -> str:
    """Render the upload form (works as a plain multipart form without JavaScript)."""
    return render_template("upload/form.html", time_limit=time_limit(), result=None, error=None)


@bp.post("/upload")
def submit() -> tuple[str, int]:
    """Queue an uploaded file (or the editor's ``source`` field) and show the answer."""
    require_csrf()
    upload = request.files.get("file")
    name, title = request.form.get("name"), request.form.get("title")
    if upload is not None and upload.filename:
        program = Program(upload.read(), filename=upload.filename, name=name, title=title)
        status, body, _ = accept_submission(program)
    elif request.form.get("source"):
        source = request.form["source"].encode("utf-8", "surrogatepass")
        status, body, _ = accept_submission(Program(source, name=name, title=title))
    else:
        status, body = 400, {"error": {"code": "empty", "message": "pick a .py file first"}}
    result, error = (body, None) if status < 400 else (None, body.get("error"))
    page = render_template("upload/form.html", time_limit=time_limit(), result=result, error=error)
    return page, 200 if status < 400 else status
