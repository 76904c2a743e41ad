"""The HTML pages (SPEC §4): one blueprint per page group, registered by ``register_pages``,
plus the 404 page and gzip for the static files the pages load.

Example programs and the program-API docs belong to the runner, but web never imports ``runner``:
the pages read ``runner/examples/*.py`` and ``runner/README.md`` as plain files from the paths in
``EXAMPLES_DIR`` and ``DOCS_FILE``. The defaults point at the sibling ``runner`` package directory,
which exists both in a checkout and in an installed wheel (setuptools ships every package and its
package data, whatever extras are chosen), so the web image needs no extra copy step.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask

_RUNNER_DIR = Path(__file__).resolve().parent.parent.parent / "runner"


def register_pages(app: Flask) -> None:
    """Register every page blueprint on ``app`` and set the pages' config defaults."""
    from web.pages import (
        admin,
        docs,
        editor,
        errors,
        home,
        queue_page,
        runs,
        static_gzip,
        tree,
        upload,
    )

    app.config.setdefault("EXAMPLES_DIR", str(_RUNNER_DIR / "examples"))
    app.config.setdefault("DOCS_FILE", str(_RUNNER_DIR / "README.md"))
    for module in (home, editor, upload, queue_page, tree, docs, admin, runs):
        app.register_blueprint(module.bp)
    errors.init_app(app)
    static_gzip.init_app(app)
