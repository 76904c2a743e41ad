"""The run page ``/runs/<id>``, its JSON, the recording beside the submission, "My runs"."""

from __future__ import annotations

import random
import time
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from protocol.messages import Finished, Frame, Idle, Log, ProgramError, Started
from web.identity import COOKIE
from web.recordings import MAX_RECORDING_BYTES, Recording, decode, encode_bounded
from web.scheduler import Scheduler

RED = [255, 0, 0, 100]
SOURCE = "setLEDs([RED] * getLEDCount())\nx = 1\ny = 2\nz = 3\nprint(1 / 0)\n"


def wait_until(predicate: Any, what: str, timeout: float = 10.0) -> None:
    """Poll until true (a hang guard, measures nothing)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def crash_at_line_5(scheduler: Scheduler, sid: str, frames: int = 30) -> None:
    """The runner's events for a program that shows red, prints, and fails at line 5."""
    scheduler.run_once(scheduler.clock())
    ev = scheduler.events
    ev.on_runner_message(Started(submission_id=sid))
    for i in range(frames):
        ev.on_runner_message(Frame(submission_id=sid, index=i, leds=[RED] * 10))
    ev.on_runner_message(Log(submission_id=sid, text="about to divide\n"))
    err = ProgramError(type="ZeroDivisionError", message="division by zero", line=5)
    ev.on_runner_message(
        Finished(
            submission_id=sid, status="failed", reason="error", error=err, duration_s=2.0,
            frames=frames, log="about to divide\n", frames_scaled=12, power_scale_min=0.35,
            frames_damped=4,
        )
    )  # fmt: skip
    ev.on_runner_message(Idle())  # the runner is free again


def finished_run(client: FlaskClient, scheduler: Scheduler) -> dict[str, Any]:
    sid = client.post("/api/submissions", json={"source": SOURCE, "title": "Red"}).get_json()["id"]
    crash_at_line_5(scheduler, sid)
    box: dict[str, Any] = {}

    def recorded() -> bool:
        box.update(client.get(f"/api/submissions/{sid}").get_json())
        return bool(box["recording_url"])

    wait_until(recorded, "the recording")
    return box


def test_the_report_says_in_plain_words_how_it_ended(
    client: FlaskClient, scheduler: Scheduler, runner: object
) -> None:
    sub = finished_run(client, scheduler)
    assert sub["report"]["outcome"] == "crashed at line 5"
    assert sub["report"]["fps"] == 15.0  # 30 frames in 2 s
    assert sub["report"]["protection"] == [
        "12 frames dimmed to at most 35 % to stay within the power supply",
        "4 frames softened to avoid flashing",
    ]
    assert sub["log"] == "about to divide\n"
    page = client.get(sub["page_url"]).get_data(as_text=True)
    assert "This run crashed at line 5." in page
    assert '<span class="src-line error-line" data-line="5">print(1 / 0)</span>' in page
    assert "about to divide" in page
    assert "12 frames dimmed to at most 35 %" in page


def test_the_run_page_marks_the_failed_line_as_python_counts_lines(
    client: FlaskClient, scheduler: Scheduler, runner: object
) -> None:
    # A form feed (PEP 8's page break) or U+2028 ends no line for Python: str.splitlines()
    # would shift every line after it and mark "z = 3" instead of the line that failed.
    source = SOURCE.replace("x = 1", "# setup\x0c ends here \u2028 x = 1")
    sid = client.post("/api/submissions", json={"source": source}).get_json()["id"]
    crash_at_line_5(scheduler, sid)
    page = client.get(f"/runs/{sid}").get_data(as_text=True)
    assert '<span class="src-line error-line" data-line="5">print(1 / 0)</span>' in page
    assert 'data-line="2"># setup\x0c ends here \u2028 x = 1</span>' in page


def test_the_recording_replays_exactly_what_the_tree_showed(
    client: FlaskClient, scheduler: Scheduler, runner: object
) -> None:
    sub = finished_run(client, scheduler)
    answer = client.get(sub["recording_url"])
    assert answer.status_code == 200
    rec = decode(answer.data)
    assert rec.led_count == 10 and len(rec) == 30 == sub["recorded_frames"]
    assert all(frame == bytes(RED) * 10 for frame in rec.frames)
    assert rec.times_ms == sorted(rec.times_ms)


