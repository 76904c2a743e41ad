"""Red team, round twenty-three: the flash limiter's red neighbourhoods (``per_led.LedFields``).

The findings were strict xfails; all three are fixed (the markers are off; the write-up's Status
lines say how). Frames are fed to the real ``Protector`` (flash limiter on, power budget off,
40 frames a second); what it lets through is measured by ``tests/runner/light_meter.py``, which
shares no code with ``runner/protect``. The write-up with figures is
``docs/red-team/round23-flash.md``.

When found, a neighbourhood's red flash counted toward the area only where its own LED's red
moved by half a step (10) in a frame *with another LED of its neighbourhood moving the same way
in the same frame* (or where that was so in the last 40 ms). Findings 1 and 2 keep every
neighbourhood to one such LED a frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from runner.leds import Led
from runner.leds.colour import level_table
from runner.leds.layout import spiral_cone
from tests.hardening.flash_runs import (
    MOST,
    RED,
    Position,
    Row,
    cell_halves,
    draw,
    most_transitions,
    protect,
    strobe_on,
)

GREEN: Led = (0, 127, 0, 100)  # round twenty-one's steady green: it cancels each cell's mean red


def nearest(positions: Sequence[Position], size: int = 6) -> list[list[int]]:
    """Each LED and the ``size - 1`` LEDs nearest it in space (ties by strip order), worked out
    here in plain Python as a program could: what docs/protection.md calls a neighbourhood."""
    rows = []
    for p in positions:
        by_distance = sorted(
            range(len(positions)),
            key=lambda j: sum((a - b) ** 2 for a, b in zip(p, positions[j], strict=True)),
        )
        rows.append(by_distance[:size])
    return rows


# --- 1. a quarter strobing red, no two LEDs of a neighbourhood moving in the same frame ---------
#
# Two classes of the quarter's LEDs (round twenty-one's near halves of every cell of two
# neighbouring quadrants), each picked greedily so that no LED of a class is among another's
# five nearest, each a hair under a sixteenth of the tree: class A strobes full red at 10 Hz,
# class B the same a frame later. The LEDs on their own: one class moves in each frame (under
# RED_AREA), two frames under an eighth (RED_WIDE_AREA); the zones see steady green cancel each
# cell's mean red. The neighbourhoods see the quarter's red (a row with one full red LED lit is
# a mean of 53, over the step), but no LED's neighbourhood has a second LED moving with it in
# the same frame, so none counts toward the area. Found: the quarter (half its LEDs lit, a red
# measure of 0 -> 160 as one field) 21 red transitions in one second, no frame damped, on 100
# and 500 LEDs. Without the "moving together" gate the same frames are held to six.
def independent_classes(leds: int, field: list[int], cap: int) -> tuple[list[int], list[int]]:
    rows = nearest(spiral_cone(leds))
    inside = set(field)
    conflict: dict[int, set[int]] = {i: set() for i in field}
    for i in field:
        for j in rows[i][1:]:
            if j in inside:
                conflict[i].add(j)
                conflict[j].add(i)
    classes = []
    left = list(field)
    for _ in range(2):
        chosen: list[int] = []
        for i in left:
            if len(chosen) < cap and not conflict[i] & set(chosen):
                chosen.append(i)
        classes.append(chosen)
        left = [i for i in left if i not in chosen]
    return classes[0], classes[1]


def red_in_classes(leds: int, frames: int = 160) -> tuple[list[int], list[Row]]:
    field, _ = cell_halves(leds)
    a, b = independent_classes(leds, field, -(-leds // 16) - 1)

    def paint(frame: int) -> dict[int, Led]:
        lit = (a if strobe_on(frame) else []) + (b if strobe_on(frame, late=1) else [])
        return dict.fromkeys(lit, RED)

    return field, draw(leds, paint, GREEN, frames)


@pytest.mark.parametrize("leds", [100, 500])
def test_a_red_quarter_cant_strobe_with_no_two_leds_of_a_neighbourhood_moving_together(
    leds: int,
) -> None:
    field, frames = red_in_classes(leds)
    assert len(field) >= leds // 4 - 2, f"{len(field)} LEDs: the test proves nothing"
    drawn, shown, damped = protect(frames, spiral_cone(leds))
    assert most_transitions(drawn, field) >= 16, "the field does not flash: proves nothing"
    worst = most_transitions(shown, field)
    assert worst <= MOST, f"{worst} transitions in one second on {len(field)} LEDs; {damped} damped"


# --- 2. a red field ramping by under half a step a frame ----------------------------------------
#
# Round twenty-one's mixed field (a quarter: one LED in four saturated red, the rest orange-red,
# R / (R + G + B) under 0.8 on its own; steady green beside), now ramping: each LED's own red
# goes 0 -> 8.8 -> 17.6 -> 26.4 and back (under half a step, 10, in every frame), a period of six
# frames. No LED ever moves by half a step, so no neighbourhood counts toward the area; the LEDs
# on their own count only the saturated fourth (under a sixteenth). As one field the quarter is
# a saturated red whose red measure swings by 26 (over 20) 6.7 times a second. Found: 14 red
# transitions in one second on the quarter, no frame damped, on 100 and 500 LEDs.
SATURATED: Led = (255, 0, 0, 100)
ORANGE: Led = (122, 68, 0, 100)
RAMP = (0, 19, 27, 32)  # SATURATED's brightness for own red 0, 8.8, 17.6, 26.4
ORANGE_RAMP = (0, 45, 64, 78)  # ORANGE's, the same own red


def own_red(led: Led) -> float:
    """An LED's own red measure as hardware levels give it (``(R - G - B) * 320 / 255``)."""
    table = level_table(2.2)[led[3]]
    return (table[led[0]] - table[led[1]] - table[led[2]]) * 320 / 255


