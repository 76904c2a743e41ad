"""``/``: what is on the tree now, the live view, the next few in the queue, links."""

from __future__ import annotations

from flask import Blueprint, render_template

from web.pages._data import queue_snapshot

bp = Blueprint("home", __name__)

NEXT_UP = 5


@bp.get("/")
def index() -> str:
    """Render the home page from the current queue snapshot."""
    return render_template("home/index.html", queue=queue_snapshot(), next_up=NEXT_UP)
