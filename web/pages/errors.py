"""A page-styled "not found" with a way back; the JSON API keeps its own 404 body."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import NotFound

from web.security import refusal


def not_found(exc: NotFound) -> ResponseReturnValue:
    """Render the 404 page for pages; leave API paths to ``refusal``'s JSON answer."""
    answer = refusal(404, "not_found", exc.description or exc.name)
    if isinstance(answer, tuple):  # the JSON API's (body, status)
        return answer
    return render_template("errors/not_found.html", path=request.path), 404


def init_app(app: Flask) -> None:
    """Install the 404 page (more specific than ``web.security``'s catch-all handler)."""
    app.register_error_handler(404, not_found)
