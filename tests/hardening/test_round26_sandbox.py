"""Red team, round twenty-six: the sandbox at ``3ebcc96`` (the log's CPU-time tick, Python's
ignored-error reports in the log, ``_raised_by_program``), attacked with ordinary tree programs
the upload check accepts, in real confined children under the real ``Supervisor`` and
``Previewer`` (``tests/hardening/confined_runs.py``: 10 LEDs, 40 fps, 3 s limit).

Each finding is a strict xfail until it is fixed; the tests not marked assert what held. The
write-up is ``docs/red-team/round26-sandbox.md``.
"""

from __future__ import annotations

import pytest

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


@pytest.mark.xfail(
    strict=True,
    reason="red team round twenty-six: the tick's handler raises RecursionError into the "
    "program when it cannot be entered at the recursion limit",
)
def test_cant_get_a_recursion_error_from_the_log_tick() -> None:
    assert Checker(config()).check(CAUGHT_AT_THE_LIMIT) == []
    real = tree_run(CAUGHT_AT_THE_LIMIT, "round26-caught-at-the-limit")
    predicted = dry_run(CAUGHT_AT_THE_LIMIT)
    for outcome in (real, predicted):
        assert (outcome.status, outcome.reason) == ("completed", "ended"), outcome
        # Measured: "spurious: [1463086]" on the tree, "[354051]" in the dry run (the count
        # the loop had reached when the first tick came), every run.
        assert outcome.log == "spurious: []\n", outcome.log


@pytest.mark.xfail(
    strict=True,
    reason="red team round twenty-six: a program whose deepest frame computes is failed with "
    "a RecursionError the log's tick raised, on a line that calls nothing",
)
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


@pytest.mark.xfail(
    strict=True,
    reason="red team round twenty-six: a MemoryError thrown into a finished generator is "
    "reported as the memory limit",
)
def test_cant_claim_the_memory_limit_by_throwing_into_a_finished_generator() -> None:
    assert Checker(config()).check(THROWS_INTO_A_FINISHED_GENERATOR) == []
    real = tree_run(THROWS_INTO_A_FINISHED_GENERATOR, "round26-throws-into-finished")
    predicted = dry_run(THROWS_INTO_A_FINISHED_GENERATOR)
    for outcome in (real, predicted):
        assert outcome.status == "failed" and outcome.error is not None, outcome
        assert outcome.error.line == 10, outcome.error
        # Measured: "memory_limit" in both modes, every run.
        assert outcome.reason == "error", outcome
