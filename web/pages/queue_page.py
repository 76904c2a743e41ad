"""``/queue``: now playing, pending with position and ETA, recently finished; ``?kiosk=1``."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from web.pages._data import queue_snapshot, require_csrf
from web.services import scheduler

bp = Blueprint("queue_page", __name__)

# The kiosk screen cannot scroll: it shows this many rows and counts the rest.
KIOSK_PENDING = 6
KIOSK_RECENT = 3


@bp.get("/queue")
def show() -> str:
    """Render the queue; kiosk mode drops the chrome, adds the live tree and uses large type."""
    kiosk = request.args.get("kiosk") in ("1", "true", "yes")
    return render_template(
        "queue_page/show.html",
        queue=queue_snapshot(),
        kiosk=kiosk,
        kiosk_pending=KIOSK_PENDING,
        kiosk_recent=KIOSK_RECENT,
    )


@bp.post("/queue/cancel/<submission_id>")
def cancel(submission_id: str) -> Response | tuple[str, int]:
    """Cancel one of the requester's pending submissions (the no-JavaScript Cancel button)."""
    require_csrf()
    try:
        scheduler().cancel(submission_id, g.user_id)
    except KeyError:
        return "No such submission.", 404
    except PermissionError:
        return "Only its author can cancel a submission.", 403
    except ValueError:
        flash("It has already finished, so it cannot be cancelled.", "error")
    return redirect(url_for("queue_page.show"))
