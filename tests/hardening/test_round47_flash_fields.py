"""Red team, round forty-seven: fields cut along both grids of the flash limiter's zones.

Since 2026-12-03 the zones have a second grid of cells turned half a quadrant (45 degrees), so a
field cut along the first grid's lines (half of each cell in antiphase with the other half) lies
across the second grid's cells. Both grids' lines are multiples of 45 degrees round the trunk,
so a field cut into *pieces* of 45 degrees by a height band, each piece's two halves by angle in
antiphase, keeps the mean of every cell of both grids (and so of every zone) constant. What is
left to see it is the LEDs on their own (``runner.protect.per_led``), and their bars are areas
changing in one frame or two: a field whose edge is spread over two to four frames in groups of
a sixteenth or less passes them.

Frames are drawn here and fed to the real ``Protector`` (flash limiter on, power budget off) at
explicit times; what reached the LEDs is measured by ``tests/runner/light_meter.py`` over the
attacked region as one field. Findings are strict xfails: they fail today and must pass once
fixed. The write-up with the figures is ``docs/red-team/round47-flash-fields.md``.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence

import pytest

from runner.leds import Led
from runner.leds.layout import spiral_cone
from tests.hardening.flash_runs import (
    BLACK,
    MOST,
    RED,
    RED_FLASHES,
    Position,
    Row,
    frame_times,
    most_transitions,
    protect,
)

WHITE: Led = (255, 255, 255, 100)
Group = tuple[list[int], list[int]]  # LEDs on in the first half of the period, and the others


def pieces(positions: Sequence[Position]) -> dict[tuple[int, int], list[int]]:
    """The tree cut as both grids of the zones cut it together: four height bands of equal LED
    count times eight wedges of 45 degrees round the median LED (both grids' lines are
    multiples of 45 degrees), each piece's LEDs sorted by angle."""
    n = len(positions)
    band = [0] * n
    for rank, i in enumerate(sorted(range(n), key=lambda i: (positions[i][2], i))):
        band[i] = rank * 4 // n
    cx = statistics.median(p[0] for p in positions)
    cy = statistics.median(p[1] for p in positions)
    turn = [math.atan2(p[1] - cy, p[0] - cx) % math.tau for p in positions]
    cut: dict[tuple[int, int], list[int]] = {}
    for i in range(n):
        cut.setdefault((band[i], min(7, int(turn[i] / (math.tau / 8)))), []).append(i)
    for leds in cut.values():
        leds.sort(key=lambda i: turn[i])
    return cut


def trimmed(on: list[int], off: list[int], under: float) -> Group:
    """``on`` and ``off`` of equal LED count, each under ``under`` LEDs."""
    size = min(len(on), len(off))
    while size >= under:
        size -= 1
    return on[:size], off[:size]


def eighth_wedge(
    leds: int, groups: Sequence[Sequence[int]], under: float | None = None
) -> list[Group]:
    """The wedge of 45 degrees centred on the line between the first grid's first quadrant's
    two halves (the half of piece 0 and of piece 1 of every band nearer that line: a
    contiguous eighth of the tree, top to bottom), against the rest of that quadrant (the
    other halves), in groups of the bands ``groups`` names. ``under``: each group's two sides
    of equal LED count, under this share of the tree each, so that every cell of both grids
    keeps its mean; None: the wedge takes the middle LED of a piece of odd count (an eighth of
    the tree or a little more; the cells' means then move by an LED or two)."""
    cut = pieces(spiral_cone(leds))
    extra = 0 if under is not None else 1
    made = []
    for bands in groups:
        on: list[int] = []
        off: list[int] = []
        for band in bands:
            first, second = cut.get((band, 0), []), cut.get((band, 1), [])
            k, m = (len(first) + extra) // 2, (len(second) + extra) // 2
            on += first[len(first) - k :] + second[:m]
            off += first[: len(first) - k] + second[m:]
        made.append((on, off) if under is None else trimmed(on, off, under * leds))
    return made


def quarter_in_wedges(leds: int) -> list[Group]:
    """Four wedges of 22.5 degrees, the first half of each 45-degree piece of the first half of
    the tree by angle (a quarter of the tree), against the other halves; one group a wedge."""
    cut = pieces(spiral_cone(leds))
    made = []
    for wedge in range(4):
        on: list[int] = []
        off: list[int] = []
        for band in range(4):
            piece = cut.get((band, wedge), [])
            k = len(piece) // 2
            on += piece[:k]
            off += piece[len(piece) - k :]
        made.append(trimmed(on, off, leds / 16))
    return made


