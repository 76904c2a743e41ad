"""A dry run's child asleep is told from one starved of CPU (``runner/supervise/sleep_watch``).

Real processes and the kernel's own accounting: a process asleep (or dozing) in real time is
asleep once its idle time passes the allowance; one spinning, or one starved at nice 19 behind
a busy loop on every core, never is; and an honest dry run on such a machine ends by its
budget, never as "slept" (red team round thirty-five's fix must not cost an honest program its
prediction on a busy evening).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

from runner.config import RunnerConfig
from runner.leds.layout import spiral_cone
from runner.supervise.preview import Previewer
from runner.supervise.sleep_watch import CPU_GRACE_S, IDLE_ALLOWANCE_S, WINDOW_S, SleepWatch

SPIN = [sys.executable, "-c", "while True: pass"]


@contextlib.contextmanager
def _process(command: list[str], nice: int = 0) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(command, preexec_fn=(lambda: os.nice(nice)) if nice else None)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def _every_core_busy() -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for _ in range(os.cpu_count() or 2):
            stack.enter_context(_process(SPIN))
        yield


class _QuietPipe:
    """A record pipe nothing was written to (``pipes.ChildIO``'s side of it)."""

    def backlogged(self) -> bool:
        return False


def _windows(pid: int, count: int, elapsed: list[float] | None = None) -> list[bool]:
    """``asleep`` after each of ``count`` real looks (and the seconds since the first)."""
    started = time.monotonic()
    watch = SleepWatch(pid, _QuietPipe(), started)
    seen = []
    for _ in range(count):
        time.sleep(max(0.0, watch.due - time.monotonic()))
        now = time.monotonic()
        seen.append(watch.asleep(now))
        if elapsed is not None:
            elapsed.append(now - started)
    return seen


# Enough looks for the allowance to be passed even if every window is the shortest (half of
# WINDOW_S: they are random), and two more.
WINDOWS = int(IDLE_ALLOWANCE_S / (WINDOW_S / 2)) + 3
DOZE = """import time
while True:
    started = time.monotonic()
    while time.monotonic() - started < 0.01:
        pass
    time.sleep(0.09)
"""


def test_a_process_asleep_is_asleep_once_its_idle_time_passes_the_allowance() -> None:
    with _process([sys.executable, "-c", "import time; time.sleep(60)"]) as proc:
        time.sleep(0.5)  # past its start-up
        elapsed: list[float] = []
        seen = _windows(proc.pid, WINDOWS, elapsed)
    first = seen.index(True)  # asleep from the window that takes it past the allowance on
    assert elapsed[first] > IDLE_ALLOWANCE_S, (seen, elapsed)
    assert all(seen[first:]), seen


def test_a_process_dozing_is_asleep_too() -> None:
    """Spinning a tenth of each 100 ms: idle adds up though no window is all idle."""
    with _process([sys.executable, "-c", DOZE]) as proc:
        time.sleep(0.5)
        seen = _windows(proc.pid, WINDOWS + 2)
    assert seen[-1], seen


def test_a_spinning_process_is_never_asleep() -> None:
    with _process(SPIN) as proc:
        assert _windows(proc.pid, WINDOWS) == [False] * WINDOWS


def test_a_process_starved_behind_every_core_is_never_asleep() -> None:
    with _every_core_busy(), _process(SPIN, nice=19) as proc:
        assert _windows(proc.pid, WINDOWS) == [False] * WINDOWS


def test_an_honest_dry_run_on_a_busy_machine_ends_by_its_budget_not_as_asleep() -> None:
    config = RunnerConfig(led_count=10, fps=40.0, time_limit_s=45.0, preview_cpu_s=2)
    previewer = Previewer(config, spiral_cone(10), prestart=True)
    try:
        # On a quiet machine first: the spare for the next dry run starts (~0.1 s) and waits,
        # confined, so the busy loops below starve the program, not a start-up at nice 19.
        previewer.preview("pass\n")
        time.sleep(2.0)
        with _every_core_busy():
            report = previewer.preview("while True:\n    pass\n")
    finally:
        previewer.close()
    assert report.status == "incomplete", report
    assert report.reason in {"cpu_budget", "wall_budget"}, report


def test_a_spinning_process_is_over_its_cpu_budget_and_its_grace_at_a_look() -> None:
    # The parent's own CPU limit, for a child whose kernel limit is gone: the kernel's hard
    # limit (the budget and a second) as well, seen at the first look past it.
    budget = 0.3
    with _process(SPIN) as proc:
        started = time.monotonic()
        watch = SleepWatch(proc.pid, _QuietPipe(), started, cpu_limit_s=budget)
        while not watch.over_budget and time.monotonic() - started < 10:
            time.sleep(max(0.0, watch.due - time.monotonic()))
            watch.asleep(time.monotonic())
        assert watch.over_budget, watch.cpu_s
        assert budget + CPU_GRACE_S < watch.cpu_s, watch.cpu_s
        assert proc.poll() is None  # the watch only tells; the previewer kills


def test_a_sleeping_process_is_never_over_its_cpu_budget() -> None:
    with _process([sys.executable, "-c", "import time; time.sleep(30)"]) as proc:
        started = time.monotonic()
        watch = SleepWatch(proc.pid, _QuietPipe(), started, cpu_limit_s=0.3)
        for _ in range(4):
            time.sleep(max(0.0, watch.due - time.monotonic()))
            watch.asleep(time.monotonic())
        assert not watch.over_budget, watch.cpu_s


def test_a_look_that_finds_the_process_runnable_never_calls_it_asleep() -> None:
    # A child starved of CPU for longer than the allowance has its wait credited only when it
    # runs again; till then it looks idle (seen once: a nice-19 spinner behind eight busy
    # loops). Here the idle time is real (stopped, state T), then the process spins: past the
    # allowance, yet not asleep while a look finds it runnable; stopped again, it is.
    with _process(SPIN) as proc:
        started = time.monotonic()
        watch = SleepWatch(proc.pid, _QuietPipe(), started)
        proc.send_signal(signal.SIGSTOP)
        # A second past the allowance: a busy machine's late CPU-wait credits while it spins
        # below pay back a little of it.
        while watch.idle_s <= IDLE_ALLOWANCE_S + 1.0:
            time.sleep(max(0.0, watch.due - time.monotonic()))
            verdict = watch.asleep(time.monotonic())
        assert verdict, watch.idle_s  # stopped at the look: asleep
        proc.send_signal(signal.SIGCONT)
        for _ in range(3):
            time.sleep(max(0.0, watch.due - time.monotonic()))
            assert not watch.asleep(time.monotonic()), watch.idle_s
        assert watch.idle_s > IDLE_ALLOWANCE_S  # the idle time stays counted
        proc.send_signal(signal.SIGSTOP)
        time.sleep(max(0.0, watch.due - time.monotonic()))
        assert watch.asleep(time.monotonic())
