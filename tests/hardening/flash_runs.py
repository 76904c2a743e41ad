"""What the flash red-team rounds share: an ordinary program run on the real supervisor with the
flash limiter on, and the light meter's count over a part of the tree as one field."""

from __future__ import annotations

from collections.abc import Sequence

from runner.config import RunnerConfig
from runner.leds import Led
from runner.leds.virtual import VirtualStrip
from runner.supervise.supervisor import RunResult, Supervisor
from tests.runner.light_meter import (
    general_counts,
    luminance,
    most_in_one_second,
    red_counts,
    redness,
    series,
    transitions,
)

MOST = 6  # transitions in any one second: three flashes
Frames = list[tuple[float, Sequence[Led]]]
Position = tuple[float, float, float]


def run_program(source: str, positions: Sequence[Position], seconds: float = 2.0) -> Frames:
    """Run an ordinary program on the real supervisor (flash limiter on, the default power
    budget, 40 fps); the frames the LEDs got, with the time each was shown."""
    return run_report(source, positions, seconds)[0]


def run_report(
    source: str, positions: Sequence[Position], seconds: float = 2.0
) -> tuple[Frames, RunResult]:
    """``run_program``, and the run's report."""
    leds = len(positions)
    config = RunnerConfig(
        led_count=leds, fps=40.0, time_limit_s=seconds, view_fps=0.0, flash_limit=True
    )
    strip = VirtualStrip(leds, history=10_000)
    with strip, Supervisor(config, strip, positions) as tree:
        result = tree.run("flash", source)
        # What the program showed, not the blank of the strip's close after the test.
        shown: Frames = [(frame.at, frame.leds) for frame in strip.frames]
    assert (result.status, result.reason) == ("completed", "time_limit"), result.log
    assert len(shown) >= 30, "the program did not run: the test proves nothing"
    return shown, result


def most_transitions(frames: Frames, picked: Sequence[int]) -> int:
    """The most general or red transitions in any one second over the ``picked`` LEDs, measured
    as one field (their mean light)."""
    part = [(t, [leds[i] for i in picked]) for t, leds in frames]
    return max(
        most_in_one_second(transitions(series(part, measure), counts))
        for measure, counts in ((luminance, general_counts), (redness, red_counts))
    )
