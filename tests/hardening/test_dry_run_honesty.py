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

from runner.config import RunnerConfig
from runner.leds.layout import spiral_cone
from runner.leds.virtual import VirtualStrip
from runner.supervise.preview import Previewer
from runner.supervise.supervisor import Supervisor

LEDS = 10
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


def _config() -> RunnerConfig:
    return RunnerConfig(led_count=LEDS, fps=40.0, time_limit_s=LIMIT_S, preview_cpu_s=1)


def test_cant_make_a_dry_run_predict_a_different_run_by_reading_its_clock() -> None:
    previewer = Previewer(_config(), spiral_cone(LEDS))
    try:
        predicted = previewer.preview(TWO_FACED)
    finally:
        previewer.close()
    with Supervisor(_config(), VirtualStrip(LEDS), spiral_cone(LEDS)) as supervisor:
        real = supervisor.run("two-faced", TWO_FACED)
    assert (real.status, real.reason) == ("completed", "time_limit"), real.log
    assert (predicted.status, predicted.reason) == (real.status, real.reason), (
        f"the dry run predicted {predicted.status}/{predicted.reason} after "
        f"{predicted.duration_s:.3f} s ({predicted.log.strip()!r}); the tree run was "
        f"{real.status}/{real.reason} after {real.duration_s:.1f} s with {real.frames} frames"
    )


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
    previewer = Previewer(_config(), spiral_cone(LEDS))
    try:
        predicted = previewer.preview(DRAWS_IN_ITS_ERROR)
    finally:
        previewer.close()
    with Supervisor(_config(), VirtualStrip(LEDS), spiral_cone(LEDS)) as supervisor:
        real = supervisor.run("draws-in-error", DRAWS_IN_ITS_ERROR)
    assert (real.status, real.reason) == ("completed", "time_limit")
    error = predicted.error.model_dump() if predicted.error else None
    assert predicted.reason != "crashed", f"the dry run blamed the sandbox: {error}"
    assert (predicted.status, predicted.reason) == (real.status, real.reason)
