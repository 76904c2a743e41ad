"""The idle show: starred recordings replayed between programs, paced, yielding to the queue."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.web.conftest import InMemoryRunner
from tests.web.test_runs import finished_run
from web.idle_show import SETTLE_S, IdleShow
from web.scheduler import Scheduler

RED = [255, 0, 0, 100]


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
    from tests.web.test_pages_admin import TOKEN, csrf_of

    app.config["ADMIN_TOKEN"] = TOKEN
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
