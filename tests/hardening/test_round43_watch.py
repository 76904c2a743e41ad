"""Red team, round forty-three: the parent's watch on dry-run children (``sleep_watch.py`` at
``dfa8237``), its two new rules: a look that finds the child runnable never calls it asleep, and
the parent's own CPU budget (a look when the child could first pass ``preview_cpu_s`` + 0.25 s,
``over_budget`` kills it).

Real children, real pipes, the real ``Previewer`` and ``SleepWatch``; raw payloads through round
thirty-five's ``RAW_DRY_RUN_CHILD``, honest ones restricted. Each finding is a strict xfail until
it is fixed; the tests not marked assert what held. The write-up, with figures, is
``docs/red-team/round43-watch.md``. No wall-clock figure is asserted.
"""

from __future__ import annotations

import subprocess
import sys
import time

from runner.supervise.sleep_watch import SleepWatch, cpu_seconds
from tests.hardening.raw_children import runner_defaults, timed_dry_run

SLEPT = "slept"


# --- 1. an honest program in a C call at SIGXCPU: its virtual clock is lost -------------------
#
# Python runs the SIGXCPU handler (which sends END with the virtual clock) only between
# bytecodes, so an honest program inside one long C call (``sum(range(...))``, ~0.7-1.2 s here)
# answers SIGXCPU only when the call returns. Before round forty-one's fix the hard limit gave it
# a second; now the parent kills it 0.25 s of CPU past the budget, and the verdict comes from
# the exit, where the predicted duration is the last frame's time or the CPU time, not the
# virtual clock. Found (defaults, load 2.4-3): after ``time.sleep(30)`` 3 runs of 4 predicted
# ``incomplete``/``cpu_budget`` at 3.18-3.21 s (the END, when it came: 33.05 s); after
# ``time.sleep(42.5)`` one run of 3 said ``incomplete``/``cpu_budget`` at 3.17 s for a program
# the tree runs to its time limit (the other two: ``completed``/``time_limit``).
# The test's calls take ~0.35-0.6 s (30 million, not the 60 million of the finding): shorter than
# the kernel's second, which a call of more than a second overruns, as it always did.
LONG_C_CALLS = """
import time
setLEDs([(255, 0, 0, 50)] * getLEDCount())
time.sleep(30)
while True:
    total = sum(range(30_000_000))
"""


def test_an_honest_program_in_a_long_c_call_at_its_budget_keeps_its_virtual_clock() -> None:
    cfg = runner_defaults()
    durations = []
    for _ in range(4):  # the handler is late by the rest of the call: most runs, not all
        report, held, _ = timed_dry_run(LONG_C_CALLS, cfg, raw=False)
        print(
            f"{report.status}/{report.reason} at {report.duration_s:.2f} s, held {held:.2f} s, "
            f"child CPU {report.cpu_s:.2f} s"
        )
        durations.append(report.duration_s)
    # The program slept 30 s of virtual time before its first C call.
    assert min(durations) >= 30.0, f"predicted durations {durations}"


# --- 2. the looks in the last quarter second of the budget are predictable ---------------------
#
# ``_next_look`` takes min(uniform(0.25, 0.75) s, budget + 0.25 - CPU + 0.01): once the child has
# used 3.01 s (SIGXCPU ignored), the second term always wins, and every look comes exactly
# ``3.26 - CPU`` after the one before. The child reads the parent's very CPU figure itself:
# ``getrusage`` goes through the same ``cputime_adjust`` as ``/proc/PID/stat``, and truncated to
# hundredths it matched the parent's ``cpu_seconds`` exactly. A child that sleeps at 3.16 s
# knows that the looks come every 0.10 s; only their phase is hidden. (Not turned into a longer
# hold here: see the write-up.) The docstring's promise is "at random moments (a child must not
# know when)".
CHILD_AT_CPU = r"""
import resource, sys, time
while time.process_time() < 0.6:
    pass
usage = resource.getrusage(resource.RUSAGE_SELF)
print(repr(int(usage.ru_utime * 100) / 100 + int(usage.ru_stime * 100) / 100), flush=True)
sys.stdin.read()
"""


class _EmptyPipe:
    def backlogged(self) -> bool:
        return False


def test_the_looks_near_the_cpu_budget_stay_unpredictable() -> None:
    with subprocess.Popen(
        [sys.executable, "-c", CHILD_AT_CPU],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        try:
            assert child.stdout is not None
            told = float(child.stdout.readline())  # what the child computes from getrusage
            seen = cpu_seconds(child.pid)
            # A budget 0.1 s of CPU short of where this child stands (as 3.16 s is of 3.25 s).
            budget = seen - 0.25 + 0.1
            gaps = set()
            for _ in range(50):
                now = time.monotonic()
                gaps.add(round(SleepWatch(child.pid, _EmptyPipe(), now, budget).due - now, 6))
        finally:
            child.kill()
    print(f"the child computed {told} s, the parent read {seen} s; gaps to the next look {gaps}")
    assert abs(told - seen) < 0.005, (told, seen)
    assert max(gaps) - min(gaps) > 0.1, f"every look {min(gaps):.3f} s after the last"


# --- what held ----------------------------------------------------------------------------------

# Rule (a), runnable at most looks: after sleeping out the allowance, a raw child ignoring
# SIGXCPU spins 45 ms of every 50 ms, runnable at ~90 % of the looks it cannot foresee. Found:
# held 5.7-6.1 s, child CPU 3.27-3.28 s, ended ``incomplete``/``cpu_budget`` twice and "slept"
# once (load 2.4): the deferral buys at most the idle of the budget's own seconds (~0.3 s), as
# the CPU the spinning costs ends it. With the grace back at the kernel's second (this round's
# first finding): held 6.4 s on 4.00 s of CPU (the hard limit) or "slept" after 3.7-4.8 s.
MOSTLY_RUNNABLE = """
import signal, time
signal.signal(signal.SIGXCPU, signal.SIG_IGN)
time.sleep(1.9)
while True:
    end = time.perf_counter() + 0.045
    while time.perf_counter() < end:
        pass
    time.sleep(0.005)
"""


def test_a_raw_child_runnable_at_most_looks_is_held_to_its_budget() -> None:
    cfg = runner_defaults()
    report, held, runner_cpu = timed_dry_run(MOSTLY_RUNNABLE, cfg)
    message = "" if report.error is None else report.error.message
    print(
        f"{report.status}/{report.reason} {message[:60]!r}, held {held:.2f} s, child CPU "
        f"{report.cpu_s:.2f} s, runner {runner_cpu:.3f} s"
    )
    # It ignores SIGXCPU: the kernel's hard limit, a second past the budget (round forty-one,
    # known and bounded), or the parent's look after it, at most a window later (round
    # forty-four: a child running in short slices passed the kernel's limit by 0.26 s).
    assert report.cpu_s <= cfg.preview_cpu_s + 1.0 + 0.75 + 0.05, report.cpu_s
    assert report.reason == "cpu_budget" or SLEPT in message, (report.status, report.reason)
