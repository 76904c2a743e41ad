"""Red team, round forty-five: the flash limiter against frame timing.

The patterns of rounds seventeen, eighteen, twenty-one and twenty-three that the limiter holds
to six transitions a second at 40 frames a second, drawn here frame by frame as their programs
draw them (one step of the pattern per frame, whatever the time), fed to the real ``Protector``
(flash limiter on, the default power budget) at other timings: steady gaps of 15-120 ms, and
uneven gaps drawn from a seeded random generator. What it lets through is measured by
``tests/runner/light_meter.py``, over the region each round measures. Every finding is a strict
xfail: it fails today and must pass once fixed. The write-up with the figures is
``docs/red-team/round45-flash-timing.md``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import pytest

from runner.leds import Led
from runner.leds.layout import spiral_cone
from tests.hardening.flash_runs import (
    BLACK,
    MOST,
    RED,
    RED_FLASHES,
    TREE_CELLS,
    Frames,
    Position,
    Row,
    draw,
    frame_times,
    most_together,
    most_transitions,
    protect,
    stagger_groups,
    strobe_on,
    worked_out,
)
from tests.hardening.test_round17_flash import _staggered_quarter_shown_at, most_per_led
from tests.hardening.test_round18_flash import _mixed_red_rows, lowest_sixteenth
from tests.hardening.test_round21_flash import antiphase_red, mixed_red
from tests.hardening.test_round23_flash import ramping_red, red_in_classes

WHITE: Led = (255, 255, 255, 100)
# A pattern: its frames (this many) on these LEDs, and the light meter's worst count on what
# reached the LEDs (the most transitions in any one second over the pattern's region).
Pattern = tuple[list[Row], Callable[[Frames], int]]


def steady(gap_ms: float, seconds: float = 4.0) -> list[float]:
    """Gaps of ``gap_ms`` for ``seconds``."""
    return [gap_ms] * int(seconds * 1000 / gap_ms)


def uneven(low_ms: float, high_ms: float, seed: int, seconds: float = 4.0) -> list[float]:
    """Gaps drawn evenly from ``low_ms``-``high_ms`` (to a tenth of a millisecond), for
    ``seconds``: a program that sleeps a random while a frame, or a runner under load."""
    pick = random.Random(seed)
    gaps: list[float] = []
    while sum(gaps) < seconds * 1000:
        gaps.append(round(pick.uniform(low_ms, high_ms), 1))
    return gaps


def alternating(*gaps_ms: float, seconds: float = 4.0) -> list[float]:
    """``gaps_ms`` over and over, for ``seconds``: a program that sleeps, say, 0.1 s every other
    frame (or a frame shown late, then the next at once)."""
    return list(gaps_ms) * int(seconds * 1000 / sum(gaps_ms) + 1)


# --- the patterns, as their rounds draw them ---------------------------------------------------


def pinwheel(positions: Sequence[Position], frames: int) -> Pattern:
    """Round seventeen's pinwheel: eight groups, in every cell the half nearer the start of its
    quadrant q group q + 4 and the other half group q; group k on for four frames and off for
    four, a frame after group k - 1. Groups 0-3 are every other eighth of the tree round the
    trunk, half the tree, measured as one field."""
    group: list[int] = worked_out(  # type: ignore[assignment]
        TREE_CELLS
        + """
group = [-1] * n
for q in range(4):
    cells = cells_by_angle(q)
    for cell, k in zip(cells, halves_under_an_eighth(cells)):
        for i in cell[:k]:
            group[i] = q + 4
        for i in cell[k : 2 * k]:
            group[i] = q
