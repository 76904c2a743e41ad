"""Programs cancelled before they ran: kept like any finished one (SPEC §3), within caps.

Cancelling before the run is free (no place in the rate windows), so web keeps only the newest
``TREE_CANCELLED_KEEP_PER_USER`` of them per author and ``TREE_CANCELLED_KEEP`` in all; older
ones are removed from uploads/, never one that ran, waits or runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from protocol.messages import Finished, Idle, Started
from tests.web.conftest import InMemoryRunner, browser, make_app, welcome
from web.config import WebConfig
from web.scheduler import Scheduler

GOOD = "setLEDs([RED] * getLEDCount())\n"


def scheduler_of(app: Flask) -> Scheduler:
    return app.extensions["scheduler"]  # type: ignore[no-any-return]


def connect_runner(app: Flask) -> InMemoryRunner:
    """The in-memory runner link, online (as the ``runner`` fixture does for its app)."""
    link = InMemoryRunner()
    scheduler_of(app).runner = link
    app.extensions["runner_client"] = link
    scheduler_of(app).events.on_runner_online(welcome())
    return link


def submit(client: FlaskClient, title: str) -> str:
    answer = client.post("/api/submissions", json={"source": f"# {title}\n{GOOD}", "title": title})
    assert answer.status_code == 201, answer.get_json()
    return str(answer.get_json()["id"])


def submit_and_cancel(client: FlaskClient, title: str) -> str:
    sid = submit(client, title)
    answer = client.delete(f"/api/submissions/{sid}")
    assert answer.status_code == 200 and answer.get_json()["status"] == "cancelled"
    return sid


def files_of(tmp_path: Path, sid: str) -> list[str]:
    return sorted(p.suffix for p in (tmp_path / "uploads").glob(f"*_{sid}.*"))


def my_runs(client: FlaskClient) -> dict[str, str]:
    """Title -> status of the caller's runs, as "My runs" lists them."""
    subs = client.get("/api/submissions").get_json()["submissions"]
    return {s["title"]: s["status"] for s in subs}


def test_a_program_cancelled_before_it_ran_keeps_its_files_and_shows_as_cancelled(
    tmp_path: Path,
) -> None:
    app = make_app(tmp_path)
    client = browser(app, "10.0.0.1", "Student/1.0")
    sid = submit(client, "changed my mind")
    answer = client.delete(f"/api/submissions/{sid}")
    assert answer.status_code == 200
    body = answer.get_json()
    assert (body["status"], body["reason"]) == ("cancelled", "author")
    assert "stays in My runs with its code" in body["message"]
    assert "newest 20" in body["message"]
    assert files_of(tmp_path, sid) == [".json", ".py"]
    source = client.get(f"/api/submissions/{sid}/source")
    assert source.status_code == 200 and source.data == f"# changed my mind\n{GOOD}".encode()
    assert my_runs(client) == {"changed my mind": "cancelled"}
    page = client.get(f"/runs/{sid}")
    assert page.status_code == 200 and b"# changed my mind" in page.data
    # A restart loads it like any finished submission (last: a page view hands out a cookie).
    again = browser(make_app(tmp_path), "10.0.0.1", "Student/1.0")
    assert again.get(f"/api/submissions/{sid}").get_json()["status"] == "cancelled"
    assert again.get(f"/api/submissions/{sid}/source").status_code == 200
    assert my_runs(again) == {"changed my mind": "cancelled"}
    assert b"# changed my mind" in again.get(f"/runs/{sid}").data


def test_the_per_user_cap_removes_only_the_oldest_cancelled_before_they_ran(
    tmp_path: Path,
) -> None:
    app = make_app(tmp_path, CANCELLED_KEEP_PER_USER=3)
    runner = connect_runner(app)
    sched = scheduler_of(app)
    client = browser(app, "10.0.0.1", "Student/1.0")
    ran = submit(client, "ran")
    sched.run_once(1e9)
    sched.events.on_runner_message(Started(submission_id=ran))
    sched.events.on_runner_message(
        Finished(submission_id=ran, status="completed", reason="ended", duration_s=1, frames=5)
    )
    sched.events.on_runner_message(Idle())
    stopped = submit(client, "stopped while running")
    sched.run_once(1e9)
    assert client.delete(f"/api/submissions/{stopped}").status_code == 202
    assert runner.stops == [(stopped, "author")]
    sched.events.on_runner_message(
        Finished(submission_id=stopped, status="cancelled", reason="author", duration_s=1, frames=2)
    )
    waiting = submit(client, "waiting")  # nothing calls run_once: it waits
    cancelled = [submit_and_cancel(client, f"cancelled {n}") for n in range(1, 6)]
    viewer = browser(app, "10.0.0.9", "Viewer/1.0")  # a page view hands out a new identity
    for gone in cancelled[:2]:
        assert files_of(tmp_path, gone) == []
        assert client.get(f"/api/submissions/{gone}").status_code == 404
        assert viewer.get(f"/runs/{gone}").status_code == 404
    for sid in [ran, stopped, waiting, *cancelled[2:]]:
        assert ".py" in files_of(tmp_path, sid)
    assert my_runs(client) == {
        "ran": "completed",
        "stopped while running": "cancelled",
        "waiting": "pending",
        "cancelled 3": "cancelled",
        "cancelled 4": "cancelled",
        "cancelled 5": "cancelled",
    }
    # The queue's recent list no longer shows the removed ones either.
    recent = [s["title"] for s in client.get("/api/queue").get_json()["recent"]]
    assert "cancelled 1" not in recent and "cancelled 2" not in recent
    assert "cancelled 5" in recent


