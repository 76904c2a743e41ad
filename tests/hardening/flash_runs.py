"""What the flash red-team rounds share: an ordinary program run on the real supervisor with the
flash limiter on, drawn frames fed to the real ``Protector``, the tree programs' layouts of the
zones' cells (and the groups of LEDs the rounds strobe in them), and the light meter's counts:
over a part of the tree as one field, and of LEDs changing together."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence

from runner.config import RunnerConfig
from runner.leds import Led
from runner.leds.layout import spiral_cone
from runner.leds.virtual import VirtualStrip
from runner.protect import Protector
from runner.supervise.supervisor import RunResult, Supervisor
from tests.runner.light_meter import (
    Point,
    general_counts,
    luminance,
    most_in_one_second,
    red_counts,
    redness,
    series,
    transitions,
)

MOST = 6  # transitions in any one second: three flashes
FPS = 40  # frames a second, of the supervisor's runs and of the frames fed to a Protector
Frames = list[tuple[float, Sequence[Led]]]
Row = list[Led]  # one frame as drawn, without its time
Position = tuple[float, float, float]
# A light meter measure and the rule for which of its changes count as a transition.
Measure = tuple[Callable[[Sequence[Led]], Point], Callable[[Point, Point], bool]]
GENERAL_FLASHES: Measure = (luminance, general_counts)
RED_FLASHES: Measure = (redness, red_counts)
ALL_FLASHES: tuple[Measure, ...] = (GENERAL_FLASHES, RED_FLASHES)
BLACK: Led = (0, 0, 0, 0)
RED: Led = (255, 0, 0, 100)


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
        led_count=leds, fps=float(FPS), time_limit_s=seconds, view_fps=0.0, flash_limit=True
    )
    strip = VirtualStrip(leds, history=10_000)
    with strip, Supervisor(config, strip, positions) as tree:
        result = tree.run("flash", source)
        # What the program showed, not the blank of the strip's close after the test.
        shown: Frames = [(frame.at, frame.leds) for frame in strip.frames]
    assert (result.status, result.reason) == ("completed", "time_limit"), result.log
    assert len(shown) >= 30, "the program did not run: the test proves nothing"
    return shown, result


def most_transitions(
    frames: Frames, picked: Iterable[int], measures: Sequence[Measure] = ALL_FLASHES
) -> int:
    """The most general or red transitions (of ``measures``) in any one second over the
    ``picked`` LEDs, measured as one field (their mean light)."""
    chosen = list(picked)
    part = [(t, [leds[i] for i in chosen]) for t, leds in frames]
    return max(
        most_in_one_second(transitions(series(part, measure), counts))
        for measure, counts in measures
    )


def most_together(
    frames: Frames, count: int, area: float, measures: Sequence[Measure] = ALL_FLASHES
) -> int:
    """The most times in any one second at which LEDs covering ``area`` of the tree (of its
    ``count``) complete a transition together (each LED measured on its own by the light
    meter, rising and falling added up, as WCAG adds up "the combined area of flashes occurring
    concurrently")."""
    together: dict[float, set[int]] = {}
    for i in range(count):
        part = [(t, [leds[i]]) for t, leds in frames]
        for measure, counts in measures:
            for t in transitions(series(part, measure), counts):
                together.setdefault(t, set()).add(i)
    return most_in_one_second(sorted(t for t, leds in together.items() if len(leds) >= area))


# --- frames drawn in the test and fed to the real Protector -------------------------------------


def strobe_on(frame: int, late: int = 0) -> bool:
    """Whether a 10 Hz strobe (two frames on, two off), ``late`` frames behind, is on."""
    return ((frame - late) // 2) % 2 == 0


def draw(
    leds: int, paint: Callable[[int], Mapping[int, Led]], background: Led = BLACK, frames: int = 160
) -> list[Row]:
    """``frames`` rows of ``leds`` LEDs: ``background``, but for the LEDs ``paint(frame)`` names
    in their colours."""
    drawn = []
    for frame in range(frames):
        row = [background] * leds
        for i, colour in paint(frame).items():
            row[i] = colour
        drawn.append(row)
    return drawn


def protect(
    rows: Sequence[Sequence[Led]],
    positions: Sequence[Position],
    power_budget: bool = False,
    times: Sequence[float] | None = None,
) -> tuple[Frames, Frames, int]:
    """Feed ``rows`` (40 a second, or at ``times``) to a Protector with the flash limiter on
    (the power budget off, or the default one): the frames as drawn, as shown, and how many
    were damped."""
    config = RunnerConfig(led_count=len(positions), flash_limit=True)
    if not power_budget:
        config = dataclasses.replace(config, max_current_ma=0)
    protector = Protector.from_config(config, positions=positions)
    drawn: Frames = []
    shown: Frames = []
    damped = 0
    for number, row in enumerate(rows):
        at = number / FPS if times is None else times[number]
        out, held = protector.judge(tuple(row), at)
        damped += held
        drawn.append((at, row))
        shown.append((at, out))
    return drawn, shown, damped


def frame_times(gaps_ms: Sequence[float], start: float = 100.0) -> list[float]:
    """The times of frames ``gaps_ms`` apart, the first at ``start``: one more than the gaps."""
    times = [start]
    for gap in gaps_ms:
        times.append(times[-1] + gap / 1000)
    return times


# --- the zones' cells as a tree program works them out ------------------------------------------
#
# The start of a tree program: the zones' cells as ``runner.protect`` lays them out, four height
# bands of equal LED count (``band``) times four quadrants (``quadrant``) by each LED's angle
# round the median LED (``turn``); ``cells_by_angle(q)`` is quadrant ``q``'s four cells, each
# sorted by angle, and ``halves_under_an_eighth(cells)`` half of each cell's count, trimmed
# (the largest first) until they add up to under an eighth of the tree.
TREE_CELLS = """
import math

positions = getLEDPositions()
n = len(positions)
order = sorted(range(n), key=lambda i: (positions[i][2], i))
band = [0] * n
for rank, i in enumerate(order):
    band[i] = rank * 4 // n


def median(values):
    values = sorted(values)
    half = len(values) // 2
    return values[half] if len(values) % 2 else (values[half - 1] + values[half]) / 2


cx = median([p[0] for p in positions])
cy = median([p[1] for p in positions])
turn = [math.atan2(p[1] - cy, p[0] - cx) % math.tau for p in positions]
quadrant = [min(3, int(a / (math.tau / 4))) for a in turn]


def cells_by_angle(q):
    return [
        sorted([i for i in range(n) if band[i] == b and quadrant[i] == q], key=lambda i: turn[i])
        for b in range(4)
    ]


def halves_under_an_eighth(cells):
    halves = [len(cell) // 2 for cell in cells]
    while sum(halves) >= n / 8:
        halves[halves.index(max(halves))] -= 1
    return halves
"""

# Round seventeen's four groups (``group``, each LED's; -1: dark), each just under an eighth of
# the tree, in two neighbouring quadrants: in each cell of the first quadrant the half nearer the
# second quadrant is group 0 and the other half group 2; in the second quadrant group 1 (nearer
# the first) and group 3. Groups 0 and 1 together are a contiguous quarter of the tree (less a
# few LEDs) around the border of the two quadrants.
STAGGER_GROUPS = (
    TREE_CELLS
    + """
group = [-1] * n
for q, first, second in ((0, 2, 0), (1, 1, 3)):
    cells = cells_by_angle(q)
    for cell, k in zip(cells, halves_under_an_eighth(cells)):
        chosen = cell[len(cell) - 2 * k :] if q == 0 else cell[: 2 * k]
        for i in chosen[:k]:
            group[i] = first
        for i in chosen[k:]:
            group[i] = second
"""
)

# Round eighteen's halves of every cell, per quadrant: ``first[q]`` (the half nearer the end of
# quadrant 0, the start of the others) and ``second[q]`` (the other half).
BURST_HALVES = (
    TREE_CELLS
    + """
first = [[] for _ in range(4)]  # per quadrant: on first in its burst
second = [[] for _ in range(4)]  # per quadrant: lit between bursts, in antiphase in its burst
for q in range(4):
    for cell in cells_by_angle(q):
        k = len(cell) // 2
        near_start, near_end = cell[:k], cell[len(cell) - k :]
        first[q] += near_end if q == 0 else near_start
        second[q] += near_start if q == 0 else near_end
"""
)


def worked_out(program: str, positions: Sequence[Position]) -> dict[str, object]:
    """The globals a tree program's setup (no drawing) leaves, run here on ``positions``."""
    namespace: dict[str, object] = {"getLEDPositions": lambda: positions}
    exec(program, namespace)
    return namespace


def stagger_groups(positions: Sequence[Position]) -> list[int]:
    """Each LED's group as ``STAGGER_GROUPS`` works it out (-1: dark)."""
    groups: list[int] = worked_out(STAGGER_GROUPS, positions)["group"]  # type: ignore[assignment]
    return groups


def burst_halves(positions: Sequence[Position]) -> tuple[list[list[int]], list[list[int]]]:
    """``first`` and ``second`` of each quadrant, as ``BURST_HALVES`` works them out."""
    halves = worked_out(BURST_HALVES, positions)
    first: list[list[int]] = halves["first"]  # type: ignore[assignment]
    second: list[list[int]] = halves["second"]  # type: ignore[assignment]
    return first, second


def cell_halves(leds: int, quadrants: int = 2) -> tuple[list[int], list[int]]:
    """The near halves (``first``) and the far halves (``second``) of every cell of the first
    ``quadrants`` quadrants of the spiral cone, each sorted; with two, the near halves are a
    contiguous quarter of the tree."""
    first, second = burst_halves(spiral_cone(leds))
    near = sorted(i for q in range(quadrants) for i in first[q])
    far = sorted(i for q in range(quadrants) for i in second[q])
    return near, far
