"""The idle show: starred recordings replayed between programs, paced, yielding to the queue."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from protocol.messages import Error
from tests.web.conftest import InMemoryRunner, make_app
from tests.web.test_runs import finished_run, wait_until
from web.idle_show import SETTLE_S, IdleShow
from web.scheduler import Scheduler

RED = [255, 0, 0, 100]
TOKEN = "op-token-1234"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DARK = [[0, 0, 0, 0]] * 10


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    """The app with the operator's console and API (the runner offline until ``runner``)."""
    return make_app(tmp_path, ADMIN_TOKEN=TOKEN)


def play(show: IdleShow, start: float, seconds: float) -> float:
    """Step the show from ``start`` as its thread would (each step's own wait); returns now."""
    now = start
    while now < start + seconds:
        now += max(show.step(now), 0.001)
    return now


def test_starred_runs_replay_between_programs_paced_and_yield_to_the_queue(
    app: Flask, client: FlaskClient, scheduler: Scheduler, runner: InMemoryRunner
) -> None:
    sid = finished_run(client, scheduler)["id"]
    show: IdleShow = app.extensions["idle_show"]
    show.star(sid)
    runner.frames.clear()
    now = play(show, 1000.0, SETTLE_S + 3.0)
    assert runner.frames and all(f == [RED] * 10 for f in runner.frames)
    assert show.frames_sent == len(runner.frames)
    # The 30 frames were recorded within a moment; sent at most 25 a second, never faster.
    assert len(runner.frames) <= 3 * 25 + 1
    # A program arrives: the show stops at its next step and the program starts.
    sent = len(runner.frames)
    client.post("/api/submissions", json={"source": "x = 1\n"})
    play(show, now, 1.0)
    assert len(runner.frames) == sent
    assert scheduler.run_once(scheduler.clock()) is not None


def test_switched_off_or_nothing_starred_sends_nothing(
    app: Flask, client: FlaskClient, scheduler: Scheduler, runner: InMemoryRunner
) -> None:
    show: IdleShow = app.extensions["idle_show"]
    sid = finished_run(client, scheduler)["id"]
    runner.frames.clear()
    play(show, 0.0, SETTLE_S + 2.0)
    assert runner.frames == []  # nothing starred: the runner's own idle scene
    show.star(sid)
    show.set_enabled(False)
    play(show, 100.0, SETTLE_S + 2.0)
    assert runner.frames == []
    assert app.extensions["store"].idle_show_off()  # kept across restarts
    assert app.extensions["store"].starred() == [sid]


def test_a_run_without_recording_cannot_be_starred(
    app: Flask, client: FlaskClient, runner: InMemoryRunner
) -> None:
    sid = client.post("/api/submissions", json={"source": "x = 1\n"}).get_json()["id"]
    show: IdleShow = app.extensions["idle_show"]
    try:
        show.star(sid)
    except ValueError as exc:
        assert "no recording" in str(exc)
    else:
        raise AssertionError("starred a run without a recording")


def test_the_operator_stars_a_run_and_switches_the_show_on_the_console(
    app: Flask, client: FlaskClient, scheduler: Scheduler, runner: InMemoryRunner
) -> None:
    from tests.web.test_pages_admin import csrf_of

    sid = finished_run(client, scheduler)["id"]
    client.post("/admin/login", data={"csrf_token": csrf_of(client, "/admin"), "token": TOKEN})
    console = client.get("/admin").get_data(as_text=True)
    assert f'action="/admin/star/{sid}"' in console and "★ Star" in console
    token = csrf_of(client, "/admin")
    client.post(f"/admin/star/{sid}", data={"csrf_token": token, "on": "1"})
    console = client.get("/admin").get_data(as_text=True)
    assert "☆ Unstar" in console and 'id="idle-show-state">on<' in console
    assert app.extensions["idle_show"].starred == [sid]
    client.post("/admin/idle-show", data={"csrf_token": token, "on": "0"})
    assert 'id="idle-show-state">off<' in client.get("/admin").get_data(as_text=True)
    assert app.extensions["idle_show"].enabled is False