""",
        positions,
    )["group"]
    rows = [[WHITE if g >= 0 and (f - g) % 8 < 4 else BLACK for g in group] for f in range(frames)]
    half = [i for i, g in enumerate(group) if 0 <= g < 4]
    return rows, lambda shown: most_transitions(shown, half)


def antiphase(positions: Sequence[Position], frames: int, on: Led) -> Pattern:
    """Round seventeen's quadrant halves in antiphase (groups 0 and 2 of ``stagger_groups``);
    measured per LED (every third of the quadrant) and on one half as a field."""
    group = stagger_groups(positions)
    rows = [
        [on if g in (0, 2) and (g == 0) == (f % 4 < 2) else BLACK for g in group]
        for f in range(frames)
    ]
    quarter = [i for i, g in enumerate(group) if g in (0, 2)]
    half = [i for i, g in enumerate(group) if g == 0]
    return rows, lambda shown: max(most_per_led(shown, quarter[::3]), most_transitions(shown, half))


def red_sixteenth(positions: Sequence[Position], frames: int, background: Led) -> Pattern:
    """Round eighteen's red sixteenth strobing at 10 Hz beside steady light."""
    red = lowest_sixteenth(positions)
    paint: Callable[[int], dict[int, Led]] = lambda f: dict.fromkeys(  # noqa: E731
        red, RED if strobe_on(f) else BLACK
    )
    rows = draw(len(positions), paint, background, frames)
    return rows, lambda shown: most_transitions(shown, red)


def red_beside_blue(positions: Sequence[Position], frames: int) -> Pattern:
    """Round eighteen's quarter of steady red LEDs beside blue ones blinking at 10 Hz."""
    group = stagger_groups(positions)
    quarter = [i for i, g in enumerate(group) if g in (0, 1)]
    return _mixed_red_rows(group, frames), lambda shown: most_transitions(shown, quarter)


def mixed_red_field(positions: Sequence[Position], frames: int) -> Pattern:
    """Round twenty-one's red quarter of mostly orange-red LEDs, beside steady green."""
    field, rows = mixed_red(len(positions), frames)
    return rows, lambda shown: most_transitions(shown, field)


def antiphase_sixteenths(positions: Sequence[Position], frames: int) -> Pattern:
    """Round twenty-one's two red sixteenths in antiphase: times a sixteenth flashed together."""
    leds = len(positions)
    rows = antiphase_red(leds, frames)
    return rows, lambda shown: most_together(shown, leds, leds / 16, [RED_FLASHES])


def red_classes(positions: Sequence[Position], frames: int) -> Pattern:
    """Round twenty-three's red quarter in two groups a frame apart, no two LEDs of a group
    neighbours, beside steady green."""
    field, rows = red_in_classes(len(positions), frames)
    return rows, lambda shown: most_transitions(shown, field)


def ramping(positions: Sequence[Position], frames: int) -> Pattern:
    """Round twenty-three's red field ramping under half a step a frame."""
    field, rows = ramping_red(len(positions), frames)
    return rows, lambda shown: most_transitions(shown, field)


PATTERNS: dict[str, Callable[[Sequence[Position], int], Pattern]] = {
    "pinwheel": pinwheel,
    "white halves in antiphase": lambda p, f: antiphase(p, f, WHITE),
    "red halves in antiphase": lambda p, f: antiphase(p, f, RED),
    "red sixteenth beside green": lambda p, f: red_sixteenth(p, f, (0, 255, 0, 100)),
    "red sixteenth beside white": lambda p, f: red_sixteenth(p, f, WHITE),
    "red beside blinking blue": red_beside_blue,
    "mostly orange red field": mixed_red_field,
    "red sixteenths in antiphase": antiphase_sixteenths,
    "red quarter in two classes": red_classes,
    "ramping red field": ramping,
}


def shown_at(name: str, leds: int, gaps_ms: Sequence[float]) -> tuple[int, int]:
    """The pattern's frames fed to the real Protector ``gaps_ms`` apart: the most transitions
    in one second over its region as drawn and as shown."""
    positions = spiral_cone(leds)
    rows, measure = PATTERNS[name](positions, len(gaps_ms) + 1)
    drawn, shown, _ = protect(rows, positions, power_budget=True, times=frame_times(gaps_ms))
    return measure(drawn), measure(shown)


