"""The operator console pages (SPEC §4 operator controls) through the Flask test client.

Uses the web fixtures of ``conftest.py``: ``app`` (runner offline), ``client``, ``editor``,
``scheduler`` and ``runner`` (an in-memory implementation of our own runner-link interface).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

TOKEN = "operator-secret"


@pytest.fixture
def pages_app(app: Flask) -> Flask:
    """The app with operator controls on."""
    app.config["ADMIN_TOKEN"] = TOKEN
    return app


def csrf_of(client: FlaskClient, path: str) -> str:
    """The CSRF token a page hands its forms."""
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no csrf_token field on {path}"
    return match.group(1)


def test_admin_is_absent_without_a_token(app: Flask, client: FlaskClient) -> None:
    """Operator controls exist only when TREE_ADMIN_TOKEN is set."""
    assert client.get("/admin").status_code == 404


def test_admin_login_needs_the_right_token(pages_app: Flask, client: FlaskClient) -> None:
    """A wrong token is refused; the right one opens the console."""
    assert 'name="token"' in client.get("/admin").get_data(as_text=True)
    wrong = client.post(
        "/admin/login", data={"csrf_token": csrf_of(client, "/admin"), "token": "x"}
    )
    assert wrong.status_code == 401
    assert "admin-stop" not in wrong.get_data(as_text=True)
    _login(client)
    assert 'id="admin-blank"' in client.get("/admin").get_data(as_text=True)


def _login(client: FlaskClient) -> None:
    token = csrf_of(client, "/admin")
    response = client.post("/admin/login", data={"csrf_token": token, "token": TOKEN})
    assert response.status_code == 302


def _act(client: FlaskClient, path: str) -> Any:
    return client.post(path, data={"csrf_token": csrf_of(client, "/admin")})


def test_cant_use_admin_controls_without_login(pages_app: Flask, client: FlaskClient) -> None:
    """Every control is refused before logging in, and without a CSRF token after it."""
    for action in ["stop", "pause", "resume", "blank"]:
        assert _act(client, f"/admin/{action}").status_code == 403
    _login(client)
    assert client.post("/admin/pause", data={"x": "1"}).status_code == 400  # no CSRF token
    assert client.post("/admin/pause").status_code == 400  # not even a form


def test_admin_pause_resume_remove(pages_app: Flask, client: FlaskClient, editor: Any) -> None:
    """Pause and resume change the queue; Remove cancels a pending submission (operator)."""
    sub_id = editor.submit("print(1)").get_json()["id"]
    _login(client)
    assert _act(client, "/admin/pause").status_code == 302
    assert client.get("/api/queue").get_json()["paused"] is True
    assert 'id="admin-resume"' in client.get("/admin").get_data(as_text=True)
    _act(client, "/admin/resume")
    assert client.get("/api/queue").get_json()["paused"] is False
    assert _act(client, f"/admin/remove/{sub_id}").status_code == 302
    sub = client.get(f"/api/submissions/{sub_id}").get_json()
    assert (sub["status"], sub["reason"]) == ("cancelled", "operator")


def test_admin_stop_reaches_the_runner(
    pages_app: Flask, client: FlaskClient, editor: Any, runner: Any, scheduler: Any
) -> None:
    """Stop asks the runner to stop the running program, as the operator."""
    sub_id = editor.submit("print(1)").get_json()["id"]
    assert scheduler.run_once(0.0) == sub_id
    _login(client)
    assert _act(client, "/admin/stop").status_code == 302
    assert runner.stops == [(sub_id, "operator")]


def test_admin_blank_sends_an_all_off_frame(
    pages_app: Flask, client: FlaskClient, runner: Any
) -> None:
    """Blank shows a frame with every LED off (and pauses the queue)."""
    _login(client)
    assert _act(client, "/admin/blank").status_code == 302
    assert runner.frames and all(led == [0, 0, 0, 0] for led in runner.frames[-1])
    assert client.get("/api/queue").get_json()["paused"] is True


def test_admin_blank_when_the_tree_is_offline(pages_app: Flask, client: FlaskClient) -> None:
    """Blanking an offline tree says so instead of failing."""
    _login(client)
    response = client.post(
        "/admin/blank", data={"csrf_token": csrf_of(client, "/admin")}, follow_redirects=True
    )
    assert response.status_code == 200
    assert "offline" in response.get_data(as_text=True)