def test_the_total_cap_removes_the_oldest_cancelled_before_they_ran_of_anyone(
    tmp_path: Path,
) -> None:
    app = make_app(tmp_path, CANCELLED_KEEP_PER_USER=3, CANCELLED_KEEP=5)
    runner = connect_runner(app)
    sched = scheduler_of(app)
    xena = browser(app, "10.0.0.1", "Xena/1.0")
    yuri = browser(app, "10.0.0.2", "Yuri/1.0")
    zoe = browser(app, "10.0.0.3", "Zoe/1.0")
    ran = submit(zoe, "zoe ran")
    sched.run_once(1e9)
    assert runner.runs[0][0] == ran
    sched.events.on_runner_message(
        Finished(submission_id=ran, status="failed", reason="error", duration_s=1, frames=0)
    )
    sched.events.on_runner_message(Idle())
    operator_cancelled = submit(zoe, "zoe removed by the operator")
    sched.operator.remove(operator_cancelled)
    order = []
    for n in range(1, 4):
        order.append(submit_and_cancel(xena, f"x{n}"))
        order.append(submit_and_cancel(yuri, f"y{n}"))
    # Six cancelled before they ran, five kept in all: x1, the oldest, is gone.
    assert files_of(tmp_path, order[0]) == []
    assert list(my_runs(xena)) == ["x3", "x2"]
    assert list(my_runs(yuri)) == ["y3", "y2", "y1"]
    submit_and_cancel(yuri, "y4")  # Yuri's fourth: Yuri's oldest goes (his cap)
    assert list(my_runs(yuri)) == ["y4", "y3", "y2"]
    assert list(my_runs(xena)) == ["x3", "x2"]
    # Neither the run that ran nor the operator's cancel counts or goes.
    assert my_runs(zoe) == {"zoe removed by the operator": "cancelled", "zoe ran": "failed"}
    for sid in (ran, operator_cancelled):
        assert ".py" in files_of(tmp_path, sid)
    stored = sorted((tmp_path / "uploads").glob("*.py"))
    assert len(stored) == 5 + 2


def test_after_a_restart_the_caps_count_the_cancelled_ones_already_on_disk(
    tmp_path: Path,
) -> None:
    first = browser(make_app(tmp_path, CANCELLED_KEEP_PER_USER=3), "10.0.0.1", "Student/1.0")
    before = [submit_and_cancel(first, f"before {n}") for n in range(1, 4)]
    second = browser(make_app(tmp_path, CANCELLED_KEEP_PER_USER=3), "10.0.0.1", "Student/1.0")
    assert list(my_runs(second)) == ["before 3", "before 2", "before 1"]
    after = [submit_and_cancel(second, f"after {n}") for n in range(1, 3)]
    assert list(my_runs(second)) == ["after 2", "after 1", "before 3"]
    assert [files_of(tmp_path, sid) for sid in before[:2]] == [[], []]
    assert len(list((tmp_path / "uploads").glob("*.py"))) == 3
    # A lower cap at the next start holds at once.
    third = browser(make_app(tmp_path, CANCELLED_KEEP_PER_USER=1), "10.0.0.1", "Student/1.0")
    assert list(my_runs(third)) == ["after 2"]
    assert third.get(f"/api/submissions/{after[0]}").status_code == 404
    assert [p.stem.split("_")[1] for p in (tmp_path / "uploads").glob("*.py")] == [after[1]]


def test_with_no_cancelled_ones_kept_the_answer_says_it_is_gone(tmp_path: Path) -> None:
    client = browser(make_app(tmp_path, CANCELLED_KEEP_PER_USER=0), "10.0.0.1", "Student/1.0")
    sid = submit(client, "gone")
    message = client.delete(f"/api/submissions/{sid}").get_json()["message"]
    assert "keeps no programs cancelled before they ran" in message
    assert files_of(tmp_path, sid) == []
    assert client.get(f"/api/submissions/{sid}").status_code == 404


def test_the_caps_are_settings_named_when_wrong() -> None:
    config = WebConfig.from_environ(
        {"TREE_CANCELLED_KEEP_PER_USER": "7", "TREE_CANCELLED_KEEP": "70"}
    )
    assert (config.cancelled_keep_per_user, config.cancelled_keep) == (7, 70)
    assert (WebConfig().cancelled_keep_per_user, WebConfig().cancelled_keep) == (20, 500)
    with pytest.raises(ValueError, match="TREE_CANCELLED_KEEP: -1 is not between"):
        WebConfig.from_environ({"TREE_CANCELLED_KEEP": "-1"})
    with pytest.raises(ValueError, match="TREE_CANCELLED_KEEP_PER_USER: 'x' is not a number"):
        WebConfig.from_environ({"TREE_CANCELLED_KEEP_PER_USER": "x"})
