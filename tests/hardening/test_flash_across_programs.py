"""Red team, round six: the flash limit must hold across program boundaries.

The flash limiter (``runner.protect``, WCAG 2.3.1: at most three flashes in any one second)
judges a window of the last second of frames. ``Supervisor._run`` gives every run a fresh
``Protector``, so the window starts empty with each program: the last frames of one program
and the first of the next are never judged together. Programs run back to back (web starts the
next one as soon as the tree is free; one user may have three waiting, one address twenty),
so short programs that each flash three times, which each limiter allows, strobe the tree far
faster than three times a second. Found: six 6-frame programs (white, black, ... at 40 fps)
run one after another: 28 transitions (14 flashes) in one second on the LEDs, where 6 are
allowed. Ordinary programs; no escape needed.
"""

from __future__ import annotations

import time

import pytest

from runner.config import RunnerConfig
from runner.leds import LedFrame
from runner.leds.layout import spiral_cone
from runner.leds.virtual import VirtualStrip
from runner.supervise.supervisor import Supervisor
from tests.hardening.flash_runs import GENERAL_FLASHES, MOST, most_transitions

LEDS = 20

# Three flashes, as fast as the tree's frame rate lets it: one program's limiter lets them all
# through (six transitions, counting the first white after the previous program's black).
THREE_FLASHES = """
for i in range(6):
    setLEDs([WHITE if i % 2 == 0 else BLACK] * getLEDCount())
"""


def test_programs_run_back_to_back_cant_flash_the_tree_more_than_3_times_a_second() -> None:
    config = RunnerConfig(led_count=LEDS, fps=40.0, time_limit_s=5.0, flash_limit=True)
    strip = VirtualStrip(LEDS, history=10_000)
    with Supervisor(config, strip, spiral_cone(LEDS), prestart=True) as supervisor:
        for k in range(6):  # the queue: the next program starts as soon as the tree is free
            result = supervisor.run(f"flash-{k}", THREE_FLASHES)
            assert (result.status, result.reason) == ("completed", "ended"), result.log
    shown = [(frame.at, frame.leds) for frame in strip.frames]
    strip.close()
    most = most_transitions(shown, range(LEDS), [GENERAL_FLASHES])  # the whole tree as one field
    assert most <= MOST, f"{most} transitions in one second on the LEDs ({most // 2} flashes)"


# Found 2026-12-03 (a non-root `make test`: 7 transitions in one second here, once): the limiter
# stamped a frame with the time it judged it, and the LEDs showed it later. A stall between the
# two (the runner descheduled on a loaded machine) put a transition on the LEDs later than the
# limiter's window had it, so the window let the seventh through while the LEDs' last second
# still held six. Played here by a strip that stalls on one frame, as a loaded machine would.
class StallingStrip(VirtualStrip):
    """The virtual strip, stalling ``stall_s`` before it shows frame number ``at`` (counted
    from 0), as a runner descheduled between the flash limiter and the LEDs would."""

    def __init__(self, led_count: int, at: int, stall_s: float) -> None:
        super().__init__(led_count)
        self._at = at
        self._stall_s = stall_s
        self.written = 0

    def _write(self, frame: LedFrame) -> None:
        if self.written == self._at:
            time.sleep(self._stall_s)
        self.written += 1
        super()._write(frame)


STROBE = """
i = 0
while True:
    setLEDs([WHITE if i % 2 == 0 else BLACK] * getLEDCount())
    i += 1
"""


@pytest.mark.parametrize("at", [1, 2, 3])
def test_a_stall_before_the_leds_cant_squeeze_a_seventh_transition_into_their_second(
    at: int,
) -> None:
    config = RunnerConfig(led_count=LEDS, fps=40.0, time_limit_s=2.5, flash_limit=True)
    strip = StallingStrip(LEDS, at=at, stall_s=0.15)
    with Supervisor(config, strip, spiral_cone(LEDS)) as supervisor:
        result = supervisor.run("strobe", STROBE)
    assert (result.status, result.reason) == ("completed", "time_limit"), result.log
    shown = [(frame.at, frame.leds) for frame in strip.frames]
    most = most_transitions(shown, range(LEDS), [GENERAL_FLASHES])
    assert most <= MOST, f"{most} transitions in one second on the LEDs ({most // 2} flashes)"