def strobe(
    leds: int, groups: Sequence[Group], frames: int, colour: Led = WHITE, half: int = 2
) -> list[Row]:
    """Each group's first LEDs on for ``half`` frames and off for ``half`` (the others the
    other way round), a frame after the group before."""
    rows = []
    for frame in range(frames):
        row: Row = [BLACK] * leds
        for late, (on, off) in enumerate(groups):
            lit = (frame - late) % (2 * half) < half
            for i in on:
                row[i] = colour if lit else BLACK
            for i in off:
                row[i] = BLACK if lit else colour
        rows.append(row)
    return rows


def uneven(low_ms: float, high_ms: float, seed: int, seconds: float = 4.0) -> list[float]:
    """Gaps drawn evenly from ``low_ms``-``high_ms`` (to a tenth of a millisecond)."""
    pick = random.Random(seed)
    gaps: list[float] = []
    while sum(gaps) < seconds * 1000:
        gaps.append(round(pick.uniform(low_ms, high_ms), 1))
    return gaps


SCHEDULES = {
    "40 fps": [25.0] * 160,
    "random 15-35 ms": uneven(15, 35, 3),
    "50 fps": [20.0] * 200,
    "40 and 10 ms in turn": [40.0, 10.0] * 80,
}
OPEN = "red team round forty-seven, open: "


# --- findings --------------------------------------------------------------------------------


# An eighth of the tree (a 45-degree wedge, top to bottom: 14 of 100 LEDs, 29 of 200, 64 of
# 500) strobing white at 10 Hz, its bottom half a frame before its top half, against the rest
# of its quadrant in antiphase. Today 7-8 transitions a second on 100 and 500 LEDs, on 200 LEDs
# 20 at 20 ms a frame and 11 with random gaps of 15-35 ms (84-143 of 161-201 frames damped).
# (Its sides made of equal LED count in every piece, 12 of 100 LEDs and 62 of 500, just under
# an eighth: 21 a second, no frame damped; docs/red-team/round47-flash-fields.md.)
@pytest.mark.xfail(
    strict=True, reason=OPEN + "an eighth cut along both grids, halves a frame apart"
)
@pytest.mark.parametrize(
    ("leds", "schedule"),
    [
        (100, "40 fps"),
        (100, "random 15-35 ms"),
        (200, "50 fps"),
        (200, "random 15-35 ms"),
        (500, "50 fps"),
        (500, "random 15-35 ms"),
    ],
)
def test_an_eighth_cut_along_both_grids_cant_strobe_with_its_halves_a_frame_apart(
    leds: int, schedule: str
) -> None:
    groups = eighth_wedge(leds, [(0, 1), (2, 3)])
    field = [i for on, _ in groups for i in on]
    assert len(field) >= leds / 8
    gaps = SCHEDULES[schedule]
    drawn, shown, _ = protect(
        strobe(leds, groups, len(gaps) + 1), spiral_cone(leds), times=frame_times(gaps)
    )
    assert most_transitions(drawn, field) > 2 * MOST  # the pattern is a strobe
    assert most_transitions(shown, field) <= MOST


# A quarter of the tree in four wedges of 22.5 degrees (every other half-piece of half the
# tree), each wedge a frame after the one before, on four frames and off four, against the
# other half-pieces in antiphase. Today: 10-11 transitions a second at 25-27 ms a frame, no
# frame damped, on 40, 100 and 500 LEDs (the code before 2026-12-03 the same).
@pytest.mark.xfail(strict=True, reason=OPEN + "a quarter in 22.5-degree wedges over four frames")
@pytest.mark.parametrize("leds", [40, 100, 500])
def test_a_quarter_in_wedges_cut_along_both_grids_cant_strobe_over_four_frames(leds: int) -> None:
    groups = quarter_in_wedges(leds)
    field = [i for on, _ in groups for i in on]
    assert len(field) >= leds / 8
    gaps = [25.0] * 160
    drawn, shown, _ = protect(
        strobe(leds, groups, len(gaps) + 1, half=4), spiral_cone(leds), times=frame_times(gaps)
    )
    assert most_transitions(drawn, field) > MOST + 2
    assert most_transitions(shown, field) <= MOST


