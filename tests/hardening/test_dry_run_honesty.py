"""Red team: a program must not be able to tell its dry run from its tree run (round four).

Every queued submission's dry run sets its predicted duration (the queue's expected start
times for everyone behind it) and its predicted error, and the editor's Preview shows its frames.
All of that is worth something only if the program behaves in its dry run as it will on the
tree. The virtual clock is exact where a real clock jitters: in a dry run,
``perf_counter() - process_time()`` moves by exactly the same amount across every
``time.sleep(0.002)`` (found: a spread of 2e-12 s), on the tree by a different amount each time
(found: microseconds to milliseconds). So a program can end at once in its dry run (predicted:
0.02 s, completed) and hold the tree for the whole time limit.
"""

from __future__ import annotations

import time

import pytest

from tests.hardening.two_faced import (
    HOLD_THE_TREE,
    assert_the_dry_run_predicts_the_tree,
    dry_run_and_run,
)

LIMIT_S = 3.0

# An ordinary tree program (only ``time``): it asks whether its clock jitters.
TWO_FACED = """\
import time

steps = []
for i in range(8):
    before = time.perf_counter() - time.process_time()
    time.sleep(0.002)
    steps.append(time.perf_counter() - time.process_time() - before)
if max(steps) - min(steps) < 1e-9:
    print("a dry run: ending at once")
else:
    print("the tree: holding it to the limit")
    while True:
        setLEDs([WHITE] * getLEDCount())
        time.sleep(0.1)
"""


def test_cant_make_a_dry_run_predict_a_different_run_by_reading_its_clock() -> None:
    assert_the_dry_run_predicts_the_tree(TWO_FACED, "two-faced", LIMIT_S)


# An ordinary program whose error draws frames while its message is asked for. On the tree the
# frames keep coming until the time limit; in a dry run the virtual clock is already stopped
# when the child asks for the message (``child._describe_failure``), so the frames' times run
# past the limit and the parent reports the sandbox as broken.
DRAWS_IN_ITS_ERROR = """\
import time


class Boom(Exception):
    def __str__(self):
        while True:
            setLEDs([WHITE] * getLEDCount())


setLEDs([RED] * getLEDCount())
time.sleep(1)
raise Boom()
"""


def test_cant_make_a_dry_run_blame_the_sandbox_by_drawing_in_an_errors_message() -> None:
    predicted, real = dry_run_and_run(DRAWS_IN_ITS_ERROR, "draws-in-error", LIMIT_S)
    assert (real.status, real.reason) == ("completed", "time_limit")
    error = predicted.error.model_dump() if predicted.error else None
    assert predicted.reason != "crashed", f"the dry run blamed the sandbox: {error}"
    assert (predicted.status, predicted.reason) == (real.status, real.reason)


# --- Red team, round six --------------------------------------------------------------------
#
# A dry run hands the program the virtual clock's functions in place of the real ``time``
# functions. They answer to the same calls, but they are other objects: their ``repr``, their
# errors for a wrong call, their messages for a bad argument, even the Python frames they need
# (the recursion depth left for a call) differ from CPython's own. Each difference is a switch,
# deterministic and free: the program ends at once in its dry run and holds the tree to the
# time limit. What must hold: whatever the program asks its ``time`` functions, the dry run
# predicts the run.


def _overflow_message() -> str:
    """What this interpreter (the children's too) says for ``time.sleep(1e300)``: 3.11.7's
    words differ from 3.11.2's, the Pi's."""
    try:
        time.sleep(1e300)
    except OverflowError as error:
        return str(error)
    raise AssertionError("time.sleep(1e300) did not overflow")


CLOCK_TELLS = {
    "repr": """
import time

dry = repr(time.sleep) != "<built-in function sleep>"
""",
    "wrong_call": """
import time

try:
    time.time(0)
    said = ""
except TypeError as error:
    said = str(error)
dry = said != "time.time() takes no arguments (1 given)"
""",
    "bad_argument": """
import time

try:
    time.sleep("soon")
    said = ""
except TypeError as error:
    said = str(error)
dry = said != "'str' object cannot be interpreted as an integer"
""",
    "overflow_message": """
import time

try:
    time.sleep(1e300)
    said = ""
except OverflowError as error:
    said = str(error)
dry = said != SAID_ON_THE_TREE
""".replace("SAID_ON_THE_TREE", repr(_overflow_message())),
    "type_refusal": """
import time

try:
    type(time.monotonic)
    said = ""
except TypeError as error:
    said = str(error)
dry = "builtin_function_or_method" not in said
""",
}


@pytest.mark.parametrize("tell", sorted(CLOCK_TELLS))
def test_cant_tell_a_dry_run_from_the_tree_by_asking_its_time_functions(tell: str) -> None:
    program = CLOCK_TELLS[tell] + HOLD_THE_TREE
    assert_the_dry_run_predicts_the_tree(program, f"tells-{tell}", 2.0)


