"""Operator API: token-gated stop, remove, pause/resume and blank (SPEC §4)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from protocol.messages import Finished, Idle
from web.scheduler import Scheduler

TOKEN = "op-token-1234"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def admin_app(tmp_path: Path, make_app: Any) -> Flask:
    return make_app(tmp_path, ADMIN_TOKEN=TOKEN)  # type: ignore[no-any-return]


def test_no_operator_api_without_a_token_configured(client: FlaskClient) -> None:
    assert client.post("/api/admin/pause", headers=AUTH).status_code == 404


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"},
     {"Authorization": f"Bearer {TOKEN}x"}, {"Authorization": "Bearer "}],
)  # fmt: skip
def test_cant_use_operator_api_without_the_token(admin_app: Flask, headers: dict[str, str]) -> None:
    resp = admin_app.test_client().post("/api/admin/pause", headers=headers)
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "unauthorized"
    assert admin_app.extensions["scheduler"].paused is False


def _connect(app: Flask, runner_cls: Any, welcome_for: Any) -> Any:
    link = runner_cls()
    sched: Scheduler = app.extensions["scheduler"]
    sched.runner = link
    app.extensions["runner_client"] = link
    sched.events.on_runner_online(welcome_for())
    return link


def test_operator_controls(admin_app: Flask, welcome_for: Any, runner: Any) -> None:
    link = _connect(admin_app, type(runner), welcome_for)
    sched: Scheduler = admin_app.extensions["scheduler"]
    client = admin_app.test_client()
    ids = [client.post("/api/submissions", json={"source": "print(1)\n"}).get_json()["id"]
           for _ in range(3)]  # fmt: skip
    assert client.post("/api/admin/stop", headers=AUTH).status_code == 409  # nothing running
    sched.run_once(2e9)
    resp = client.post("/api/admin/stop", headers=AUTH)
    assert resp.status_code == 200 and link.stops == [(ids[0], "operator")]
    sched.events.on_runner_message(
        Finished(submission_id=ids[0], status="failed", reason="killed", duration_s=1, frames=3)
    )
    sched.events.on_runner_message(Idle())
    got = client.get(f"/api/submissions/{ids[0]}").get_json()
    assert (got["status"], got["reason"]) == ("cancelled", "operator")

    assert client.post("/api/admin/pause", headers=AUTH).get_json() == {"paused": True}
    assert sched.run_once(2e9 + 1) is None
    resp = client.post(f"/api/admin/submissions/{ids[1]}/remove", headers=AUTH)
    assert (resp.get_json()["status"], resp.get_json()["reason"]) == ("cancelled", "operator")
    assert client.post(f"/api/admin/submissions/{ids[1]}/remove", headers=AUTH).status_code == 409
    assert client.post(f"/api/admin/submissions/{'0' * 32}/remove", headers=AUTH).status_code == 404
    assert client.post("/api/admin/resume", headers=AUTH).get_json() == {"paused": False}
    assert sched.run_once(2e9 + 2) == ids[2]

    status = client.get("/api/admin/status", headers=AUTH).get_json()
    assert status["running"]["id"] == ids[2]


def test_blank_the_tree(admin_app: Flask, welcome_for: Any, runner: Any) -> None:
    client = admin_app.test_client()
    resp = client.post("/api/admin/blank", headers=AUTH)
    assert resp.status_code == 503 and resp.get_json()["error"]["code"] == "tree_offline"
    link = _connect(admin_app, type(runner), welcome_for)
    assert client.post("/api/admin/blank", headers=AUTH).get_json() == {"blanked": True}
    assert link.frames == [[[0, 0, 0, 0]] * 10]
    assert admin_app.extensions["scheduler"].paused  # stays dark until resumed
