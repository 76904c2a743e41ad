"""Red team, round twenty-six: the sandbox at ``3ebcc96`` (the log's CPU-time tick, Python's
ignored-error reports in the log, ``_raised_by_program``), attacked with ordinary tree programs
the upload check accepts, in real confined children under the real ``Supervisor`` and
``Previewer`` (``tests/hardening/confined_runs.py``: 10 LEDs, 40 fps, 3 s limit).

Each finding is a strict xfail until it is fixed; the tests not marked assert what held. The
write-up is ``docs/red-team/round26-sandbox.md``.
"""

from __future__ import annotations

from runner.supervise.check import Checker
from tests.hardening.confined_runs import config, dry_run, tree_run

# --- 1. the log's tick raises RecursionError into a program at the recursion limit -------------
#
# ``_tick_the_log`` installs ``on_tick``, a Python function, as the SIGVTALRM handler; it runs
# every 50 ms of the child's CPU, between two bytecodes of whatever runs. Its ``try`` catches a
# RecursionError raised *inside* it, but calling the handler is itself a Python call: in the
# program's deepest frames there is no room for it, CPython raises RecursionError as it enters
# ``on_tick``, before the ``try``, and the signal machinery raises that into the program at the
# bytecode it was interrupted at. It does so whether or not any text is held (the handler is
# called on every tick). Found: a program that catches the RecursionError at its deepest level
# and then only counts (no call at all) gets a RecursionError out of ``count += 1`` in both
# modes, every run; under CPython (no handler) it completes.
CAUGHT_AT_THE_LIMIT = """
hits = []


def deep(n):
    try:
        deep(n + 1)
    except RecursionError:
        if not hits:
            hits.append(n)
            count = 0
            try:
                while count < 4000000:
                    count += 1
            except RecursionError:
                hits.append(count)


deep(0)
print("spurious:", hits[1:])
"""

# The same, uncaught: a program that completes under CPython is reported failed, with a
# RecursionError on a line that calls nothing (line 13, ``while count < 4000000:``).
LEAF_AT_THE_LIMIT = """
leaf = []


def deep(n):
    try:
        deep(n + 1)
    except RecursionError:
        if leaf:
            raise
        leaf.append(n)
        count = 0
        while count < 4000000:
            count += 1


deep(0)
print("done")
"""


def test_cant_get_a_recursion_error_from_the_log_tick() -> None:
    assert Checker(config()).check(CAUGHT_AT_THE_LIMIT) == []
    real = tree_run(CAUGHT_AT_THE_LIMIT, "round26-caught-at-the-limit")
    predicted = dry_run(CAUGHT_AT_THE_LIMIT)
    for outcome in (real, predicted):
        assert (outcome.status, outcome.reason) == ("completed", "ended"), outcome
        # Measured: "spurious: [1463086]" on the tree, "[354051]" in the dry run (the count
        # the loop had reached when the first tick came), every run.
        assert outcome.log == "spurious: []\n", outcome.log


def test_cant_be_failed_by_the_log_tick_at_the_recursion_limit() -> None:
    assert Checker(config()).check(LEAF_AT_THE_LIMIT) == []
    real = tree_run(LEAF_AT_THE_LIMIT, "round26-leaf-at-the-limit")
    predicted = dry_run(LEAF_AT_THE_LIMIT)
    for outcome in (real, predicted):
        # Measured: failed/error, RecursionError on line 13, in both modes, every run.
        assert (outcome.status, outcome.reason) == ("completed", "ended"), outcome
        assert outcome.log == "done\n", outcome.log


# --- 2. a MemoryError thrown into a finished generator is reported as the memory limit ---------
#
# ``_raised_by_program`` calls a MemoryError the program's own only when the innermost entry of
# its traceback is a program frame standing at a ``raise``, a ``yield`` or a generator's start.
# ``generator.throw(exc)`` on a generator that has already finished raises ``exc`` at once,
# without running any frame of the generator: the innermost entry is the caller's, standing at
# the CALL of ``throw``. Found: ``failed``/``memory_limit`` ("used too much memory") in both
# modes, every run, for a program that raises a MemoryError of its own with a few bytes in use
# (round twenty-five's finding 3, by another door).
THROWS_INTO_A_FINISHED_GENERATOR = """
def finished():
    yield 1


generator = finished()
for value in generator:
    pass
print("plenty of memory left")
generator.throw(MemoryError("a name the program chose"))
"""


