"""Red team, round twenty-three: the runner's sandbox as changed by round twenty-two's fixes
(``runner/sandbox/log_batch.py``: ``waited``, ``take``, at most one record of debt;
``ProgramApi.before_wait`` skipping a sleep whose deadline overflows; a dry run's end writing
the held text before its END record; ``child._time_stderr``; ``VirtualClock.frame_sent``,
``blocked`` and ``sleep_overflows``).

Real parts only: real confined children under the real ``Supervisor`` and ``Previewer``, with
ordinary tree programs the upload check accepts. Each finding is a strict xfail until it is
fixed; the tests not marked assert what held. The write-up with figures and suggested fixes is
``docs/red-team/round23-sandbox.md``.
"""

from __future__ import annotations

import pytest

from runner.supervise.check import Checker
from tests.hardening.confined_runs import config, dry_run, tree_run

# Round twenty-two's failing sleep, aimed at the gap between the two overflow checks of a dry
# run: ``ProgramApi.before_wait`` asks ``VirtualClock.sleep_overflows`` (no: the log's hook
# runs, and credits the sleep, up to a full bucket), then ``t_sleep`` asks again a few
# microseconds of virtual time later (yes: OSError, the sleep never happens). The program reads
# the clock and sleeps to just under the overflow, stepping the margin through 0-3.5 us: the
# steps whose deadline crosses the overflow between the two checks fill the bucket each time.
PRINT_AND_SLEEP_TO_THE_EDGE = """
import time

EDGE = 2**63 / 1e9
margin = 0.0
n = 0
while True:
    n += 1
    print(n)
    seconds = EDGE - time.monotonic() - margin
    try:
        time.sleep(seconds)
    except OSError:
        margin += 0.0000001
        if margin > 0.0000035:
            margin = 0.0
"""


@pytest.mark.xfail(
    strict=True,
    reason="red team round twenty-three: a dry run's log hook and its sleep ask whether the "
    "deadline overflows at two different times; a sleep timed between them is credited to the "
    "log and then fails, and the dry run ends failed/crashed at the LOG cap",
)
def test_a_sleep_timed_to_overflow_between_the_two_checks_cannot_end_a_dry_run_as_crashed() -> None:
    assert Checker(config()).check(PRINT_AND_SLEEP_TO_THE_EDGE) == []
    report = dry_run(PRINT_AND_SLEEP_TO_THE_EDGE)
    # Measured: failed/crashed ("log records beyond the log's cap") in 0.3-0.6 s, 3 runs of 3.
    # A sleep that does happen (a margin past the gap) ends the run at its limit: also fine.
    assert report.reason in ("time_limit", "cpu_budget"), (report.status, report.error)


def test_a_sleep_timed_to_overflow_cannot_end_a_tree_run_as_crashed() -> None:
    # Held: on the tree the bucket owes at most one record, whatever the sleep does.
    result = tree_run(PRINT_AND_SLEEP_TO_THE_EDGE, "round23-edge-sleep-tree")
    assert (result.status, result.reason) == ("completed", "time_limit"), result.error