def ramping_red(leds: int, frames: int = 160) -> tuple[list[int], list[Row]]:
    field, _ = cell_halves(leds)
    steps = [0, 1, 2, 3, 2, 1]

    def paint(frame: int) -> dict[int, Led]:
        k = steps[frame % len(steps)]
        saturated, orange = SATURATED[:3] + (RAMP[k],), ORANGE[:3] + (ORANGE_RAMP[k],)
        return {i: saturated if n % 4 == 0 else orange for n, i in enumerate(field)}

    return field, draw(leds, paint, GREEN, frames)


@pytest.mark.parametrize("leds", [100, 500])
def test_a_red_field_cant_flash_by_ramping_under_half_a_step_a_frame(leds: int) -> None:
    steps = [own_red(SATURATED[:3] + (b,)) for b in RAMP]
    assert steps == [own_red(ORANGE[:3] + (b,)) for b in ORANGE_RAMP]
    pairs = zip(steps, steps[1:], strict=False)
    assert all(0 < later - earlier < 10 for earlier, later in pairs), steps
    field, frames = ramping_red(leds)
    drawn, shown, damped = protect(frames, spiral_cone(leds))
    assert most_transitions(drawn, field) >= 12, "the field does not flash: proves nothing"
    worst = most_transitions(shown, field)
    assert worst <= MOST, f"{worst} transitions in one second on {len(field)} LEDs; {damped} damped"


# --- 3. false positive: candy stripes marching along a tightly wound string ---------------------
#
# Red and white stripes of three LEDs marching along the string, eight LEDs a second (each LED
# changes colour 2.7 times a second: at most three transitions in any second, by the light
# meter), on a spiral of 25 turns (a string wound tightly, 8 and 20 LEDs a turn). Never damped
# at 3f6165c (before the neighbourhoods); now 93 of 160 frames (200 LEDs) and 88 (500): a
# neighbourhood there holds LEDs of the turns above and below, at other places in the stripes,
# so its mean red moves in more frames than any of its LEDs. On the default 7 turns: never.
def candy_cane(leds: int, frames: int = 160) -> list[Row]:
    white: Led = (255, 255, 255, 100)
    return [
        [RED if ((i + frame * 8 // 40) // 3) % 2 else white for i in range(leds)]
        for frame in range(frames)
    ]


@pytest.mark.parametrize("leds", [200, 500])
def test_candy_stripes_marching_along_a_tightly_wound_string_are_never_damped(leds: int) -> None:
    positions = spiral_cone(leds, 25)
    drawn, _, damped = protect(candy_cane(leds), positions)
    assert max(most_transitions(drawn, [i]) for i in range(0, leds, 7)) <= 3, "not ordinary"
    assert damped == 0, f"{damped} of 160 frames damped"