def test_cant_claim_the_memory_limit_by_throwing_into_a_finished_generator() -> None:
    assert Checker(config()).check(THROWS_INTO_A_FINISHED_GENERATOR) == []
    real = tree_run(THROWS_INTO_A_FINISHED_GENERATOR, "round26-throws-into-finished")
    predicted = dry_run(THROWS_INTO_A_FINISHED_GENERATOR)
    for outcome in (real, predicted):
        assert outcome.status == "failed" and outcome.error is not None, outcome
        assert outcome.error.line == 10, outcome.error
        # Measured: "memory_limit" in both modes, every run.
        assert outcome.reason == "error", outcome


# --- 1b. ... and where the ticks fall tells a dry run from the tree ------------------------------
#
# The timer is armed before confinement and counts all the child's CPU since; a dry run spends
# ~25 ms more of it before the program's first line (its clock's calibration), so the first tick
# comes at another point of the 50 ms period. With finding 1 the program sees each tick as a
# RecursionError in a counting loop; the count at the first tick over the count between ticks
# is that phase, whatever the CPU's speed. Found (10 runs of each): 0.65 to 1.12 on the tree,
# 0.05 to 0.37 in the dry run; a threshold of 0.5 told them apart in every run. A program can
# show (or print) one thing in its dry run and another on the tree.
TELLS_BY_THE_TICK = """
ticks = []


def deep(n):
    try:
        deep(n + 1)
    except RecursionError:
        if not ticks:
            ticks.append(0)
            count = 0
            while len(ticks) < 4 and count < 20000000:
                try:
                    while count < 20000000:
                        count += 1
                except RecursionError:
                    ticks.append(count)


deep(0)
if len(ticks) < 4:
    print("no tick seen")
else:
    period = (ticks[3] - ticks[1]) / 2
    print("the tree" if ticks[1] / period > 0.5 else "a dry run")
"""


def test_cant_tell_a_dry_run_from_the_tree_by_when_the_log_tick_comes() -> None:
    assert Checker(config()).check(TELLS_BY_THE_TICK) == []
    for attempt in range(2):
        real = tree_run(TELLS_BY_THE_TICK, f"round26-tells-by-the-tick-{attempt}")
        predicted = dry_run(TELLS_BY_THE_TICK)
        assert (real.status, predicted.status) == ("completed", "completed"), (real, predicted)
        # Measured: "the tree" on the tree, "a dry run" in the dry run, 10 runs of 10.
        assert real.log == predicted.log, (real.log, predicted.log)


# --- 3. a print that fails deep in the stack loses the lines printed before it -------------
#
# ``print`` is Python code of ours (``print_`` -> ``write_log`` -> ``LogBatch.add`` -> ``flush``
# -> ``Channel.send``), several levels deeper than the call; CPython's is C. ``LogBatch.flush``
# clears the held text *before* it sends it: in the program's deepest frames ``flush`` has just
# room to run, its ``_send`` fails with RecursionError, and the text held so far is gone, with
# the token spent. Held text is text earlier prints wrote without error, at any depth. Found,
# both modes, every run (4 of 4): "step 16" to "step 19", printed at the top level before the
# program recursed, are not in the log of a run that completed.
PRINTS_THEN_FAILS_TO_PRINT_DEEP = """
for n in range(20):
    print("step", n)
raised = []


def deep(n):
    try:
        deep(n + 1)
    except RecursionError:
        if not raised:
            raised.append(n)
            count = 0
            while count < 3000000:
                try:
                    while count < 3000000:
                        count += 1
                except RecursionError:
                    pass
    if n > 970:
        try:
            print("at", n)
        except RecursionError:
            raised.append(n)


deep(0)
print("raised:", raised[1:])
"""


def test_cant_lose_lines_printed_before_a_print_that_failed() -> None:
    assert Checker(config()).check(PRINTS_THEN_FAILS_TO_PRINT_DEEP) == []
    real = tree_run(PRINTS_THEN_FAILS_TO_PRINT_DEEP, "round26-fails-to-print-deep")
    predicted = dry_run(PRINTS_THEN_FAILS_TO_PRINT_DEEP)
    for outcome in (real, predicted):
        assert (outcome.status, outcome.reason) == ("completed", "ended"), outcome
        # Measured: "step 0" to "step 15", then "at 981" ...: steps 16 to 19 lost.
        assert all(f"step {n}\n" in outcome.log for n in range(20)), outcome.log
