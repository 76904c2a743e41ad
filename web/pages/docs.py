"""``/docs``: the program API (``runner/README.md``) rendered, plus the example programs."""

from __future__ import annotations

from functools import lru_cache

from flask import Blueprint, render_template
from markdown_it import MarkdownIt
from markupsafe import Markup

from web.pages._data import load_examples, read_docs
from web.services import submission_windows, web_config

bp = Blueprint("docs", __name__)


@lru_cache(maxsize=4)
def _render(text: str) -> Markup:
    """Markdown to HTML; raw HTML in the source is escaped, not passed through."""
    md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
    return Markup(md.render(text))  # noqa: S704 - markdown-it escapes text; raw HTML is off


@bp.get("/docs")
def show() -> str:
    """Render the program-API docs and links that open each example in the editor."""
    text = read_docs()
    body = _render(text) if text is not None else None
    rate = submission_windows().per_user
    minutes = rate.period_s / 60
    period = f"{minutes:g} minutes" if minutes != 1 else "minute"
    return render_template(
        "docs/show.html",
        body=body,
        examples=load_examples(),
        max_pending=web_config().max_pending_per_user,
        cancelled_keep=web_config().cancelled_keep_per_user,
        rate=f"{rate.amount} programs in any {period}",
    )
