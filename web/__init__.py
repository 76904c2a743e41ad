"""The web app: pages, JSON API and the FCFS scheduler (SPEC §3, §4)."""

from __future__ import annotations

from typing import Any

from flask import Flask


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then ``TREE_*`` environment variables, then ``test_config``."""
    app = Flask(__name__)
    app.config.from_mapping(
        SOCKET=None,
        UPLOADS="uploads",
        TIME_LIMIT=45.0,
        SECRET_KEY=None,
        ADMIN_TOKEN=None,
        MAX_CONTENT_LENGTH=1024 * 1024,
    )
    app.config.from_prefixed_env("TREE")
    if test_config:
        app.config.update(test_config)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"ok": True, "runner_online": False}

    return app