def check(name: str, leds: int, gaps_ms: Sequence[float]) -> None:
    drawn, worst = shown_at(name, leds, gaps_ms)
    assert drawn > MOST, f"{name} does not flash at this timing as drawn: proves nothing"
    assert worst <= MOST, f"{worst} transitions in one second on the {name}"


# --- 1. a red quarter of mostly orange-red LEDs, every other frame just over 0.1 s --------------
#
# Round twenty-one's field (a quarter of the tree, one LED in eight saturated red, the rest
# orange-red, beside steady green; 2 frames on, 2 off) with gaps alternating 101 (or 105) ms and
# 15 ms. Found: 10 transitions in one second on 100 LEDs, one more than drawn (9: the blends
# toward the last frame add one); on 500 LEDs it holds (6). 150 of 392 alternating schedules let
# 7-10 through on 100 LEDs.
# Fixed (lead): "lately" reaches back to the frame shown last however long ago it came
# (``per_led.LedTransitions._since``; it stopped at SLOW_FRAME_S, 0.1 s, when this was found).
@pytest.mark.parametrize("slow_ms", [101.0, 105.0])
def test_a_mostly_orange_red_quarter_cant_strobe_with_every_other_frame_just_over_a_tenth(
    slow_ms: float,
) -> None:
    _, worst = shown_at("mostly orange red field", 100, alternating(slow_ms, 15.0))
    assert worst <= MOST, f"{worst} transitions in one second on the red field"


# --- 2. steady red beside blinking blue, frames alternately just over 0.1 s and 15 ms apart -------
#
# Round eighteen's quarter (steady red LEDs beside blue ones blinking at 10 Hz a frame, which
# flash red as a field though no LED does) with gaps alternating 101 (or 105) ms and 15 ms: every
# other frame comes more than SLOW_FRAME_S (0.1 s) after the one before, so "lately" never
# reaches back to it, and the 15 ms frame's one before is the long gap's. Found: 9 transitions
# in one second on 100 and 500 LEDs, exactly as drawn: the limiter holds back nothing. (111 of
# 392 alternating schedules of two or three gaps from 15, 25, 40, 60, 99, 101, 105 ms let 7-9
# through on 100 LEDs.)
# Fixed (lead): "lately" reaches back to the frame shown last however long ago it came
# (``per_led.LedTransitions._since``; it stopped at SLOW_FRAME_S, 0.1 s, when this was found).
@pytest.mark.parametrize("leds", [100, 500])
@pytest.mark.parametrize("slow_ms", [101.0, 105.0])
def test_a_quarter_cant_flash_red_beside_blinking_blue_with_every_other_frame_just_over_a_tenth(
    leds: int, slow_ms: float
) -> None:
    check("red beside blinking blue", leds, alternating(slow_ms, 15.0))


# --- 3. the staggered quarter, frames alternately 15 ms and 99 ms apart (or 101, 40, 25) --------
#
# Round seventeen's quarter strobing with its edges a frame apart drifts to 7-8 at some steady
# gaps (known, round seventeen's xfails). Alternating short and long gaps pairs the staggered
# edges in short gaps and the strobe's halves in long ones: 10 transitions in one second, on
# 100 and 500 LEDs, more than drawn (9 at 15/99 ms: the blends toward the last frame add one).
# Fixed 2026-12-03 (lead; strict xfails until then): the zones see the field's own mean, a
# second grid turned half a quadrant and a zone's change counted when LEDs holding 40 % of it
# moved the same way within two frames (docs/protection.md, "Zones").
@pytest.mark.parametrize("leds", [100, 500])
@pytest.mark.parametrize("gaps_ms", [(15.0, 99.0), (101.0, 40.0, 25.0)], ids=["15-99", "101-40-25"])
def test_the_staggered_quarter_cant_strobe_with_short_and_long_gaps_alternating(
    leds: int, gaps_ms: tuple[float, ...]
) -> None:
    worst = _staggered_quarter_shown_at(alternating(*gaps_ms), leds)
    assert worst <= MOST, f"{worst} transitions in one second on a quarter of the tree"


