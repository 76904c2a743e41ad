"""Scheduler unit tests, driven through ``run_once(now)`` and protocol messages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from protocol.messages import Error, Finished, Frame, Idle, Log, ProgramError, Started
from web.queue_state import RUN_OVERHEAD_S
from web.runner_client import RunnerUnavailable
from web.scheduler import STOP_GRACE_S, Scheduler
from web.storage import Store, Submission

T0 = 1_800_000_000.0  # a fixed "now" for every test
USER = "aaaaaaaaaaaaaaaaaaaaaaaa"


def submit(sched: Scheduler, source: str = "print(1)\n", user: str = USER, at: float = T0) -> str:
    return sched.submit(source.encode(), user_id=user, ip_id="ip1").id


def finish(sched: Scheduler, sid: str, status: str = "completed", reason: str = "ended") -> None:
    sched.events.on_runner_message(Started(submission_id=sid))
    sched.events.on_runner_message(
        Finished(submission_id=sid, status=status, reason=reason, duration_s=1.5, frames=30)  # type: ignore[arg-type]
    )
    sched.events.on_runner_message(Idle())


def test_fcfs_one_at_a_time(scheduler: Scheduler, runner: Any) -> None:
    ids = [submit(scheduler, f"print({i})\n") for i in range(3)]
    assert scheduler.run_once(T0) == ids[0]
    assert scheduler.run_once(T0 + 1) is None  # the tree is busy
    assert [r[0] for r in runner.runs] == [ids[0]]
    assert runner.runs[0][1] == "print(0)\n" and runner.runs[0][2] == 45.0
    finish(scheduler, ids[0])
    assert scheduler.run_once(T0 + 2) == ids[1]
    finish(scheduler, ids[1])
    assert scheduler.run_once(T0 + 3) == ids[2]
    assert [r[0] for r in runner.runs] == ids


def test_finished_keeps_result_and_log(scheduler: Scheduler, runner: Any) -> None:
    sid = submit(scheduler)
    scheduler.run_once(T0)
    scheduler.events.on_runner_message(Started(submission_id=sid))
    scheduler.events.on_runner_message(Log(submission_id=sid, text="hello\n"))
    err = ProgramError(type="ValueError", message="LED 3: brightness 150 is outside 0-100", line=4)
    scheduler.events.on_runner_message(
        Finished(
            submission_id=sid, status="failed", reason="error", error=err, duration_s=2.0, frames=7
        )
    )
    sub = scheduler.get(sid)
    assert sub is not None
    assert (sub.status, sub.reason, sub.frames, sub.duration_s) == ("failed", "error", 7, 2.0)
    assert sub.error == {"type": "ValueError", "message": err.message, "line": 4, "col": None}
    assert sub.log == "hello\n" and sub.finished_at and sub.started_at
    stored = json.loads(scheduler.store.state_path(sub).read_text())
    assert stored["status"] == "failed" and stored["error"]["line"] == 4
    assert scheduler.state.snapshot(T0)["recent"][0]["id"] == sid


def test_eta_arithmetic(scheduler: Scheduler, runner: Any) -> None:
    ids = [submit(scheduler) for _ in range(4)]
    snap = scheduler.state.snapshot(T0)
    # Nothing predicted yet: each counts the full limit, plus the overhead of a run.
    o = RUN_OVERHEAD_S
    assert [p["eta_seconds"] for p in snap["pending"]] == [round(k * (45 + o)) for k in range(4)]
    assert [p["position"] for p in snap["pending"]] == [1, 2, 3, 4]
    scheduler.run_once(T0)
    snap = scheduler.state.snapshot(T0 + 10)  # 35 s left of the running one
    assert snap["running"]["id"] == ids[0] and snap["running"]["time_left_s"] == 35
    expected = [round(35 + o + k * (45 + o)) for k in range(3)]
    assert [p["eta_seconds"] for p in snap["pending"]] == expected
    assert scheduler.state.public(scheduler.get(ids[3]), T0 + 10)["eta_seconds"] == expected[2]  # type: ignore[arg-type]
    # Past the limit (the runner is still finishing) the time left never goes negative.
    assert scheduler.state.snapshot(T0 + 50)["pending"][0]["eta_seconds"] == 0


def test_cancel_by_author_only_while_pending(scheduler: Scheduler, runner: Any) -> None:
    first, second = submit(scheduler), submit(scheduler)
    with pytest.raises(PermissionError):
        scheduler.cancel(second, "b" * 24)
    sub = scheduler.cancel(second, USER)
    assert (sub.status, sub.reason) == ("cancelled", "author")
    with pytest.raises(ValueError):
        scheduler.cancel(second, USER)
    with pytest.raises(KeyError):
        scheduler.cancel("0" * 32, USER)
    scheduler.run_once(T0)
    with pytest.raises(PermissionError):
        scheduler.cancel(first, "b" * 24)  # running: still only its author may stop it
    finish(scheduler, first)
    with pytest.raises(ValueError):
        scheduler.cancel(first, USER)  # finished
    assert scheduler.run_once(T0 + 1) is None  # the cancelled one never runs
    assert [r[0] for r in runner.runs] == [first]


def _prepare(folder: Path, sid: str, status: str, ts: str, seq: int, **extra: Any) -> None:
    sub = Submission(id=sid, timestamp=ts, user_id=USER, status=status, seq=seq, **extra)
    (folder / f"{sub.stem}.py").write_bytes(f"# {sid}\n".encode())
    (folder / f"{sub.stem}.json").write_text(json.dumps(sub.__dict__))


def test_recovery_from_prepared_uploads(tmp_path: Path) -> None:
    folder = tmp_path / "up"
    folder.mkdir()
    ids = {name: name[0] * 32 for name in ("a", "b", "c", "d", "e")}
    # Written out of order on purpose: the timestamp decides.
    _prepare(folder, ids["c"], "pending", "2026-12-01T10:00:03+00:00", 3)
    _prepare(folder, ids["a"], "running", "2026-12-01T10:00:01+00:00", 1, started_at="x")
    _prepare(folder, ids["b"], "completed", "2026-12-01T10:00:00+00:00", 0, reason="ended")
    _prepare(folder, ids["d"], "pending", "2026-12-01T10:00:02+00:00", 2)
    _prepare(folder, ids["e"], "cancelled", "2026-12-01T10:00:04+00:00", 4, reason="author")
    (folder / f"{USER}_{'f' * 32}.json").write_text("{not json")  # a torn write: skipped
    (folder / f"{USER}_{'9' * 32}.json").write_text("{}")  # no source, unreadable: skipped
    sched = Scheduler(Store(folder))
    sched.load()
    snap = sched.state.snapshot(T0)
    assert [p["id"] for p in snap["pending"]] == [ids["a"], ids["d"], ids["c"]]
    assert snap["pending"][0]["status"] == "pending"
    assert {r["id"] for r in snap["recent"]} == {ids["b"], ids["e"]}
    restored = json.loads((folder / f"{USER}_{ids['a']}.json").read_text())
    assert restored["status"] == "pending" and restored["started_at"] is None
    # New submissions go after the recovered ones.
    late = sched.submit(b"pass\n", user_id=USER)
    assert sched.state.snapshot(T0)["pending"][-1]["id"] == late.id


def test_store_roundtrip_survives_restart(scheduler: Scheduler, runner: Any) -> None:
    ids = [submit(scheduler, f"print({i})\n", at=T0 + i) for i in range(3)]
    scheduler.run_once(T0)
    again = Scheduler(scheduler.store)
    again.load()
    # the running one is re-queued first
    assert [p["id"] for p in again.state.snapshot(T0)["pending"]] == ids


def test_runner_offline_queue_waits(scheduler: Scheduler) -> None:
    sid = submit(scheduler)
    assert scheduler.run_once(T0) is None
    assert scheduler.state.snapshot(T0)["runner_online"] is False
    assert scheduler.get(sid).status == "pending"  # type: ignore[union-attr]


def test_runner_lost_mid_run_then_back(scheduler: Scheduler, runner: Any, welcome_for: Any) -> None:
    first, second = submit(scheduler), submit(scheduler)
    scheduler.run_once(T0)
    scheduler.events.on_runner_message(Started(submission_id=first))
    runner.online = False
    scheduler.events.on_runner_offline()
    sub = scheduler.get(first)
    assert sub is not None and (sub.status, sub.reason) == ("failed", "runner_lost")
    assert scheduler.run_once(T0 + 1) is None  # waits while offline
    assert scheduler.state.snapshot(T0 + 1)["runner_online"] is False
    runner.online = True
    scheduler.events.on_runner_online(welcome_for())
    assert scheduler.run_once(T0 + 2) == second


def test_run_request_fails_requeues_in_front(scheduler: Scheduler, runner: Any) -> None:
    first, second = submit(scheduler), submit(scheduler)
    runner.online = False  # the connection broke between the check and the send
    assert scheduler.run_once(T0) is None
    assert [p["id"] for p in scheduler.state.snapshot(T0)["pending"]] == [first, second]


def test_busy_answer_requeues_and_waits_for_idle(scheduler: Scheduler, runner: Any) -> None:
    first = submit(scheduler)
    scheduler.run_once(T0)
    scheduler.events.on_runner_message(Error(code="busy", message="busy", request_id=first))
    assert scheduler.get(first).status == "pending"  # type: ignore[union-attr]
    assert scheduler.run_once(T0 + 1) is None  # busy until Idle
    scheduler.events.on_runner_message(Idle())
    assert scheduler.run_once(T0 + 2) == first


def test_unrelated_runner_error_is_ignored(scheduler: Scheduler, runner: Any) -> None:
    first = submit(scheduler)
    scheduler.run_once(T0)
    scheduler.events.on_runner_message(Error(code="not_running", message="x is not running"))
    assert scheduler.get(first).status == "running"  # type: ignore[union-attr]


def test_adopts_the_program_the_runner_is_running(
    scheduler: Scheduler, runner: Any, welcome_for: Any
) -> None:
    first = submit(scheduler)
    runner.online = False
    scheduler.events.on_runner_offline()
    runner.online = True
    scheduler.events.on_runner_online(welcome_for(busy_with=first))
    assert scheduler.get(first).status == "running"  # type: ignore[union-attr]
    assert runner.runs == [] and runner.stops == []
    stray = "7" * 32
    scheduler.events.on_runner_offline()
    scheduler.events.on_runner_online(welcome_for(busy_with=stray))
    assert runner.stops == [(stray, "operator")]


def test_overrun_asks_runner_to_stop_once(scheduler: Scheduler, runner: Any) -> None:
    sid = submit(scheduler)
    scheduler.run_once(T0)
    scheduler.run_once(T0 + 45 + STOP_GRACE_S - 1)
    assert runner.stops == []
    scheduler.run_once(T0 + 45 + STOP_GRACE_S + 1)
    scheduler.run_once(T0 + 45 + STOP_GRACE_S + 2)
    assert runner.stops == [(sid, "time_limit")]


def test_operator_stop_pause_remove_blank(scheduler: Scheduler, runner: Any) -> None:
    first, second, third = submit(scheduler), submit(scheduler), submit(scheduler)
    scheduler.run_once(T0)
    scheduler.stop_current()
    assert runner.stops == [(first, "operator")]
    scheduler.events.on_runner_message(
        Finished(submission_id=first, status="failed", reason="killed", duration_s=3, frames=1)
    )
    assert (scheduler.get(first).status, scheduler.get(first).reason) == ("cancelled", "operator")  # type: ignore[union-attr]
    scheduler.operator.pause()
    scheduler.events.on_runner_message(Idle())
    assert scheduler.run_once(T0 + 1) is None
    removed = scheduler.operator.remove(second)
    assert (removed.status, removed.reason) == ("cancelled", "operator")
    scheduler.operator.resume()
    assert scheduler.run_once(T0 + 2) == third
    scheduler.operator.blank()  # stops the program, pauses, blanks once the tree is idle
    assert scheduler.paused and runner.stops[-1] == (third, "operator") and runner.frames == []
    finish(scheduler, third, "failed", "killed")
    assert runner.frames == [[[0, 0, 0, 0]] * 10]


def test_operator_stop_while_offline_ends_it_here(scheduler: Scheduler, runner: Any) -> None:
    sid = submit(scheduler)
    scheduler.run_once(T0)
    runner.online = False
    scheduler.state.runner_online = False
    scheduler.stop_current()
    assert (scheduler.get(sid).status, scheduler.get(sid).reason) == ("cancelled", "operator")  # type: ignore[union-attr]
    with pytest.raises(RunnerUnavailable):
        scheduler.operator.blank()


def test_frames_and_queue_are_published(scheduler: Scheduler, runner: Any) -> None:
    seen: list[tuple[str, Any]] = []
    scheduler.publish = lambda kind, data: seen.append((kind, data))
    sid = submit(scheduler)
    scheduler.events.on_runner_message(Frame(submission_id=sid, index=7, leds=[[1, 2, 3, 4]] * 10))
    kinds = [k for k, _ in seen]
    assert kinds == ["submission", "queue", "frame"]
    assert seen[2][1] == {"submission_id": sid, "index": 7, "leds": [[1, 2, 3, 4]] * 10}
    assert scheduler.state.frame == seen[2][1]


def test_snapshot_json_cache_follows_changes(scheduler: Scheduler) -> None:
    empty = scheduler.state.snapshot_json(T0)
    assert scheduler.state.snapshot_json(T0 + 0.1) is empty  # reused while nothing changed
    submit(scheduler)
    assert json.loads(scheduler.state.snapshot_json(T0 + 0.2))["pending"]


def test_thread_dispatches_and_stops_cleanly(scheduler: Scheduler, runner: Any) -> None:
    import threading

    scheduler.start(interval_s=5.0)  # a long interval: only the submit's wake-up can start it
    try:
        sid = submit(scheduler)
        done = threading.Event()
        for _ in range(200):
            if runner.runs:
                done.set()
                break
            threading.Event().wait(0.025)
        assert done.is_set() and runner.runs[0][0] == sid
    finally:
        scheduler.stop(timeout=5)
    assert scheduler._thread is None


def test_a_run_that_cannot_start_fails_alone(scheduler: Scheduler, runner: Any) -> None:
    calls: list[str] = []

    def broken_run(submission_id: str, source: str, time_limit_s: float) -> None:
        calls.append(submission_id)
        if len(calls) == 1:
            raise RuntimeError("bug in the link")
        runner.runs.append((submission_id, source, time_limit_s))

    runner.run = broken_run
    first, second = submit(scheduler), submit(scheduler)
    assert scheduler.run_once(T0) is None
    sub = scheduler.get(first)
    assert sub is not None and (sub.status, sub.reason) == ("failed", "crashed")
    assert scheduler.run_once(T0 + 1) == second


def test_run_nobody_answers_for_is_freed(scheduler: Scheduler, runner: Any) -> None:
    first, second = submit(scheduler), submit(scheduler)
    scheduler.run_once(T0)
    scheduler.run_once(T0 + 45 + STOP_GRACE_S + 1)  # asks the runner to stop it
    assert scheduler.get(first).status == "running"  # type: ignore[union-attr]
    # Still no answer: it gives up on that run and goes on with the queue.
    assert scheduler.run_once(T0 + 45 + 2 * STOP_GRACE_S + 1) == second
    sub = scheduler.get(first)
    assert sub is not None and (sub.status, sub.reason) == ("failed", "runner_lost")


def test_missing_source_fails_alone(scheduler: Scheduler, runner: Any) -> None:
    first, second = submit(scheduler), submit(scheduler)
    sub = scheduler.get(first)
    assert sub is not None
    scheduler.store.source_path(sub).unlink()
    assert scheduler.run_once(T0) is None
    assert (sub.status, sub.reason, sub.error["type"]) == ("failed", "error", "StorageError")  # type: ignore[index]
    assert scheduler.run_once(T0 + 1) == second


def test_operator_stop_then_runner_lost_is_still_cancelled(
    scheduler: Scheduler, runner: Any
) -> None:
    sid = submit(scheduler)
    scheduler.run_once(T0)
    scheduler.stop_current()
    runner.online = False
    scheduler.events.on_runner_offline()
    sub = scheduler.get(sid)
    assert sub is not None and (sub.status, sub.reason) == ("cancelled", "operator")


def test_cant_lose_the_operators_pause_on_a_restart(tmp_path: Path) -> None:
    folder = tmp_path / "up"
    first = Scheduler(Store(folder))
    first.load()
    first.operator.pause()
    second = Scheduler(Store(folder))  # web restarted
    second.load()
    assert second.paused and second.snapshot()["paused"]
    second.operator.resume()
    third = Scheduler(Store(folder))
    third.load()
    assert not third.paused
    assert not (folder / ".paused").exists()


def test_cant_lose_a_finished_state_once_the_disk_takes_writes_again(
    scheduler: Scheduler, runner: Any
) -> None:
    sid = submit(scheduler)
    assert scheduler.run_once(T0) == sid
    sub = scheduler.get(sid)
    assert sub is not None
    state = scheduler.store.state_path(sub)
    # A directory where the state file goes makes every write of it fail, like a full disk.
    state.unlink()
    state.mkdir()
    (state / "blocker").write_text("x")
    finish(scheduler, sid)
    assert scheduler.store.owes_states
    (state / "blocker").unlink()
    state.rmdir()
    scheduler.run_once(T0 + 10)  # nobody submits: the dispatcher alone must write it
    assert not scheduler.store.owes_states
    assert json.loads(state.read_text())["status"] == "completed"
