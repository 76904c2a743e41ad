"""A long evening: only the newest finished submissions stay in memory; older ones are on disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from protocol.messages import Finished, Idle, Started
from web.scheduler import Scheduler
from web.storage import Store

GOOD = "setLEDs([RED] * getLEDCount())\n"


def run_to_the_end(sched: Scheduler, sid: str, log: str) -> None:
    assert sched.run_once(sched.clock()) == sid
    sched.events.on_runner_message(Started(submission_id=sid))
    sched.events.on_runner_message(
        Finished(submission_id=sid, status="completed", reason="ended", duration_s=1.0,
                 frames=3, log=log)
    )  # fmt: skip
    sched.events.on_runner_message(Idle())


def test_memory_keeps_the_newest_finished_and_disk_serves_the_rest(
    tmp_path: Path, make_app: Any, welcome_for: Any
) -> None:
    from tests.web.conftest import InMemoryRunner

    app = make_app(tmp_path, KEEP_FINISHED=3, RATE_PER_USER="100/minute",
                   MAX_PENDING_PER_USER=100)  # fmt: skip
    sched: Scheduler = app.extensions["scheduler"]
    sched.runner = app.extensions["runner_client"] = InMemoryRunner()
    sched.events.on_runner_online(welcome_for())
    client: FlaskClient = app.test_client()
    ids = []
    for n in range(8):
        sid = client.post("/api/submissions", json={"source": GOOD}).get_json()["id"]
        run_to_the_end(sched, sid, f"run {n}\n")
        ids.append(sid)
    assert set(sched.state.subs) == set(ids[-3:])  # only the newest three in memory
    assert [r["id"] for r in client.get("/api/queue").get_json()["recent"]] == ids[:-4:-1]
    oldest = client.get(f"/api/submissions/{ids[0]}").get_json()  # read from uploads/
    assert (oldest["status"], oldest["log"], oldest["mine"]) == ("completed", "run 0\n", True)
    assert client.get(f"/api/submissions/{ids[0]}/source").get_data(as_text=True) == GOOD
    assert client.delete(f"/api/submissions/{ids[0]}").status_code == 409  # finished long ago
    # A restart loads no more than that either.
    again = Scheduler(Store(app.config["UPLOADS"]), keep_finished=3)
    again.load()
    assert set(again.state.subs) == set(ids[-3:])
    assert [r["id"] for r in again.snapshot()["recent"]] == ids[:-4:-1]
