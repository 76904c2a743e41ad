"""``/admin``: the operator console behind a token login form (only when ``ADMIN_TOKEN`` is set).

Logging in stores a digest of the token in the signed session, so changing ``TREE_ADMIN_TOKEN``
logs everybody out. Every control is one plain form post (CSRF-checked by ``web.security``),
so from the open page each action is a single click and works without JavaScript; with it,
``static/js/admin_page.js`` keeps the lists current from the event stream without reloading.
``/admin/submissions/<id>`` shows any submission's code and log (moderation).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response

from web.pages._data import queue_snapshot, require_csrf, source_lines
from web.scheduler import Scheduler
from web.services import idle_show, scheduler, store

bp = Blueprint("admin", __name__)

_SESSION_KEY = "admin_login"
# Logins live here, in the one web process (app.extensions), and the session cookie holds only
# a random name for one: logging out ends every copy of that cookie, and the cookie carries
# nothing about the token (red team round forty: a copied cookie outlived the logout, and it
# held an unsalted digest of the token). A restart logs every operator out.
_LOGINS = "ledtree.admin_logins"
MAX_LOGINS = 64  # the oldest is forgotten past this many


def _token() -> str:
    """The configured operator token; 404 when operator controls are off."""
    token = current_app.config.get("ADMIN_TOKEN")
    if not token:
        abort(404)
    return str(token)


def _digest(token: str) -> str:
    return hashlib.sha256(("ledtree-admin:" + token).encode()).hexdigest()


def _logins() -> dict[str, str]:
    """Live logins: their random names and the digest of the token they logged in with."""
    logins: dict[str, str] = current_app.extensions.setdefault(_LOGINS, {})
    return logins


def _logged_in() -> bool:
    """Whether this session names a live login made with the current token (constant time)."""
    name = session.get(_SESSION_KEY)
    digest = _logins().get(name) if isinstance(name, str) else None
    return digest is not None and hmac.compare_digest(digest, _digest(_token()))


@bp.get("/admin")
def console() -> str:
    """The login form, or the controls once logged in."""
    _token()
    if not _logged_in():
        return render_template("admin/login.html")
    show = idle_show().status()
    starred = [scheduler().get(sid) for sid in idle_show().starred]
    return render_template(
        "admin/console.html",
        queue=queue_snapshot(),
        tree=scheduler().tree_event(),
        show=show,
        starred=[scheduler().public(s) for s in starred if s is not None],
    )


@bp.post("/admin/login")
def login() -> Response | tuple[str, int]:
    """Check the token in constant time and remember the login in the signed session."""
    require_csrf()
    given = request.form.get("token", "")
    if not hmac.compare_digest(given.encode(), _token().encode()):
        flash("Wrong token.", "error")
        return render_template("admin/login.html"), 401
    logins = _logins()
    name = secrets.token_urlsafe(24)
    logins[name] = _digest(_token())
    while len(logins) > MAX_LOGINS:
        del logins[next(iter(logins))]
    session[_SESSION_KEY] = name
    return redirect(url_for("admin.console"))


@bp.post("/admin/logout")
def logout() -> Response:
    """End the login, for every copy of this session cookie."""
    require_csrf()
    name = session.pop(_SESSION_KEY, None)
    if isinstance(name, str):
        _logins().pop(name, None)
    return redirect(url_for("admin.console"))


_ACTIONS: dict[str, tuple[Callable[[Scheduler], object], str]] = {
    "stop": (lambda s: s.stop_current(), "Stopping the running program."),
    "pause": (lambda s: s.operator.pause(), "Queue paused: nothing new starts until you resume."),
    "resume": (lambda s: s.operator.resume(), "Queue resumed."),
    "blank": (lambda s: s.operator.blank(), "Tree blanked."),
}


@bp.post("/admin/<action>")
def act(action: str) -> Response:
    """Run one operator control (stop, pause, resume, blank) and go back to the console."""
    if action not in _ACTIONS:
        abort(404)
    if not _logged_in():
        abort(403)
    require_csrf()
    run, message = _ACTIONS[action]
    try:
        run(scheduler())
    except ConnectionError:  # RunnerUnavailable: blanking needs the tree
        flash("The tree is offline: nothing to blank.", "error")
    else:
        flash(message, "info")
    return redirect(url_for("admin.console"))


@bp.post("/admin/remove/<submission_id>")
def remove(submission_id: str) -> Response:
    """Remove one pending submission from the queue."""
    if not _logged_in():
        abort(403)
    require_csrf()
    try:
        scheduler().operator.remove(submission_id)
        flash("Removed from the queue.", "info")
    except (KeyError, ValueError):
        flash("That submission is no longer pending.", "error")
    return redirect(url_for("admin.console"))


@bp.get("/admin/submissions/<submission_id>")
def show(submission_id: str) -> str:
    """Any submission: its facts, its code (error line marked) and its log."""
    if not _logged_in():
        abort(403)
    sub = scheduler().get(submission_id)
    if sub is None:
        abort(404)
    try:
        source: str | None = store().read_source(sub).decode("utf-8", "replace")
    except OSError:
        source = None
    error_line = (sub.error or {}).get("line")
    return render_template(
        "admin/submission.html",
        sub=scheduler().public(sub),
        log=sub.log,
        lines=source_lines(source) if source is not None else None,
        error_line=error_line,
    )


@bp.post("/admin/archive")
def archive() -> Response:
    """Start a new event: finished submissions move under uploads/archive/, nothing deleted."""
    if not _logged_in():
        abort(403)
    require_csrf()
    try:
        folder = scheduler().operator.archive()
    except OSError as exc:
        flash(f"Could not archive: {exc}. Nothing was deleted.", "error")
    else:
        flash(f"Archived the finished programs to {folder}. A new event starts.", "info")
    return redirect(url_for("admin.console"))


@bp.post("/admin/star/<submission_id>")
def star(submission_id: str) -> Response:
    """Star (``on=1``) or unstar (``on=0``) a finished run for the idle show."""
    if not _logged_in():
        abort(403)
    require_csrf()
    if request.form.get("on") == "0":
        idle_show().unstar(submission_id)
        flash("Taken out of the idle show.", "info")
        return redirect(url_for("admin.console"))
    try:
        idle_show().star(submission_id)
        flash("Starred: the tree replays it between programs.", "info")
    except (KeyError, ValueError):
        flash("That run has no recording to show.", "error")
    return redirect(url_for("admin.console"))


@bp.post("/admin/idle-show")
def idle_show_switch() -> Response:
    """Switch the idle show on (``on=1``) or off (``on=0``: the runner's own idle scene)."""
    if not _logged_in():
        abort(403)
    require_csrf()
    on = request.form.get("on") == "1"
    idle_show().set_enabled(on)
    flash("Idle show on." if on else "Idle show off: the tree shows its own idle scene.", "info")
    return redirect(url_for("admin.console"))
