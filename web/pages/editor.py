"""``/editor``: write a program in the browser, pick an example, run it and follow it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from flask import Blueprint, render_template, request

from web.pages._data import Example, load_examples, time_limit

bp = Blueprint("editor", __name__)

STARTER = """\
# Every LED a slowly changing colour. Press Run to queue it for the tree.
import time

n = getLEDCount()
t = 0.0
while True:
    setLEDs([fromHSV((t + i / n) % 1.0, 1.0, 1.0) for i in range(n)])
    t += 0.01
    time.sleep(0.02)
"""


@bp.get("/editor")
def edit() -> str:
    """Render the editor, preloaded with the chosen example (``?example=slug``) or a starter."""
    examples = load_examples()
    chosen = next((e for e in examples if e.slug == request.args.get("example")), None)
    return render_editor(chosen.source if chosen else STARTER, examples=examples, chosen=chosen)


def render_editor(
    source: str,
    *,
    examples: list[Example] | None = None,
    chosen: Example | None = None,
    name: str | None = None,
    title: str | None = None,
    error: Mapping[str, object] | None = None,
) -> str:
    """The editor page holding ``source``; with ``error``, a refusal of it shown in the panel.

    Without JavaScript the Run button posts the form to ``/upload``; a refused program comes
    back here with its name, title and the reason (line and column), so nothing typed is lost.
    """
    examples = load_examples() if examples is None else examples
    error_line = None
    line = error.get("line") if error else None
    lines = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")  # as Python counts
    if isinstance(line, int) and 1 <= line <= len(lines):
        error_line = lines[line - 1]
    return render_template(
        "editor/edit.html",
        examples=examples,
        examples_data=[dataclasses.asdict(e) for e in examples],
        chosen=chosen,
        source=source,
        name=name or "",
        title=title or "",
        error=error,
        error_line=error_line,
        time_limit=time_limit(),
    )