# --- 4. a red quarter in two classes, with uneven or alternating gaps --------------------------
#
# Round twenty-three's red quarter (two groups a frame apart, no two LEDs of a group neighbours,
# beside steady green), held at 40 frames a second, drifts like round seventeen's staggered
# quarter once the gaps vary: 9 transitions in one second at random gaps of 20-45 ms (seed 4),
# at gaps of 25, 25, 60 ms over and over, and at 40, 15, 101 ms; 8 at random gaps of 15-35 ms
# (seed 7); the same on 100 and 500 LEDs. 17 of 48 random schedules and 166 of 392 alternating
# ones let 7-9 through on 100 LEDs.
# Fixed 2026-12-03 on 500 LEDs (lead; strict xfails until then): the zones see the
# field's own mean, a second grid turned half a quadrant and a zone's change counted when LEDs
# holding 40 % of it moved the same way within two frames (docs/protection.md, "Zones").
@pytest.mark.parametrize(
    "leds",
    [
        pytest.param(
            100,
            marks=pytest.mark.xfail(
                strict=True,
                reason="red team round forty-five, open: with uneven or alternating gaps, a red "
                "quarter in two classes a frame apart beside steady green flashes 8-9 times a "
                "second (on 100 LEDs; held on 500 since 2026-12-03)",
            ),
        ),
        500,
    ],
)
@pytest.mark.parametrize(
    "gaps",
    [
        uneven(20, 45, 4),
        uneven(15, 35, 7),
        alternating(25.0, 25.0, 60.0),
        alternating(40.0, 15.0, 101.0),
    ],
    ids=["20-45ms-seed4", "15-35ms-seed7", "25-25-60ms", "40-15-101ms"],
)
def test_a_red_quarter_in_two_classes_cant_strobe_with_uneven_frame_gaps(
    leds: int, gaps: list[float]
) -> None:
    check("red quarter in two classes", leds, gaps)


# --- 5. a red quarter of mostly orange-red LEDs, frames 30-110 ms apart at random ---------------
#
# Round twenty-one's field (a quarter of the tree, one LED in eight saturated red, the rest
# orange-red, beside steady green; 2 frames on, 2 off) with gaps drawn evenly from 30-110 ms:
# about half the gaps are longer than SLOW_FRAME_S (0.1 s) or the frame before lies further
# back than RECENT_S. Found: 8 transitions in one second on 100 LEDs (3 of 12 seeds; 6 at every
# steady gap of 15-120 ms and on 500 LEDs).
# Fixed (lead): "lately" reaches back to the frame shown last however long ago it came
# (``per_led.LedTransitions._since``; it stopped at SLOW_FRAME_S, 0.1 s, when this was found).
@pytest.mark.parametrize("seed", [5, 9, 10])
def test_a_mostly_orange_red_quarter_cant_strobe_when_frames_come_30_to_110_ms_apart(
    seed: int,
) -> None:
    check("mostly orange red field", 100, uneven(30, 110, seed))


# --- 6. half the tree as a pinwheel, at steady frame rates other than 40 a second ---------------
#
# Round seventeen's pinwheel (half the tree lit over four frames and darkened over four) is held
# to 6 at 25 ms and 40 ms a frame, but not at 20 ms on 100 LEDs or at 27 and 35 ms on 500.
# Found: 7 transitions in one second on half the tree.
# Fixed 2026-12-03 on 100 LEDs (lead; a strict xfail until then): the zones see the field's own
# mean, a second grid turned half a quadrant and a zone's change counted when LEDs holding 40 %
# of it moved the same way within two frames (docs/protection.md, "Zones"). On 500 LEDs, open.
_PINWHEEL_OPEN = pytest.mark.xfail(
    strict=True,
    reason="red team round forty-five, open: at 27 or 35 ms a frame on 500 LEDs, half the tree "
    "lit over four frames and darkened over four flashes 7 times a second",
)


