"""``POST /api/preview``: a dry run's prediction and frames, with the upload's checks and limits."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from protocol.messages import ProgramError
from tests.web.conftest import LEDS, InMemoryRunner, dry_run

RED = "setLEDs([[255, 0, 0, 100]] * getLEDCount())\n"


def preview(client: FlaskClient, source: str, query: str = "") -> Any:
    return client.post(f"/api/preview{query}", json={"source": source})


def test_preview_answers_the_frames_the_tree_would_show(
    client: FlaskClient, runner: InMemoryRunner
) -> None:
    resp = preview(client, RED)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert runner.previewed == [(RED, 45.0)]  # the web's own time limit
    assert body["status"] == "completed" and body["reason"] == "ended" and body["error"] is None
    assert body["duration_s"] == 2.0 and body["led_count"] == LEDS
    assert body["frame_interval_s"] == 0.04 and body["frames"] == 50
    assert len(body["frames_data"]) == 50
    assert all(led == [255, 0, 0, 100] for frame in body["frames_data"] for led in frame)
    assert runner.runs == []  # a preview never reaches the tree


def test_a_failing_program_is_reported_with_its_line(
    client: FlaskClient, runner: InMemoryRunner
) -> None:
    error = ProgramError(type="ZeroDivisionError", message="division by zero", line=5)
    runner.preview_answer = dry_run(status="failed", reason="error", error=error, duration_s=2.1)
    body = preview(client, "x = 1\n" * 4 + "1 / 0\n").get_json()
    assert body["status"] == "failed" and body["reason"] == "error"
    assert body["error"] == {"type": "ZeroDivisionError", "message": "division by zero", "line": 5}
    assert body["duration_s"] == 2.1


def test_frames_stop_at_15_seconds_unless_more_are_asked_for(
    client: FlaskClient, runner: InMemoryRunner
) -> None:
    runner.preview_answer = dry_run(duration_s=40.0, interval_s=0.1)
    body = preview(client, RED).get_json()
    assert body["frames"] == 400 and body["frames_returned"] == 150
    assert len(body["frames_data"]) == 150
    assert len(preview(client, RED, "?seconds=45").get_json()["frames_data"]) == 400
    assert len(preview(client, RED, "?seconds=1").get_json()["frames_data"]) == 10


def test_a_bad_body_gets_the_upload_s_own_error(
    client: FlaskClient, runner: InMemoryRunner
) -> None:
    runner.verdict = [ProgramError(type="SyntaxError", message="'(' was never closed", line=1)]
    for source, status, code in [("", 400, "empty"), ("print(1\n", 400, "syntax_error")]:
        resp = preview(client, source)
        upload = client.post("/api/submissions", json={"source": source})
        assert resp.status_code == upload.status_code == status
        assert resp.get_json() == upload.get_json()
        assert resp.get_json()["error"]["code"] == code
    resp = client.post("/api/preview", data="print(1)", content_type="text/plain")
    assert resp.status_code == 415
    assert runner.previewed == []


def test_busy_slots_answer_429_with_retry_after(
    client: FlaskClient, runner: InMemoryRunner
) -> None:
    runner.preview_answer = "busy"
    resp = preview(client, RED)
    assert resp.status_code == 429
    assert resp.headers["Retry-After"] in {"1", "2"}
    assert resp.get_json()["error"]["code"] == "busy"
    assert "try again" in resp.get_json()["error"]["message"]


def test_per_user_preview_limit_answers_429_and_says_when(tmp_path: Path, make_app: Any) -> None:
    app: Flask = make_app(tmp_path, PREVIEW_RATE_PER_USER="2/10 minutes")
    link = InMemoryRunner()
    app.extensions["scheduler"].runner = link
    app.extensions["runner_client"] = link
    client = app.test_client()
    assert [preview(client, RED).status_code for _ in range(2)] == [200, 200]
    resp = preview(client, RED)
    assert resp.status_code == 429
    assert 1 <= int(resp.headers["Retry-After"]) <= 600
    assert "2 previews in 10 minutes" in resp.get_json()["error"]["message"]
    assert len(link.previewed) == 2
    # Submitting is limited apart from previewing.
    assert client.post("/api/submissions", json={"source": RED}).status_code == 201


def test_per_ip_preview_limit(tmp_path: Path, make_app: Any, make_browser: Any) -> None:
    app: Flask = make_app(tmp_path, PREVIEW_RATE_PER_IP="1/10 minutes")
    link = InMemoryRunner()
    app.extensions["runner_client"] = link
    first = app.test_client()
    first.environ_base.update(REMOTE_ADDR="10.1.1.1", HTTP_USER_AGENT="A/1")
    second = app.test_client()
    second.environ_base.update(REMOTE_ADDR="10.1.1.1", HTTP_USER_AGENT="B/1")
    assert preview(first, RED).status_code == 200
    resp = preview(second, RED)
    assert resp.status_code == 429 and "Your network" in resp.get_json()["error"]["message"]


def test_offline_runner_answers_503_with_a_clear_message(
    client: FlaskClient, runner: InMemoryRunner
) -> None:
    runner.online = False
    resp = preview(client, RED)
    assert resp.status_code == 503
    assert "offline" in resp.get_json()["error"]["message"]
    assert resp.get_json()["error"]["code"] == "runner_offline"


def test_no_runner_at_all_answers_503(client: FlaskClient) -> None:
    resp = preview(client, RED)
    assert resp.status_code == 503 and resp.get_json()["error"]["code"] == "runner_offline"


def test_no_answer_in_time_answers_503(client: FlaskClient, runner: InMemoryRunner) -> None:
    runner.preview_answer = None
    resp = preview(client, RED)
    assert resp.status_code == 503 and resp.get_json()["error"]["code"] == "preview_timeout"


def test_another_site_cannot_spend_a_user_s_previews(
    client: FlaskClient, runner: InMemoryRunner
) -> None:
    resp = client.post(
        "/api/preview", json={"source": RED}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert resp.status_code == 403 and runner.previewed == []


def test_a_big_answer_is_gzipped_for_a_browser_that_accepts_it(
    client: FlaskClient, runner: InMemoryRunner
) -> None:
    runner.preview_answer = dry_run(duration_s=15.0, interval_s=0.04)
    plain = client.post("/api/preview", json={"source": RED})
    zipped = client.post(
        "/api/preview", json={"source": RED}, headers={"Accept-Encoding": "gzip, deflate, br"}
    )
    assert "Content-Encoding" not in plain.headers
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert len(zipped.data) * 10 < len(plain.data)  # repeated colours shrink a lot
    assert json.loads(gzip.decompress(zipped.data)) == plain.get_json()


def test_a_small_error_answer_is_not_gzipped(client: FlaskClient, runner: InMemoryRunner) -> None:
    resp = client.post("/api/preview", json={"source": ""}, headers={"Accept-Encoding": "gzip"})
    assert resp.status_code == 400 and "Content-Encoding" not in resp.headers
    assert resp.get_json()["error"]["code"] == "empty"