# --- giving the tree back: ReleaseFrame ------------------------------------------------------


def playing(app: Flask, client: FlaskClient, scheduler: Scheduler, runner: InMemoryRunner) -> str:
    """A starred run that the show is replaying right now; returns its id."""
    sid: str = finished_run(client, scheduler)["id"]
    assert client.post(f"/api/admin/submissions/{sid}/star", headers=AUTH).status_code == 200
    runner.frames.clear()
    play(app.extensions["idle_show"], 1000.0, SETTLE_S + 1.0)
    assert runner.frames and runner.frames[-1] == [RED] * 10
    assert client.get("/api/admin/idle-show", headers=AUTH).get_json()["playing"] == sid
    return sid


def test_switching_the_show_off_while_it_plays_gives_the_tree_back_once(
    app: Flask, client: FlaskClient, scheduler: Scheduler, runner: InMemoryRunner
) -> None:
    playing(app, client, scheduler, runner)
    off = client.post("/api/admin/idle-show", headers=AUTH, json={"on": False})
    assert off.status_code == 200 and off.get_json()["enabled"] is False
    sent = len(runner.frames)
    play(app.extensions["idle_show"], 2000.0, 5.0)
    # Exactly one release, right after the show's last frame: the runner's idle scene resumes.
    assert runner.releases == [sent] and len(runner.frames) == sent
    assert client.get("/api/admin/idle-show", headers=AUTH).get_json()["playing"] is None


def test_unstarring_the_last_run_gives_the_tree_back(
    app: Flask, client: FlaskClient, scheduler: Scheduler, runner: InMemoryRunner
) -> None:
    sid = playing(app, client, scheduler, runner)
    assert client.delete(f"/api/admin/submissions/{sid}/star", headers=AUTH).status_code == 200
    play(app.extensions["idle_show"], 2000.0, 5.0)
    assert runner.releases == [len(runner.frames)]


def test_a_starred_run_archived_away_gives_the_tree_back(
    app: Flask, client: FlaskClient, scheduler: Scheduler, runner: InMemoryRunner
) -> None:
    playing(app, client, scheduler, runner)
    assert client.post("/api/admin/archive", headers=AUTH).status_code == 200
    play(app.extensions["idle_show"], 2000.0, 5.0)  # the recording in hand ends; none is left
    assert runner.releases == [len(runner.frames)]


def test_pausing_the_queue_gives_the_tree_back(
    app: Flask, client: FlaskClient, scheduler: Scheduler, runner: InMemoryRunner
) -> None:
    playing(app, client, scheduler, runner)
    assert client.post("/api/admin/pause", headers=AUTH).status_code == 200
    play(app.extensions["idle_show"], 2000.0, 5.0)
    assert runner.releases == [len(runner.frames)]


def test_the_show_never_gives_back_the_operators_blank(
    app: Flask, client: FlaskClient, scheduler: Scheduler, runner: InMemoryRunner
) -> None:
    playing(app, client, scheduler, runner)
    show: IdleShow = app.extensions["idle_show"]
    assert client.post("/api/admin/blank", headers=AUTH).status_code == 200
    now = play(show, 2000.0, 3.0)
    assert runner.frames[-1] == DARK and runner.releases == []
    # Not later either: resumed with the show off, the tree stays dark until the next program.
    client.post("/api/admin/idle-show", headers=AUTH, json={"on": False})
    assert client.post("/api/admin/resume", headers=AUTH).status_code == 200
    play(show, now, SETTLE_S + 3.0)
    assert runner.frames[-1] == DARK and runner.releases == []


