"""The operator console pages (SPEC §4 operator controls) through the Flask test client.

Uses the web fixtures of ``conftest.py``: ``app`` (runner offline), ``client``, ``editor``,
``scheduler`` and ``runner`` (an in-memory implementation of our own runner-link interface).
"""

from __future__ import annotations

import re
from pathlib import Path
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


def test_console_shows_stopping_at_once_after_stop(
    pages_app: Flask, client: FlaskClient, editor: Any, runner: Any, scheduler: Any
) -> None:
    """The page the operator lands on after Stop already says so (the runner confirms later)."""
    sub_id = editor.submit("print(1)", title="Strobe").get_json()["id"]
    assert scheduler.run_once(0.0) == sub_id
    _login(client)
    after = client.post(
        "/admin/stop", data={"csrf_token": csrf_of(client, "/admin")}, follow_redirects=True
    ).get_data(as_text=True)
    assert "stopping…" in after and re.search(r'id="admin-stop" disabled', after)


def test_console_does_not_reload_itself(pages_app: Flask, client: FlaskClient) -> None:
    """No script on the console reloads the page under the operator's hands."""
    _login(client)
    html = client.get("/admin").get_data(as_text=True)
    for src in re.findall(r'<script src="([^"]+)"', html):
        with client.get(src) as script:  # static files are streamed: close them
            assert "location.reload" not in script.get_data(as_text=True), src


def test_operator_opens_anyones_code_and_log(
    pages_app: Flask, client: FlaskClient, make_browser: Any, runner: Any, scheduler: Any
) -> None:
    """Moderation: any submission's source (error line marked) and log, only when logged in."""
    from protocol.messages import Finished, Log, ProgramError

    student = make_browser("10.1.1.1", "Student/1.0")
    # A form feed ends no line for Python (nor on this page): line 3 is still setLEDs(None).
    source = "x = 1  # page break \x0c\nprint('hi <b>')\nsetLEDs(None)\n"
    sub_id = student.post("/api/submissions", json={"source": source}).get_json()["id"]
    scheduler.run_once(0.0)
    scheduler.events.on_runner_message(Log(submission_id=sub_id, text="hi <b>\n"))
    err = ProgramError(type="TypeError", message="states must be a list", line=3)
    scheduler.events.on_runner_message(
        Finished(submission_id=sub_id, status="failed", reason="error", error=err,
                 duration_s=0.1, frames=0)
    )  # fmt: skip
    assert client.get(f"/admin/submissions/{sub_id}").status_code == 403
    _login(client)
    console = client.get("/admin").get_data(as_text=True)
    assert f'href="/admin/submissions/{sub_id}"' in console
    page = client.get(f"/admin/submissions/{sub_id}").get_data(as_text=True)
    assert "print(&#39;hi &lt;b&gt;&#39;)" in page and "hi &lt;b&gt;" in page  # escaped
    assert '<span class="src-line error-line">setLEDs(None)</span>' in page
    assert client.get(f"/admin/submissions/{'0' * 32}").status_code == 404


def test_console_shows_the_sandbox_layers_the_runner_reports(
    pages_app: Flask, client: FlaskClient, scheduler: Any, welcome_for: Any
) -> None:
    _login(client)
    assert "The tree is offline" in client.get("/admin").get_data(as_text=True)
    scheduler.events.on_runner_online(welcome_for())
    assert "does not report its sandbox layers" in client.get("/admin").get_data(as_text=True)
    layered = welcome_for().model_copy(update={"layers": {"seccomp": "on", "cgroup": "off"}})
    scheduler.events.on_runner_online(layered)
    html = client.get("/admin").get_data(as_text=True)
    assert '<tr><th scope="row">cgroup</th><td>off</td></tr>' in html
    assert '<tr><th scope="row">seccomp</th><td>on</td></tr>' in html


def test_archive_starts_a_new_event_and_deletes_nothing(
    pages_app: Flask, client: FlaskClient, editor: Any, runner: Any, scheduler: Any
) -> None:
    from protocol.messages import Finished

    done, waiting = (editor.submit(f"print({i})").get_json()["id"] for i in range(2))
    scheduler.run_once(0.0)
    scheduler.events.on_runner_message(
        Finished(submission_id=done, status="completed", reason="ended", duration_s=1, frames=1)
    )
    uploads = Path(pages_app.config["UPLOADS"])
    files_before = {p.name for p in uploads.glob("*_*.*")}
    _login(client)
    assert _act(client, "/admin/archive").status_code == 302
    archived = {p.name for p in (uploads / "archive").rglob("*_*.*")}
    assert archived == {n for n in files_before if done in n} and len(archived) == 2
    assert {p.name for p in uploads.glob("*_*.*")} == {n for n in files_before if waiting in n}
    queue = client.get("/api/queue").get_json()
    assert queue["recent"] == [] and [p["id"] for p in queue["pending"]] == [waiting]
    # A restart sees the new event only.
    from web.scheduler import Scheduler
    from web.storage import Store

    again = Scheduler(Store(uploads))
    again.load()
    assert again.snapshot()["recent"] == [] and len(again.snapshot()["pending"]) == 1