@pytest.mark.parametrize(
    ("leds", "gap_ms"),
    [
        (100, 20.0),
        pytest.param(500, 27.0, marks=_PINWHEEL_OPEN),
        pytest.param(500, 35.0, marks=_PINWHEEL_OPEN),
    ],
)
def test_half_the_tree_cant_flash_as_a_pinwheel_at_other_steady_frame_rates(
    leds: int, gap_ms: float
) -> None:
    check("pinwheel", leds, steady(gap_ms))


# Gaps of 60, 25, 25 ms over and over: 8 on 100 LEDs, where 7 are drawn.
@pytest.mark.xfail(
    strict=True,
    reason="red team round forty-five, open: with gaps of 60, 25, 25 ms over and over, half the "
    "tree lit over four frames and darkened over four flashes 8 times a second (7 drawn)",
)
def test_half_the_tree_cant_flash_as_a_pinwheel_with_gaps_of_60_25_25_ms() -> None:
    _, worst = shown_at("pinwheel", 100, alternating(60.0, 25.0, 25.0))
    assert worst <= MOST, f"{worst} transitions in one second on half the tree"


# Fixed 2026-12-03 (lead; strict xfails until then), as above.
@pytest.mark.parametrize("seed", [2, 3])
def test_half_the_tree_cant_flash_as_a_pinwheel_when_frames_come_20_to_45_ms_apart(
    seed: int,
) -> None:
    check("pinwheel", 100, uneven(20, 45, seed))


# --- 7. steady red beside blinking blue, frames 30-110 ms apart at random -----------------------
#
# Round eighteen's quarter (steady red LEDs beside blue ones blinking at 10 Hz, which flash red
# as a field though no LED does) is held at every steady gap (15-120 ms), but with gaps drawn
# from 30-110 ms: 7 transitions in one second, on 100 and 500 LEDs (2 of 12 seeds).
# Fixed (lead): "lately" reaches back to the frame shown last however long ago it came
# (``per_led.LedTransitions._since``; it stopped at SLOW_FRAME_S, 0.1 s, when this was found).
@pytest.mark.parametrize("leds", [100, 500])
@pytest.mark.parametrize("seed", [5, 10])
def test_a_quarter_cant_flash_red_beside_blinking_blue_when_frames_come_30_to_110_ms_apart(
    leds: int, seed: int
) -> None:
    check("red beside blinking blue", leds, uneven(30, 110, seed))


# --- 8. a red quarter in two classes, at 50 frames a second on 500 LEDs -------------------------
#
# Round twenty-three's red quarter (two groups a frame apart, no two LEDs of a group neighbours,
# beside steady green) is held at 40 frames a second, but at 20 ms a frame on 500 LEDs: 7.
@pytest.mark.xfail(
    strict=True,
    reason="red team round forty-five, open: at 50 frames a second on 500 LEDs, a red quarter "
    "in two classes a frame apart flashes 7 times a second",
)
def test_a_red_quarter_in_two_classes_cant_strobe_at_50_frames_a_second() -> None:
    check("red quarter in two classes", 500, steady(20.0))


# --- what held: every pattern at every steady gap tried -----------------------------------------
#
# On 100 LEDs, 4 s at each steady gap (a pattern drawn one step a frame flashes more than six
# times a second as drawn only at gaps up to about 90 ms: those are the gaps tried here, less
# the findings above).
HELD_GAPS_MS = (15.0, 20.0, 25.0, 27.0, 30.0, 35.0, 40.0, 45.0, 50.0, 60.0, 75.0)


@pytest.mark.parametrize("gap_ms", HELD_GAPS_MS)
@pytest.mark.parametrize("name", [name for name in PATTERNS if name != "pinwheel"])
def test_the_patterns_held_at_40_frames_a_second_hold_at_other_steady_rates(
    name: str, gap_ms: float
) -> None:
    drawn, worst = shown_at(name, 100, steady(gap_ms))
    assert worst <= MOST, f"{worst} transitions in one second on the {name}; {drawn} drawn"