def test_a_program_takes_the_tree_without_a_release(
    app: Flask, client: FlaskClient, scheduler: Scheduler, runner: InMemoryRunner
) -> None:
    playing(app, client, scheduler, runner)
    show: IdleShow = app.extensions["idle_show"]
    sid = client.post("/api/submissions", json={"source": "x = 1\n"}).get_json()["id"]
    now = play(show, 2000.0, 1.0)
    assert scheduler.run_once(scheduler.clock()) is not None and runner.runs[-1][0] == sid
    client.post("/api/admin/idle-show", headers=AUTH, json={"on": False})
    play(show, now, 2.0)
    assert runner.releases == []  # the runner dropped the held frame when the program started


def test_a_show_that_never_played_releases_nothing(
    app: Flask, client: FlaskClient, scheduler: Scheduler, runner: InMemoryRunner
) -> None:
    show: IdleShow = app.extensions["idle_show"]
    sid = finished_run(client, scheduler)["id"]
    client.post(f"/api/admin/submissions/{sid}/star", headers=AUTH)
    client.post("/api/admin/idle-show", headers=AUTH, json={"on": False})
    play(show, 1000.0, SETTLE_S + 2.0)
    client.post("/api/admin/idle-show", headers=AUTH, json={"on": True})
    client.delete(f"/api/admin/submissions/{sid}/star", headers=AUTH)
    play(show, 2000.0, SETTLE_S + 2.0)
    assert runner.frames == [] and runner.releases == []


def test_a_release_waits_for_a_runner_that_was_offline(
    app: Flask, client: FlaskClient, scheduler: Scheduler, runner: InMemoryRunner
) -> None:
    playing(app, client, scheduler, runner)
    show: IdleShow = app.extensions["idle_show"]
    runner.online = False  # the link is down when the operator switches the show off
    client.post("/api/admin/idle-show", headers=AUTH, json={"on": False})
    now = play(show, 2000.0, 2.0)
    assert runner.releases == []
    runner.online = True
    play(show, now, 2.0)
    assert runner.releases == [len(runner.frames)]


def test_a_blank_the_runner_refused_as_too_fast_is_sent_again(
    app: Flask, client: FlaskClient, scheduler: Scheduler, runner: InMemoryRunner
) -> None:
    playing(app, client, scheduler, runner)
    assert client.post("/api/admin/blank", headers=AUTH).status_code == 200
    blank_id = runner.frame_ids[-1]
    assert runner.frames[-1] == DARK and blank_id is not None
    # The runner saw the show's frame and the Blank's too close together (it had stalled).
    scheduler.events.on_runner_message(
        Error(code="too_fast", message="frames come faster than the 40 fps cap",
              request_id=blank_id)
    )  # fmt: skip
    wait_until(lambda: runner.frame_ids[-1] != blank_id, "the Blank sent again")
    assert runner.frames[-1] == DARK and runner.releases == []
    # Once the operator resumed the queue, a late refusal is not answered with another Blank.
    client.post("/api/admin/resume", headers=AUTH)
    sent = len(runner.frames)
    again = runner.frame_ids[-1]
    assert again is not None
    scheduler.events.on_runner_message(Error(code="too_fast", message="...", request_id=again))
    threading.Event().wait(0.2)  # well past the one slot (25 ms) a resend would wait
    assert len(runner.frames) == sent


def test_a_blank_outlasts_a_runner_that_stalls_for_a_while(
    app: Flask, client: FlaskClient, scheduler: Scheduler, runner: InMemoryRunner
) -> None:
    """A loaded runner may refuse the Blank again and again (it reads the show's last frame and
    each resend back to back); the tree still goes dark, each try waiting longer."""
    playing(app, client, scheduler, runner)
    assert client.post("/api/admin/blank", headers=AUTH).status_code == 200
    for _ in range(6):
        refused = runner.frame_ids[-1]
        scheduler.events.on_runner_message(
            Error(code="too_fast", message="frames come faster than the 40 fps cap",
                  request_id=refused)
        )  # fmt: skip
        wait_until(lambda refused=refused: runner.frame_ids[-1] != refused, "the Blank sent again")
        assert runner.frames[-1] == DARK