# The eighth above strobing saturated red in four groups (one a height band) a frame apart, on
# four frames and off four: 11 red transitions a second at 40 fps, no frame damped, over a
# field of 11 of 100 LEDs (54 of 500), more than a sixteenth of the tree.
@pytest.mark.xfail(strict=True, reason=OPEN + "a red eighth cut along both grids, four frames")
@pytest.mark.parametrize("leds", [100, 500])
def test_a_red_eighth_cut_along_both_grids_cant_strobe_over_four_frames(leds: int) -> None:
    groups = eighth_wedge(leds, [(0,), (1,), (2,), (3,)], 1 / 32)
    field = [i for on, _ in groups for i in on]
    assert len(field) >= leds / 16
    gaps = [25.0] * 160
    drawn, shown, _ = protect(
        strobe(leds, groups, len(gaps) + 1, RED, half=4),
        spiral_cone(leds),
        times=frame_times(gaps),
    )
    assert most_transitions(drawn, field, [RED_FLASHES]) > MOST + 2
    assert most_transitions(shown, field, [RED_FLASHES]) <= MOST


# The same eighth strobing on its own (the rest of the quadrant dark, so the zones do see its
# mean), its bottom half a frame before its top half, with random gaps of 15-35 ms between
# frames: 8 transitions a second on 200 and 500 LEDs (94 of 160 frames damped). At 40 fps it
# is held (below).
@pytest.mark.xfail(strict=True, reason=OPEN + "an eighth alone, halves a frame apart, uneven gaps")
@pytest.mark.parametrize("leds", [200, 500])
def test_an_eighth_cant_strobe_alone_with_its_halves_a_frame_apart_with_uneven_gaps(
    leds: int,
) -> None:
    groups: list[Group] = [(on, []) for on, _ in eighth_wedge(leds, [(0, 1), (2, 3)])]
    field = [i for on, _ in groups for i in on]
    assert len(field) >= leds / 8
    gaps = SCHEDULES["random 15-35 ms"]
    drawn, shown, _ = protect(
        strobe(leds, groups, len(gaps) + 1), spiral_cone(leds), times=frame_times(gaps)
    )
    assert most_transitions(drawn, field) > 2 * MOST
    assert most_transitions(shown, field) <= MOST


# --- what held -------------------------------------------------------------------------------


# The eighth against the rest of its quadrant, all of it in one frame: the LEDs on their own
# see an eighth going each way at once (20-22 drawn, 6 shown, 56-64 of 160 frames damped).
@pytest.mark.parametrize("schedule", list(SCHEDULES))
@pytest.mark.parametrize("leds", [100, 500])
def test_an_eighth_cut_along_both_grids_strobing_in_one_frame_is_held(
    leds: int, schedule: str
) -> None:
    groups = eighth_wedge(leds, [(0, 1, 2, 3)])
    field = groups[0][0]
    gaps = SCHEDULES[schedule]
    drawn, shown, damped = protect(
        strobe(leds, groups, len(gaps) + 1), spiral_cone(leds), times=frame_times(gaps)
    )
    assert most_transitions(drawn, field) > 2 * MOST
    assert most_transitions(shown, field) <= MOST
    assert damped


# The eighth strobing on its own, its halves a frame apart, at 40 fps: 21 transitions a second
# drawn, 6 shown (85 of 161 frames damped), on 100, 200 and 500 LEDs.
@pytest.mark.parametrize("leds", [100, 200, 500])
def test_an_eighth_strobing_alone_with_its_halves_a_frame_apart_is_held_at_40_fps(
    leds: int,
) -> None:
    groups: list[Group] = [(on, []) for on, _ in eighth_wedge(leds, [(0, 1), (2, 3)])]
    field = [i for on, _ in groups for i in on]
    gaps = SCHEDULES["40 fps"]
    drawn, shown, _ = protect(
        strobe(leds, groups, len(gaps) + 1), spiral_cone(leds), times=frame_times(gaps)
    )
    assert most_transitions(drawn, field) > 2 * MOST
    assert most_transitions(shown, field) <= MOST


# Red and white stripes two or three LEDs wide marching along the string ten steps a second:
# every zone's mean stays put, each LED changes five times a second or fewer. Never damped
# (nor before 2026-12-03).
@pytest.mark.parametrize("width", [2, 3])
@pytest.mark.parametrize("leds", [40, 100, 500])
def test_marching_red_and_white_stripes_are_never_held_back(leds: int, width: int) -> None:
    rows = [
        [RED if (i + step) // width % 2 == 0 else WHITE for i in range(leds)] for step in range(40)
    ]
    drawn, shown, damped = protect(rows, spiral_cone(leds), times=frame_times([100.0] * 39))
    assert damped == 0
    assert [tuple(row) for _, row in shown] == [tuple(row) for _, row in drawn]