# How deep a recursion may go before a call fails is a switch too (found: time.monotonic() still
# worked at depth 988 on the tree, 983 in a dry run; setLEDs 982 against 980). CPython's own
# builtins need one stack level, as a lambda does; no object that also looks like a builtin
# (repr, type name) can call Python code in one level in CPython 3.11, so the tree's and the dry
# run's functions are the same wrapper, which makes sure of the same headroom before it calls
# either implementation (``runner.sandbox.timefuncs``). What must hold: the depths a program
# finds are the dry run's as the tree's, for the clocks and for setLEDs.
DEPTHS = """
import time


def deepest(call):
    # The deepest recursion at which call() still works.
    def down(n):
        try:
            found = down(n + 1)
        except RecursionError:
            found = None
        if found is None:
            try:
                call()
                return n
            except RecursionError:
                return None
        return found

    return down(0)


frame = [WHITE] * getLEDCount()
base = deepest(lambda: None)
calls = [
    time.monotonic,
    time.perf_counter_ns,
    time.localtime,
    lambda: time.sleep(0),
    lambda: time.sleep(0.001),
    lambda: time.strftime("%H"),
    lambda: setLEDs(frame),
]
print("levels short of a lambda:", [base - deepest(call) for call in calls])
"""


def test_cant_tell_a_dry_run_from_the_tree_by_how_deep_its_time_functions_work() -> None:
    predicted, real = dry_run_and_run(DEPTHS, "depths", LIMIT_S)
    assert (real.status, real.reason) == ("completed", "ended"), real.log
    assert "levels short of a lambda" in real.log
    assert predicted.log == real.log, "the dry run's calls fail at other depths than the tree's"


# The tree's pacer keeps its grid through a stall of up to two periods and then shows the
# frames that were late at half-period spacing until they are back on it (``Pacer``: the next
# frame is due at ``max(slot, last + period / 2)``); the dry run's clock restarts its grid as
# soon as a frame is half a period late (``VirtualClock.frame_time``), so it never catches up.
# With one frame in flight, ``setLEDs`` returns when the frame before is taken, so the program
# sees the difference in how fast its ``setLEDs`` calls return after a short stall: about one
# period for three frames on the tree, two in a dry run (found: 1.08-1.10 against 2.00-2.01).
CATCHES_UP = """
import time

P = 1 / 40
frame = [WHITE] * getLEDCount()


def catch_up():
    # A few frames on the grid, a stall of a period and a quarter past the next slot, then
    # four frames as fast as setLEDs lets them go: how many periods the last three took.
    for i in range(4):
        setLEDs(frame)
    time.sleep(3.25 * P)
    returned = []
    for i in range(4):
        setLEDs(frame)
        returned.append(time.perf_counter())
    return (returned[3] - returned[0]) / P


dry = min(catch_up() for trial in range(3)) > 1.5
"""


def test_cant_tell_a_dry_run_from_the_tree_by_how_frames_catch_up_after_a_stall() -> None:
    program = CATCHES_UP + HOLD_THE_TREE
    assert_the_dry_run_predicts_the_tree(program, "catches-up", LIMIT_S)


# With one frame in flight, ``setLEDs`` returns once the frame before it has been taken. When
# that frame's slot had already come (the first frame after a pause), the dry run's clock lets
# the next ``setLEDs`` return after a send only (``FRAME_SEND_S``, ~20 us, from the moment the
# frame before was *sent*); on the tree the parent must first wake, read and check that frame
# and send its ACK, and the child must wake: a round trip (found: 103-250 us on the 2-core dev
# machine, median ~115 us; more on a Pi), never the ~20 us the dry run gives (found: 9-89 us,
# median ~23 us).
ROUND_TRIP = """
import time

frame = [WHITE] * getLEDCount()
waits = []
for i in range(15):
    time.sleep(0.1)  # a pause: the next frame is taken at once
    setLEDs(frame)
    before = time.perf_counter()
    setLEDs(frame)  # returns once the frame before is taken
    waits.append(time.perf_counter() - before)
waits.sort()
dry = waits[7] < 45e-6
"""


def test_cant_tell_a_dry_run_from_the_tree_by_timing_the_ack_of_a_frame_taken_at_once() -> None:
    program = ROUND_TRIP + HOLD_THE_TREE
    assert_the_dry_run_predicts_the_tree(program, "round-trip", LIMIT_S)


# The dry run's end at the limit (``child._dry_run_clock``'s ``end``) stops the clock first and
# then writes the END record. Near the recursion limit the write (its ``json.dumps``) raises
# RecursionError, which leaves ``end`` into the program: the program catches it, goes on, and
# the clock, stopped, never ends the run again. Its next frame carries a time past the limit and
# the parent reports the sandbox as broken: found, "failed/crashed: the sandbox broke its
# protocol: frame time 98500.1 out of order or past the limit" after 0.016 s, where the tree
# run holds the tree to the limit (``completed``/``time_limit``). An ordinary program, and the
# queue's prediction is "fails after 0.0 s".
STOPS_THE_CLOCK = """
import time


def down(n):
    try:
        down(n + 1)
    except RecursionError:
        pass
    try:
        time.sleep(100)  # on the tree: the limit ends the run in here
    except RecursionError:
        pass


down(0)
print("past the limit")
for i in range(5):
    setLEDs([WHITE] * getLEDCount())
"""


def test_cant_outlive_a_dry_runs_limit_by_running_out_of_stack_as_it_ends() -> None:
    predicted, real = dry_run_and_run(STOPS_THE_CLOCK, "stops-the-clock", LIMIT_S)
    assert (real.status, real.reason) == ("completed", "time_limit"), real.log
    error = predicted.error.model_dump() if predicted.error else None
    assert "past the limit" not in predicted.log, "the program ran on past its dry run's limit"
    assert (predicted.status, predicted.reason, predicted.duration_s) == (
        real.status,
        real.reason,
        LIMIT_S,
    ), f"the dry run predicted {predicted.status}/{predicted.reason} ({error})"
