"""Red team, round forty-four: the parent's watch on dry-run children (``sleep_watch.py`` with
random looks every 0.25-0.75 s whatever the CPU used, and ``over_budget`` at ``preview_cpu_s``
+ ``CPU_GRACE_S``, the kernel's hard-limit second) and how ``preview._stream`` uses it.

Nothing was found this round: these tests assert what held. Real children, real pipes, the
real ``Previewer`` and ``SleepWatch``; the raw payload through round thirty-five's
``RAW_DRY_RUN_CHILD``. The write-up, with figures, is ``docs/red-team/round44-watch.md``. No
wall-clock figure is asserted.
"""

from __future__ import annotations

import subprocess
import sys
import time

from runner.supervise.sleep_watch import CPU_GRACE_S, IDLE_ALLOWANCE_S, WINDOW_S, SleepWatch
from tests.hardening.raw_children import runner_defaults, timed_dry_run

SLEPT = "slept"

# Runnable without spending CPU: ``sched_yield`` is allowed (the C library's locks), and on a
# machine whose cores are busy a yielding task waits in the run queue (state R, its wait
# credited as ``run_delay``) while using almost no CPU, so it is runnable at nearly every look.
# Found (load 2.8, the CI suite running): held 8.50 and 8.06 s, ``incomplete``/``cpu_budget``,
# child CPU 4.11 and 4.26 s (past the kernel's 4 s hard limit: see the assert), runner 0.013 s.
# Every yield is a system call and the scheduler gives the yielder the CPU whenever a core
# frees up, so the yielding costs budget as spinning does: the kernel's hard limit
# (or the parent's ``over_budget``) ends it, and on a busier machine the wall bound.
YIELDING = """
import os, signal, time
signal.signal(signal.SIGXCPU, signal.SIG_IGN)
time.sleep(1.9)
while True:
    os.sched_yield()
"""


def test_a_raw_child_yielding_after_its_allowance_is_held_to_the_hard_limit() -> None:
    cfg = runner_defaults()
    report, held, runner_cpu = timed_dry_run(YIELDING, cfg)
    message = "" if report.error is None else report.error.message
    print(
        f"{report.status}/{report.reason} {message[:60]!r}, held {held:.2f} s, child CPU "
        f"{report.cpu_s:.2f} s, runner {runner_cpu:.3f} s"
    )
    # It ignores SIGXCPU, and the kernel's hard limit (checked at the tick that finds the task
    # on a CPU) is late for a task that is seldom on one: the parent's look ends it, at most a
    # window (0.75 s) of CPU past the grace; or it is called asleep, or the wall bound ends it.
    assert report.cpu_s <= cfg.preview_cpu_s + CPU_GRACE_S + 1.5 * WINDOW_S + 0.05, report.cpu_s
    assert report.reason in ("cpu_budget", "wall_budget") or SLEPT in message, (
        report.status,
        report.reason,
    )


class _EmptyPipe:
    def backlogged(self) -> bool:
        return False


def test_the_watch_never_raises_once_the_childs_proc_entries_are_gone() -> None:
    # A child that has died and been reaped (or whose /proc cannot be read) leaves nothing to
    # sample: the watch must neither raise nor call it asleep nor over its budget for it.
    with subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    ) as child:
        now = time.monotonic()
        watch = SleepWatch(child.pid, _EmptyPipe(), now, 0.0)
        child.kill()
        child.wait()
    for step in range(1, 8):  # looks past the allowance, the process gone
        later = now + step * (IDLE_ALLOWANCE_S + 1.0)
        assert not watch.asleep(later)
        assert not watch.over_budget
    assert watch.idle_s == 0.0
