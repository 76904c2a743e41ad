"""Every queued submission gets a dry run: its predicted duration, its predicted failure, ETAs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from protocol.messages import Finished, Idle, ProgramError, Started
from tests.web.conftest import InMemoryRunner, dry_run, welcome
from web.predictions import BUSY_TRIES, Predictor
from web.queue_state import MAX_OVERHEAD_S, RUN_OVERHEAD_S
from web.scheduler import Scheduler
from web.storage import Store

GOOD = "setLEDs([[0, 0, 255, 100]] * getLEDCount())\n"
FAILS = "import time\nx = 0\ntime.sleep(2.1)\n\nprint(1 / x)\n"


def predictor(app: Flask) -> Predictor:
    return app.extensions["predictor"]  # type: ignore[no-any-return]


def test_queued_submission_gets_its_dry_run_without_waiting_for_it(
    app: Flask, client: FlaskClient, runner: InMemoryRunner
) -> None:
    resp = client.post("/api/submissions", json={"source": GOOD})
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["predicted_s"] is None and runner.previewed == []  # the POST did not wait
    assert predictor(app).step()
    assert runner.previewed == [(GOOD, 45.0)]
    shown = client.get(f"/api/submissions/{body['id']}").get_json()
    assert shown["predicted_s"] == 2.0 and shown["predicted_error"] is None
    state = next(Path(app.config["UPLOADS"]).glob(f"*_{body['id']}.json"))
    assert json.loads(state.read_text())["predicted_s"] == 2.0  # kept across a restart
    assert not predictor(app).step()  # nothing else to do


def test_a_failing_dry_run_is_told_to_its_author_with_line_and_time(
    app: Flask, client: FlaskClient, runner: InMemoryRunner
) -> None:
    error = ProgramError(type="ZeroDivisionError", message="division by zero", line=5)
    runner.preview_answer = dry_run(status="failed", reason="error", error=error, duration_s=2.1)
    sid = client.post("/api/submissions", json={"source": FAILS}).get_json()["id"]
    predictor(app).step()
    shown = client.get(f"/api/submissions/{sid}").get_json()
    assert shown["predicted_error"] == "fails at line 5 after 2.1 s: ZeroDivisionError"
    assert shown["predicted_error_line"] == 5 and shown["predicted_s"] == 2.1
    assert shown["status"] == "pending"  # it keeps its place; its author may cancel it
    page = client.get(f"/runs/{sid}").get_data(as_text=True)
    assert "fails at line 5 after 2.1 s: ZeroDivisionError" in page


def test_a_program_using_random_is_said_to_maybe_differ(
    app: Flask, client: FlaskClient, runner: InMemoryRunner
) -> None:
    error = ProgramError(type="IndexError", message="list index out of range", line=3)
    runner.preview_answer = dry_run(status="failed", reason="error", error=error, duration_s=0.4)
    source = "import random\nleds = []\nleds[random.randint(0, 3)]\n"
    sid = client.post("/api/submissions", json={"source": source}).get_json()["id"]
    predictor(app).step()
    said = client.get(f"/api/submissions/{sid}").get_json()["predicted_error"]
    assert said.startswith("fails at line 3 after 0.4 s: IndexError")
    assert "random" in said and "differently" in said


def test_predictions_are_capped_and_full_when_unknown(
    app: Flask, client: FlaskClient, runner: InMemoryRunner
) -> None:
    def predicted_for(answer: Any) -> float:
        runner.preview_answer = answer
        sid = client.post("/api/submissions", json={"source": GOOD}).get_json()["id"]
        predictor(app).step()
        client.delete(f"/api/submissions/{sid}")  # make room under the pending limit
        return float(app.extensions["scheduler"].get(sid).predicted_s)

    assert predicted_for(dry_run(duration_s=60.0, interval_s=1.0)) == 45.0  # at most the limit
    assert predicted_for(dry_run(status="incomplete", reason="cpu_budget", duration_s=7)) == 45
    assert predicted_for(None) == 45.0  # no answer in time


def test_busy_slots_are_tried_again_then_predict_the_full_limit(
    app: Flask, client: FlaskClient, runner: InMemoryRunner
) -> None:
    app.extensions["predictor"] = quick = Predictor(app.extensions["scheduler"], busy_wait_s=0)
    runner.preview_answer = "busy"
    sid = client.post("/api/submissions", json={"source": GOOD}).get_json()["id"]
    quick.step()
    assert len(runner.previewed) == BUSY_TRIES
    assert client.get(f"/api/submissions/{sid}").get_json()["predicted_s"] == 45.0


def test_offline_runner_queues_anyway_and_predicts_the_full_limit(
    app: Flask, client: FlaskClient
) -> None:
    resp = client.post("/api/submissions", json={"source": GOOD})
    assert resp.status_code == 201
    predictor(app).step()
    assert client.get(f"/api/submissions/{resp.get_json()['id']}").get_json()["predicted_s"] == 45


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_etas_come_from_predictions_with_an_injected_clock(tmp_path: Path) -> None:
    clock = Clock()
    link = InMemoryRunner()
    sched = Scheduler(Store(tmp_path / "uploads"), link, time_limit_s=45.0, clock=clock)
    sched.events.on_runner_online(welcome())
    pred = Predictor(sched)
    ids = []
    for seconds in (10.0, 20.0, 60.0, 5.0):
        sub = sched.submit(GOOD.encode(), user_id="a" * 24, ip_id="ip")
        link.preview_answer = dry_run(duration_s=seconds, interval_s=1.0)
        pred.ask(sub, GOOD)
        pred.step()
        ids.append(sub.id)
    o = RUN_OVERHEAD_S
    # Nothing runs yet: 10 s, then 20 s, then 45 s (60 s capped at the limit), each + overhead.
    etas = [p["eta_seconds"] for p in sched.snapshot()["pending"]]
    assert etas == [0, round(10 + o), round(30 + 2 * o), round(75 + 3 * o)]
    assert sched.run_once(clock()) == ids[0]
    clock.now += 4  # the running program should end 6 s from now by its prediction
    snap = sched.snapshot()
    assert snap["running"]["time_left_s"] == 6
    etas = [p["eta_seconds"] for p in snap["pending"]]
    assert etas == [round(6 + o), round(26 + 2 * o), round(71 + 3 * o)]
    clock.now += 30  # it runs past its prediction: its time left is 0, not negative
    assert sched.snapshot()["pending"][0]["eta_seconds"] == round(o)


class Queue:
    """A scheduler on a hand-moved clock whose programs are each predicted to run 10 s."""

    def __init__(self, tmp_path: Path, count: int) -> None:
        self.clock = Clock()
        self.link = InMemoryRunner()
        self.sched = Scheduler(
            Store(tmp_path / "uploads"), self.link, time_limit_s=45.0, clock=self.clock
        )
        self.sched.events.on_runner_online(welcome())
        self.ids = [self.add() for _ in range(count)]

    def add(self) -> str:
        """Queue one more program and let its dry run predict 10 s."""
        sub = self.sched.submit(GOOD.encode(), user_id="a" * 24, ip_id="ip")
        self.link.preview_answer = dry_run(duration_s=10.0, interval_s=1.0)
        pred = Predictor(self.sched)
        pred.ask(sub, GOOD)
        pred.step()
        return sub.id

    def run_for(
        self, seconds: float, then_wait: float, stop: str | None = None, pause: bool = False
    ) -> None:
        """Start the next program, let it run ``seconds`` (its author stopping it, or the operator
        pausing the queue, meanwhile), end it, wait ``then_wait`` (resuming after a pause)."""
        sid = self.sched.run_once(self.clock())
        assert sid is not None
        if stop is not None:
            self.sched.stop_current(stop)  # type: ignore[arg-type]
        if pause:
            self.sched.operator.pause()
        self.clock.now += seconds
        events = self.sched.events
        events.on_runner_message(Started(submission_id=sid))
        events.on_runner_message(
            Finished(
                submission_id=sid, status="completed", reason="ended", duration_s=seconds, frames=1
            )
        )
        events.on_runner_message(Idle())
        self.clock.now += then_wait
        if pause:
            self.sched.operator.resume()

    def etas(self) -> list[int]:
        return [p["eta_seconds"] for p in self.sched.snapshot()["pending"]]


def test_etas_learn_the_overhead_from_back_to_back_runs(tmp_path: Path) -> None:
    q = Queue(tmp_path, 6)
    # On a slow machine each run starts 0.9 s, 2.7 s, 1.1 s after the last one's predicted end
    # (children start and end slower than the dry run can see).
    for late in (0.9, 2.7, 1.1):
        q.run_for(10.0, late)
    assert q.sched.run_once(q.clock()) == q.ids[3]
    # Now: the running one has 10 s left, and each run costs the median 1.1 s on top (the one
    # slow start does not lengthen every wait: the mean, 1.57 s, would say 12 s and 23 s).
    assert q.etas() == [round(10 + 1.1), round(10 + 1.1 + 10 + 1.1)] == [11, 22]
    assert round(10 + RUN_OVERHEAD_S + 10 + RUN_OVERHEAD_S) != 22  # not the first guess


def test_waits_that_are_not_overhead_teach_nothing(tmp_path: Path) -> None:
    q = Queue(tmp_path, 1)
    q.run_for(10.0, 2.0)  # nobody was waiting when it ended; the next came 2 s later
    for _ in range(6):
        q.add()
    q.run_for(10.5, 0.1, stop="author")  # stopped by its author just past its prediction
    q.run_for(10.0, MAX_OVERHEAD_S + 5)  # then the runner was away for a while
    q.run_for(10.0, 2.0, pause=True)  # the operator held the queue for 2 s after this one
    assert q.sched.run_once(q.clock()) is not None
    q.clock.now += 10.5
    q.sched.events.on_runner_offline()  # the runner went away at the predicted end ...
    q.clock.now += 1.0
    q.sched.events.on_runner_online(welcome())  # ... and came back a second later
    assert q.sched.run_once(q.clock()) is not None
    assert q.etas() == [round(10 + RUN_OVERHEAD_S)]  # still the first guess


def test_programs_queued_before_a_restart_get_their_dry_run(tmp_path: Path, make_app: Any) -> None:
    first = make_app(tmp_path)
    sid = first.test_client().post("/api/submissions", json={"source": GOOD}).get_json()["id"]
    again = make_app(tmp_path)  # web restarted before the dry run: nothing was predicted
    link = InMemoryRunner()
    again.extensions["scheduler"].runner = link
    again.extensions["scheduler"].events.on_runner_online(welcome())
    assert predictor(again).ask_unpredicted() == 1
    predictor(again).step()
    assert link.previewed == [(GOOD, 45.0)]
    assert again.extensions["scheduler"].get(sid).predicted_s == 2.0
    assert predictor(again).ask_unpredicted() == 0
