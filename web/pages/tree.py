"""``/tree``: the live view, every LED drawn at its position from the frames actually shown."""

from __future__ import annotations

from flask import Blueprint, render_template

from web.pages._data import queue_snapshot

bp = Blueprint("tree", __name__)


@bp.get("/tree")
def live() -> str:
    """Render the live-view page; the canvas is filled by ``static/js/tree_view.js``."""
    return render_template("tree/live.html", queue=queue_snapshot())
