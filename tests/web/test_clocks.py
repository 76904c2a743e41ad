"""Running time is measured on a monotonic clock; only timestamps people read are wall-clock.

A Pi has no real-time clock: its wall clock jumps when NTP syncs, often by hours, while a
program runs. The scheduler is given both clocks, so a test can jump one and not the other.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol.messages import Finished, Started
from tests.web.conftest import InMemoryRunner, welcome
from web.scheduler import Scheduler
from web.storage import Store, epoch


class ManualClock:
    """A clock that moves only when told to (a real class, recording nothing else)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("jump_s", [3600.0, -3600.0])
def test_wall_clock_jump_does_not_end_a_run(tmp_path: Path, jump_s: float) -> None:
    mono, wall = ManualClock(500.0), ManualClock(1_800_000_000.0)
    sched = Scheduler(Store(tmp_path), time_limit_s=45.0, clock=mono, wall=wall)
    runner = InMemoryRunner()
    sched.runner = runner
    sched.events.on_runner_online(welcome())
    sid = sched.submit(b"while True:\n    pass\n", user_id="a" * 32).id
    assert sched.run_once(mono()) == sid
    sched.events.on_runner_message(Started(submission_id=sid))
    for _ in range(20):  # 20 s of running, with NTP moving the wall clock by an hour at 5 s
        mono.now += 1.0
        wall.now += 1.0 + (jump_s if mono.now == 505.0 else 0.0)
        sched.run_once(mono())
    sub = sched.get(sid)
    assert sub is not None and sub.status == "running" and runner.stops == []
    assert sched.snapshot()["running"]["time_left_s"] == 25
    sched.events.on_runner_message(
        Finished(submission_id=sid, status="completed", reason="time_limit", duration_s=45.0,
                 frames=900)
    )  # fmt: skip
    assert (sub.status, sub.reason) == ("completed", "time_limit")
    # What people read stays wall-clock: it finished an hour away from when it started.
    assert epoch(sub.finished_at) - epoch(sub.started_at) == pytest.approx(20.0 + jump_s)  # type: ignore[operator]


def test_a_run_past_its_limit_is_still_given_up_on_the_monotonic_clock(tmp_path: Path) -> None:
    mono, wall = ManualClock(0.0), ManualClock(1_800_000_000.0)
    sched = Scheduler(Store(tmp_path), time_limit_s=45.0, clock=mono, wall=wall)
    sched.runner = runner = InMemoryRunner()
    sched.events.on_runner_online(welcome())
    sid = sched.submit(b"pass\n", user_id="a" * 32).id
    sched.run_once(mono())
    wall.now -= 7200.0  # the wall clock going back never keeps a dead run alive either
    mono.now = 45.0 + 10.5
    sched.run_once(mono())
    assert runner.stops == [(sid, "time_limit")]
    mono.now = 45.0 + 20.5
    sched.run_once(mono())
    assert sched.get(sid).reason == "runner_lost"  # type: ignore[union-attr]