def test_others_see_the_report_and_replay_but_not_the_log_or_code(
    client: FlaskClient, other_client: FlaskClient, scheduler: Scheduler, runner: object
) -> None:
    sub = finished_run(client, scheduler)
    theirs = other_client.get(f"/api/submissions/{sub['id']}").get_json()
    assert "log" not in theirs and theirs["report"]["outcome"] == "crashed at line 5"
    assert other_client.get(sub["recording_url"]).status_code == 200
    page = other_client.get(sub["page_url"]).get_data(as_text=True)
    assert "about to divide" not in page and "print(1 / 0)" not in page
    assert "Only its author sees this program's code and log." in page
    assert other_client.get(f"/api/submissions/{sub['id']}/source").status_code == 403


def test_show_logs_to_everyone_shows_them_to_everyone(
    make_app: Any, tmp_path: Any, make_browser: Any
) -> None:
    app: Flask = make_app(tmp_path, SHOW_LOGS_TO="everyone")
    from tests.web.conftest import InMemoryRunner, browser, welcome

    sched = app.extensions["scheduler"]
    sched.runner = app.extensions["runner_client"] = InMemoryRunner()
    sched.events.on_runner_online(welcome())
    author = app.test_client()
    author.get("/docs")
    sub = finished_run(author, sched)
    other = browser(app, "10.0.0.99", "OtherBrowser/1.0")
    assert other.get(f"/api/submissions/{sub['id']}").get_json()["log"] == "about to divide\n"
    assert "print(1 / 0)" in other.get(sub["page_url"]).get_data(as_text=True)


def test_a_bad_show_logs_to_setting_is_refused_by_name(make_app: Any, tmp_path: Any) -> None:
    try:
        make_app(tmp_path, SHOW_LOGS_TO="nobody")
    except ValueError as exc:
        assert "TREE_SHOW_LOGS_TO" in str(exc)
    else:
        raise AssertionError("a bad TREE_SHOW_LOGS_TO was accepted")


def test_the_run_page_survives_a_restart(
    client: FlaskClient, scheduler: Scheduler, runner: object, make_app: Any, tmp_path: Any
) -> None:
    sub = finished_run(client, scheduler)
    again = make_app(tmp_path)  # a new web process on the same uploads/
    fresh = again.test_client()
    fresh.set_cookie(**_cookie(client))
    data = fresh.get(f"/api/submissions/{sub['id']}").get_json()
    assert data["log"] == "about to divide\n" and data["recorded_frames"] == 30
    assert fresh.get(sub["recording_url"]).status_code == 200


def _cookie(client: FlaskClient) -> dict[str, str]:
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    return {"key": cookie.key, "value": cookie.value}


def test_a_pending_run_page_shows_its_place(client: FlaskClient, runner: object) -> None:
    a = client.post("/api/submissions", json={"source": "x = 1\n"}).get_json()
    page = client.get(f"/runs/{a['id']}").get_data(as_text=True)
    assert "#1, starts in ~0 s" in page and 'data-mode="live"' in page


def test_my_runs_lists_only_the_callers_own(
    client: FlaskClient, other_client: FlaskClient, runner: object
) -> None:
    mine = client.post("/api/submissions", json={"source": "x = 1\n", "title": "Mine"}).get_json()
    other_client.get("/docs")
    other_client.post("/api/submissions", json={"source": "y = 2\n", "title": "Theirs"})
    listed = client.get("/api/submissions").get_json()["submissions"]
    assert [s["id"] for s in listed] == [mine["id"]] and listed[0]["mine"] is True
    page = client.get("/runs").get_data(as_text=True)
    assert "Mine" in page and "Theirs" not in page
    assert f"/runs/{mine['id']}" in page


def test_unknown_runs_are_404(client: FlaskClient) -> None:
    assert client.get("/runs/" + "0" * 32).status_code == 404
    assert client.get("/runs/../../etc/passwd").status_code == 404
    assert client.get("/api/submissions/" + "0" * 32 + "/recording").status_code == 404


def test_a_noisy_recording_still_fits_in_a_megabyte() -> None:
    rng = random.Random(1)
    rec = Recording(500)
    for k in range(45 * 25):  # 45 s at 25 frames a second, every LED random
        rec.times_ms.append(k * 40)
        rec.frames.append(rng.randbytes(2000))
    data, kept = encode_bounded(rec)
    assert len(data) <= MAX_RECORDING_BYTES
    back = decode(data)
    assert len(back) == kept and back.frames[0] == rec.frames[0]
    assert back.times_ms[-1] >= 44_000  # still spans the whole run


def test_archiving_moves_the_recording_with_its_run(
    app: Flask, client: FlaskClient, scheduler: Scheduler, runner: object
) -> None:
    sub = finished_run(client, scheduler)
    folder = scheduler.operator.archive()
    from pathlib import Path

    assert [p.suffix for p in sorted(Path(folder).iterdir())] == [".json", ".py", ".rec"]
    assert client.get(sub["page_url"]).status_code == 404
