"""Red team, round seven: the runner's new time functions (``runner/sandbox/timefuncs.py``).

Since round six a program gets the same wrapper as its ``time`` functions in its dry run and on
the tree, so that asking them cannot tell the two apart. With no argument the wrapper calls the
dry run's virtual clock; with an argument given to ``localtime``, ``gmtime`` or ``ctime`` it
calls CPython's own function "to check it", in a dry run too. ``None`` is such an argument, and
CPython answers it with *the real current time*. So in a dry run ``time.localtime(None)`` reads
the real wall clock while ``time.sleep`` moves only the virtual one: across a sleep of 1.5 s the
real clock moves by 0 s in a dry run (found: 0.0; the dry run lasts 0.1 s) and by 2 s on
the tree (whole seconds). A deterministic, free switch: the program ends at once in its dry run and
holds the tree to the time limit.

Every test runs a real ``Previewer`` and a real ``Supervisor`` (real confined children).
"""

from __future__ import annotations

import pytest

from runner.leds.layout import spiral_cone
from runner.leds.virtual import VirtualStrip
from runner.supervise.supervisor import Supervisor
from tests.hardening.two_faced import (
    HOLD_THE_TREE,
    LEDS,
    assert_the_dry_run_predicts_the_tree,
    config,
)

LIMIT_S = 4.0

# Each asks the real wall clock (an argument of None: "now", CPython's own answer) across a
# sleep of 2.5 s. The real clock moves at least 2 whole seconds on the tree; in a dry run
# the sleep takes no real time.
REAL_CLOCK_TELLS = {
    "localtime": """
import time

before = time.mktime(time.localtime(None))
time.sleep(2.5)
dry = time.mktime(time.localtime(None)) - before < 2
""",
    "gmtime": """
import time

before = time.mktime(time.gmtime(None))
time.sleep(2.5)
dry = time.mktime(time.gmtime(None)) - before < 2
""",
    "ctime": """
import time

before = time.ctime(None)
time.sleep(2.5)
after = time.ctime(None)


def seconds(stamp):
    hours, minutes, secs = stamp[11:19].split(":")
    return int(hours) * 3600 + int(minutes) * 60 + int(secs)


dry = (seconds(after) - seconds(before)) % 86400 < 2
""",
}


@pytest.mark.parametrize("tell", sorted(REAL_CLOCK_TELLS))
def test_cant_tell_a_dry_run_from_the_tree_by_asking_the_time_of_none(tell: str) -> None:
    program = REAL_CLOCK_TELLS[tell] + HOLD_THE_TREE
    assert_the_dry_run_predicts_the_tree(program, f"time-of-none-{tell}", LIMIT_S)


# A real builtin has a ``__name__`` and a ``__qualname__`` (the two dunders a tree program may
# read: ``rules.READABLE_DUNDERS``), and ``time.process_time``, still CPython's own, answers
# them; the wrapper that now stands for ``time.sleep``, ``time.monotonic``... has neither
# (found: "AttributeError: 'builtin_function_or_method' object has no attribute '__name__'"),
# in the dry run and on the tree alike. An ordinary program that names its clock breaks, and
# the wrapper, which otherwise passes for a builtin, is told from one.
NAMES = """
import time

for clock in (time.process_time, time.perf_counter, time.sleep):
    print(clock.__name__, clock.__qualname__)
"""


def test_a_program_can_name_its_time_functions_as_it_names_any_builtin() -> None:
    with Supervisor(config(LIMIT_S), VirtualStrip(LEDS), spiral_cone(LEDS)) as supervisor:
        real = supervisor.run("names", NAMES)
    assert (real.status, real.reason) == ("completed", "ended"), real.log
    assert real.log.split() == [
        "process_time", "process_time", "perf_counter", "perf_counter", "sleep", "sleep",
    ]  # fmt: skip


# The dry run's clock is the program's CPU time (``time.process_time``) plus its sleeps. In the
# confined child that CPU clock is coarse: with RLIMIT_CPU set, the kernel answers
# CLOCK_PROCESS_CPUTIME_ID from the process's CPU timer, updated at scheduler ticks (found in
# raw code: 21 distinct values in 20,000 reads; the thread's CPU clock, uncapped, has 20,000).
# Between ticks the virtual clock moves only by its read noise (at most 100 ns), so two clock
# reads in a row are 0-100 ns apart in a dry run (found: min 0, median 50 ns) and never closer
# than a call takes on the tree (found: min 610-630 ns, median ~800 ns on the dev machine; a Pi
# is slower). A switch on the closest of 200 pairs, the same every time.
STANDS_STILL = """
import time

gaps = []
for i in range(200):
    before = time.monotonic_ns()
    gaps.append(time.monotonic_ns() - before)
dry = min(gaps) < 300
"""

# The dry run's clocks are six clocks, each counted from a base read once at its start
# (``VirtualClock.__init__``: monotonic, then perf_counter, then time_ns, then monotonic_ns);
# on the tree ``monotonic`` and ``monotonic_ns`` are one kernel clock (and ``perf_counter`` is
# it too, on Linux). So in a dry run a ``monotonic()`` read after ``monotonic_ns()`` says an
# earlier time (found: 6.4-6.7 us earlier, every read), which cannot happen on the tree.
RUNS_BACKWARDS = """
import time

backwards = 0
for i in range(20):
    ns = time.monotonic_ns()
    if time.monotonic() * 1e9 < ns:
        backwards += 1
dry = backwards > 0
"""

CLOCK_MODEL_TELLS = {"stands_still": STANDS_STILL, "runs_backwards": RUNS_BACKWARDS}


@pytest.mark.parametrize("tell", sorted(CLOCK_MODEL_TELLS))
def test_cant_tell_a_dry_run_from_the_tree_by_reading_its_clocks_in_turn(tell: str) -> None:
    program = CLOCK_MODEL_TELLS[tell] + HOLD_THE_TREE
    assert_the_dry_run_predicts_the_tree(program, f"clocks-in-turn-{tell}", LIMIT_S)
