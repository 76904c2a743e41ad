"""The gunicorn config: one process (the queue is in memory), gevent, bound from TREE_PORT."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

CONF = Path(__file__).resolve().parents[2] / "web" / "gunicorn.conf.py"


def test_one_gevent_worker_bound_from_tree_port(monkeypatch: Any) -> None:
    monkeypatch.setenv("TREE_PORT", "9123")
    monkeypatch.delenv("TREE_BIND", raising=False)
    conf = runpy.run_path(str(CONF))
    assert conf["workers"] == 1 and conf["worker_class"] == "gevent"
    assert conf["bind"] == "0.0.0.0:9123"
    assert conf["wsgi_app"] == "web:create_app()" and conf["preload_app"] is False
    assert "queue" in CONF.read_text() and "in memory" in CONF.read_text()  # the reason is there
