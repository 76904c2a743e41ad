"""Reading and cancelling submissions, the queue, the tree, health, and the event stream."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from protocol.messages import Finished, Frame, Log, Started
from web.scheduler import Scheduler

GOOD = "print(1)\n"


def test_get_submission_shows_log_only_to_its_author(
    editor: Any, other_client: FlaskClient, scheduler: Scheduler, runner: Any
) -> None:
    sid = editor.submit(GOOD, title="<b>t</b>").get_json()["id"]
    scheduler.run_once(1e9)
    scheduler.events.on_runner_message(Started(submission_id=sid))
    scheduler.events.on_runner_message(Log(submission_id=sid, text="secret-ish output\n"))
    scheduler.events.on_runner_message(
        Finished(submission_id=sid, status="completed", reason="time_limit", duration_s=45.0,
                 frames=1800, log="secret-ish output\n")
    )  # fmt: skip
    mine = editor.client.get(f"/api/submissions/{sid}").get_json()
    assert mine["status"] == "completed" and mine["reason"] == "time_limit"
    assert mine["frames"] == 1800 and mine["log"] == "secret-ish output\n" and mine["mine"]
    theirs = other_client.get(f"/api/submissions/{sid}").get_json()
    assert theirs["status"] == "completed" and "log" not in theirs and "mine" not in theirs
    assert theirs["title"] == "<b>t</b>"  # JSON carries it; pages escape it


def test_get_unknown_or_malformed_id_is_404(client: FlaskClient) -> None:
    for sid in ("0" * 32, "../../etc/passwd", "x" * 500, "ABCDEF" * 6):
        resp = client.get(f"/api/submissions/{sid}")
        assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"


def test_dashed_uuid_names_the_same_submission(editor: Any, other_client: FlaskClient) -> None:
    sid = editor.submit(GOOD).get_json()["id"]
    dashed = str(uuid.UUID(sid))
    resp = editor.client.get(f"/api/submissions/{dashed}")
    assert resp.status_code == 200 and resp.get_json()["id"] == sid
    assert other_client.delete(f"/api/submissions/{dashed}").status_code == 403
    assert editor.client.delete(f"/api/submissions/{dashed.upper()}").status_code == 200
    assert editor.client.get(f"/api/submissions/{sid}").get_json()["status"] == "cancelled"


def test_delete_by_author_other_and_after_start(
    editor: Any, other_client: FlaskClient, scheduler: Scheduler, runner: Any
) -> None:
    first = editor.submit(GOOD).get_json()["id"]
    second = editor.submit(GOOD).get_json()["id"]
    resp = other_client.delete(f"/api/submissions/{second}")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"
    resp = editor.client.delete(f"/api/submissions/{second}")
    assert resp.status_code == 200
    assert (resp.get_json()["status"], resp.get_json()["reason"]) == ("cancelled", "author")
    assert editor.client.delete(f"/api/submissions/{second}").status_code == 409
    scheduler.run_once(1e9)
    assert other_client.delete(f"/api/submissions/{first}").status_code == 403
    assert runner.stops == []
    resp = editor.client.delete(f"/api/submissions/{first}")  # running: its author stops it
    assert resp.status_code == 202 and resp.get_json()["stopping"] is True
    assert runner.stops == [(first, "author")]
    scheduler.events.on_runner_message(
        Finished(submission_id=first, status="cancelled", reason="author", duration_s=1, frames=2)
    )
    resp = editor.client.delete(f"/api/submissions/{first}")
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "already_finished"
    assert editor.client.delete(f"/api/submissions/{'0' * 32}").status_code == 404


def test_queue_json(editor: Any, scheduler: Scheduler, runner: Any) -> None:
    ids = [editor.submit(GOOD, name=f"n{i}").get_json()["id"] for i in range(3)]
    scheduler.run_once(time.time())
    resp = editor.client.get("/api/queue")
    assert resp.headers["Cache-Control"] == "no-store"
    q = resp.get_json()
    assert set(q) >= {"running", "pending", "recent", "runner_online", "led_count"}
    assert q["running"]["id"] == ids[0] and q["runner_online"] is True and q["led_count"] == 10
    assert [p["id"] for p in q["pending"]] == ids[1:]
    assert [p["position"] for p in q["pending"]] == [1, 2]
    assert q["recent"] == []


def test_tree_json(client: FlaskClient, scheduler: Scheduler, runner: Any) -> None:
    t = client.get("/api/tree").get_json()
    assert t["led_count"] == 10 and len(t["positions"]) == 10 and t["frame"] is None
    scheduler.events.on_runner_message(Frame(submission_id=None, leds=[[9, 8, 7, 100]] * 10))
    assert client.get("/api/tree").get_json()["frame"] == [[9, 8, 7, 100]] * 10


def test_healthz(client: FlaskClient, scheduler: Scheduler, welcome_for: Any) -> None:
    body = client.get("/healthz").get_json()
    assert body["ok"] is True and body["runner_online"] is False
    scheduler.events.on_runner_online(welcome_for())
    assert client.get("/healthz").get_json()["runner_online"] is True


def _events(resp: Any, count: int) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for chunk in resp.response:
        for block in chunk.decode().split("\n\n"):
            lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
            if "event" in lines:
                out.append((lines["event"], json.loads(lines["data"])))
        if len(out) >= count:
            break
    resp.close()
    return out


def test_events_stream_starts_with_tree_and_queue(
    app: Flask, client: FlaskClient, editor: Any, scheduler: Scheduler, runner: Any
) -> None:
    editor.submit(GOOD)
    resp = client.get("/api/events", buffered=False)
    assert resp.mimetype == "text/event-stream"
    assert resp.headers["Cache-Control"] == "no-cache"
    scheduler.events.on_runner_message(Frame(submission_id="s", leds=[[1, 2, 3, 4]] * 10))
    got = _events(resp, 3)
    assert [kind for kind, _ in got] == ["tree", "queue", "frame"]
    assert got[0][1]["runner_online"] is True and len(got[0][1]["positions"]) == 10
    assert len(got[1][1]["pending"]) == 1
    assert got[2][1] == {"submission_id": "s", "index": 0, "leds": [[1, 2, 3, 4]] * 10}
    assert app.extensions["events"].viewers == 0  # closing the response ended the stream
