"""One frame in flight: ``setLEDs`` returns once the frame *before* it has been taken.

The program computes its next frame while the parent reads, checks and shows this one, instead
of waiting a round trip per frame; the tree's pacing is unchanged (the parent ACKs a frame only
in its slot). The dry run's virtual clock must keep the same rhythm, or predictions drift.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from runner.config import RunnerConfig
from runner.leds.layout import spiral_cone
from runner.leds.virtual import VirtualStrip
from runner.supervise.preview import Previewer
from runner.supervise.supervisor import Supervisor

LEDS = 10
FPS = 4.0  # slots 250 ms apart: wide enough that scheduling noise cannot blur who waited
MakeConfig = Callable[..., RunnerConfig]

# Prints, for each setLEDs, when it returned (the program's own monotonic clock).
FIVE_FRAMES = """
import time
returned = []
for i in range(5):
    setLEDs([(i * 50, 0, 0, 100)] * getLEDCount())
    returned.append(time.monotonic())
print(" ".join(repr(t) for t in returned))
"""


def returns_of(log: str) -> list[float]:
    return [float(word) for word in log.split()]


def test_set_leds_returns_once_the_frame_before_it_is_shown_not_its_own(
    make_config: MakeConfig, strip: VirtualStrip
) -> None:
    config = make_config(fps=FPS, time_limit_s=5.0)
    with Supervisor(config, strip, spiral_cone(LEDS)) as supervisor:
        result = supervisor.run("s", FIVE_FRAMES)
    assert (result.status, result.reason, result.frames) == ("completed", "ended", 5), result
    returned = returns_of(result.log)
    shown = [frame.at for frame in strip.frames]
    assert [frame.leds[0][0] for frame in strip.frames] == [0, 50, 100, 150, 200]
    for k in range(1, 5):
        # Never more than one frame ahead of the tree: frame k-1 was taken in its slot (the
        # parent ACKs it there, then protects and shows it, a fraction of a millisecond later;
        # the slack is for a loaded machine, well under the 250 ms a frame further ahead gains).
        assert returned[k] >= shown[k - 1] - 0.1, (k, returned, shown)
    for k in range(1, 4):
        # ...and frame k still waits for its slot while the program goes on.
        assert returned[k] < shown[k] - 0.1, (k, returned, shown)
    # The tree's pace is the cap's, as before: slots on a fixed grid (a frame shown a little
    # late is followed by the next on its own slot, so one gap may be a little short), never
    # two frames closer than half a slot.
    gaps = [b - a for a, b in zip(shown, shown[1:], strict=False)]
    assert min(gaps) >= 0.5 / FPS, gaps
    assert (shown[-1] - shown[0]) / len(gaps) >= 0.99 / FPS, gaps


def test_a_dry_run_keeps_the_same_one_frame_rhythm(make_config: MakeConfig) -> None:
    config = make_config(fps=FPS, time_limit_s=5.0, preview_cpu_s=1)
    previewer = Previewer(config, spiral_cone(LEDS))
    try:
        report = previewer.preview(FIVE_FRAMES, 5.0)
    finally:
        previewer.close()
    assert (report.status, report.reason, report.frames) == ("completed", "ended", 5), report
    returned = returns_of(report.log)
    since_first = [t - returned[0] for t in returned]
    # Frame k (k >= 1) returns when frame k-1 is shown, at (k-1) slots after the first.
    for k in range(1, 5):
        assert since_first[k] == pytest.approx((k - 1) / FPS, abs=0.01), since_first
    # The run ends when the last frame is shown, a slot after the program's last return.
    assert report.duration_s == pytest.approx(4 / FPS, abs=0.03)
