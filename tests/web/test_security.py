"""Security basics: headers, CSRF on form posts, cross-site API refusal, no stack traces."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, render_template_string, request
from flask.testing import FlaskClient

from web.security import csrf_token


def test_security_headers_everywhere(client: FlaskClient) -> None:
    for path in ("/api/queue", "/healthz", "/api/submissions/" + "0" * 32):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert (
            "script-src 'self'" in csp
            and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        )
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"


def test_cant_post_to_the_api_from_another_site(client: FlaskClient) -> None:
    for headers in (
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
    ):
        resp = client.post("/api/submissions", json={"source": "print(1)\n"}, headers=headers)
        assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"
    ok = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
    assert (
        client.post("/api/submissions", json={"source": "print(1)\n"}, headers=ok).status_code
        == 201
    )


def _form_app(tmp_path: Path, make_app: Any) -> Flask:
    app = make_app(tmp_path)

    @app.route("/test-form", methods=["GET", "POST"])
    def form() -> str:
        if request.method == "POST":
            return "accepted"
        return render_template_string('<input name="csrf_token" value="{{ csrf_token() }}">')

    return app


def test_cant_post_a_form_without_csrf_token(tmp_path: Path, make_app: Any) -> None:
    app = _form_app(tmp_path, make_app)
    client = app.test_client()
    page = client.get("/test-form").get_data(as_text=True)
    token = page.split('value="')[1].split('"')[0]
    refused = client.post("/test-form", data={"x": "1"})
    assert refused.status_code == 400 and b"expired" in refused.get_data()
    assert client.post("/test-form", data={"csrf_token": "forged"}).status_code == 400
    assert client.post("/test-form", data={"csrf_token": token}).get_data() == b"accepted"
    # Someone else's token does not work for me.
    other = app.test_client()
    other.environ_base.update(REMOTE_ADDR="10.9.9.9", HTTP_USER_AGENT="X")
    assert other.post("/test-form", data={"csrf_token": token}).status_code == 400


def test_csrf_token_is_bound_to_the_user(app: Flask) -> None:
    with app.test_request_context():
        app.preprocess_request()
        token = csrf_token()
        assert token and token == csrf_token()


def test_no_stack_traces_for_users(tmp_path: Path, make_app: Any) -> None:
    app = make_app(tmp_path, TESTING=False, START_SERVICES=False, PROPAGATE_EXCEPTIONS=False)

    @app.get("/api/boom")
    def boom() -> str:
        raise RuntimeError("secret internal detail")

    @app.get("/page-boom")
    def page_boom() -> str:
        raise RuntimeError("secret internal detail")

    page = app.test_client().get("/page-boom")
    assert page.status_code == 500 and page.mimetype == "text/plain"
    assert b"secret internal detail" not in page.get_data()
    resp = app.test_client().get("/api/boom")
    assert resp.status_code == 500
    assert resp.get_json() == {
        "error": {"code": "internal", "message": "something went wrong on our side"}
    }
    assert b"secret internal detail" not in resp.get_data() and b"Traceback" not in resp.get_data()


def test_wrong_method_and_unknown_api_path_are_json(client: FlaskClient) -> None:
    resp = client.put("/api/queue")
    assert resp.status_code == 405 and resp.get_json()["error"]["code"] == "bad_request"
    resp = client.get("/api/nope")
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"


def test_secret_key_is_generated_and_kept(tmp_path: Path, make_app: Any) -> None:
    first = make_app(tmp_path, SECRET_KEY=None)
    second = make_app(tmp_path, SECRET_KEY=None)
    key = Path(first.config["UPLOADS"], ".secret_key")
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] == key.read_text()
    assert len(first.config["SECRET_KEY"]) == 64 and key.stat().st_mode & 0o777 == 0o600


def test_settings_come_from_tree_environment(tmp_path: Path, monkeypatch: Any) -> None:
    from web import create_app

    monkeypatch.setenv("TREE_UPLOADS", str(tmp_path / "env-uploads"))
    monkeypatch.setenv("TREE_TIME_LIMIT", "30")
    monkeypatch.setenv("TREE_ADMIN_TOKEN", "12345")  # JSON-looking: still a string token
    monkeypatch.setenv("TREE_MAX_PENDING_PER_USER", "1")
    monkeypatch.setenv("TREE_RATE_PER_USER", "5/minute")
    app = create_app({"TESTING": True})
    assert app.config["ADMIN_TOKEN"] == "12345" and app.config["TIME_LIMIT"] == 30.0
    assert app.extensions["scheduler"].time_limit_s == 30.0
    assert (tmp_path / "env-uploads" / ".secret_key").exists()
    client = app.test_client()
    assert client.post("/api/submissions", json={"source": "pass\n"}).status_code == 201
    assert client.post("/api/submissions", json={"source": "pass\n"}).status_code == 429
    resp = client.post("/api/admin/pause", headers={"Authorization": "Bearer 12345"})
    assert resp.status_code == 200


def test_cant_have_a_token_mangled_by_json_parsing(tmp_path: Path, monkeypatch: Any) -> None:
    from web import create_app

    monkeypatch.setenv("TREE_UPLOADS", str(tmp_path / "env-uploads"))
    for token in ("1.50", "null", "true", "1e3", '"quoted"'):
        monkeypatch.setenv("TREE_ADMIN_TOKEN", token)
        monkeypatch.setenv("TREE_SECRET_KEY", token)
        app = create_app({"TESTING": True})
        assert app.config["ADMIN_TOKEN"] == token and app.config["SECRET_KEY"] == token
        resp = app.test_client().post(
            "/api/admin/pause", headers={"Authorization": f"Bearer {token}"}
        )
        assert resp.status_code == 200, token


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("TREE_TIME_LIMIT", "forty", "TREE_TIME_LIMIT: 'forty' is not a number"),
        ("TREE_MAX_PENDING_PER_USER", "-1", "TREE_MAX_PENDING_PER_USER: -1 is not between"),
        ("TREE_RATE_PER_USER", "lots", "TREE_RATE_PER_USER: 'lots' is not a rate"),
        ("TREE_KEEP_FINISHED", "1.5", "TREE_KEEP_FINISHED: '1.5' is not a number"),
    ],
)
def test_bad_setting_stops_web_with_its_name(name: str, value: str, says: str) -> None:
    """A typo in .env is named at start, not found later as odd behaviour."""
    from web.config import WebConfig

    with pytest.raises(ValueError, match=re.escape(says)):
        WebConfig.from_environ({name: value})
