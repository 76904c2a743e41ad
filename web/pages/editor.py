"""``/editor``: write a program in the browser, pick an example, run it and follow it."""

from __future__ import annotations

import dataclasses

from flask import Blueprint, render_template, request

from web.pages._data import load_examples, time_limit

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
    return render_template(
        "editor/edit.html",
        examples=examples,
        examples_data=[dataclasses.asdict(e) for e in examples],
        chosen=chosen,
        source=chosen.source if chosen else STARTER,
        time_limit=time_limit(),
    )
