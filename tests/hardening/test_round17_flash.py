"""Red team, round seventeen: the flash limiter with its per-LED count (``protect.per_led``).

Every finding is a strict xfail: it fails today and must pass once fixed (then the marker comes
off). Programs run as ordinary tree programs in real sandbox children under the real
``Supervisor`` over a recording ``VirtualStrip``, with the flash limiter on and the default power
budget; recorded frame sequences go through the real ``Protector``. What reached the LEDs is
measured by ``tests/runner/light_meter.py``, which shares no code with ``runner/protect``. The
write-up with figures is ``docs/red-team/round17-flash.md``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from runner.leds import Led
from runner.leds.layout import spiral_cone
from tests.hardening.flash_runs import (
    BLACK,
    MOST,
    STAGGER_GROUPS,
    TREE_CELLS,
    Frames,
    frame_times,
    most_transitions,
    protect,
    run_program,
    run_report,
    stagger_groups,
)

# --- 1. a quarter of the tree strobes at 10 Hz, its edges staggered by one frame --------------
#
# The per-LED count holds a frame back only when LEDs covering an eighth of the tree complete
# a transition *the same way in that frame*. A strobe whose switching is spread over two frames
# of 25 ms (far too fast for the eye to see as two) never has an eighth go the same way at
# once; and if, in every cell of the zones, as many LEDs go up as go down in each frame, no
# cell's mean moves, so no zone sees anything either. Four groups, each just under an eighth of
# the tree, in two neighbouring quadrants: in each cell of the first quadrant the half nearer
# the second quadrant is group 0 and the other half group 2; in the second quadrant group 1
# (nearer the first) and group 3. Group k is on for two frames and off for two, a frame after
# group k - 1: in each frame one group rises and the one opposite it in its quadrant falls.
# Groups 0 and 1 together are a contiguous quarter of the tree (less a few LEDs) around the
# border of the two quadrants, and it goes black, half, white, half, black ten times a second.
# Found: no frame damped, 21 transitions in one second on that quarter and on each of its LEDs,
# on 100 and 500 LEDs (the Protector alone, fed the frames: the same). Fixed in two steps: 21 ->
# 7 (LEDs at their limit within two frames may not cover a quarter), then 7 -> 6 (a field spread
# over frames stops its LEDs at their sixth transition, ``per_led.LedTransitions._staggered``).
STAGGERED = (
    STAGGER_GROUPS
    + """
frame = 0
while True:
    setLEDs([ON if g >= 0 and (frame - g) % 4 < 2 else BLACK for g in group])
    frame += 1
"""
)


@pytest.mark.slow
@pytest.mark.parametrize("leds", [100, 500])
@pytest.mark.parametrize("on", ["WHITE", "RED"])
def test_a_quarter_of_the_tree_cant_strobe_with_its_edges_staggered_by_a_frame(
    leds: int, on: str
) -> None:
    positions = spiral_cone(leds)
    shown = run_program(STAGGERED.replace("ON", on), positions)
    group = stagger_groups(positions)
    quarter = [i for i in range(leds) if group[i] in (0, 1)]
    assert len(quarter) >= leds // 4 - 4
    worst = most_transitions(shown, quarter)
    assert worst <= MOST, f"{worst} transitions in one second on a quarter of the tree"


# The same strobe as the LEDs got it in one run of the test above on a loaded machine (four busy
# loops and two copies of the test sharing 2 cores, 2026-12-03): the milliseconds between the
# frames as the supervisor stamped them, 74 frames. Fed to the real Protector, these times let 7
# transitions through in one second (so loaded, 3 of 50 live runs let 7 or 8 through, and 1 of
# 60 more; gaps drawn at random from 15-35 ms: 3 of 40 schedules, from 22-28 ms: 1 of 40; at a
# steady 25 ms, none).
#
# Why: the limiter stops the quarter at its sixth transition only when the LEDs at their fifth or
# later that move in one frame cover three sixteenths (``per_led.LedTransitions._staggered``); at
# a steady rate groups 2 and 3, in antiphase with 0 and 1 in their cells, reach their fifth in
# step with them and make up that area. Uneven gaps move the moments the first second's
# transitions leave the window, the groups' counts drift apart (2 and 3 at 3-4 while 0 and 1 are
# at 5-6), and the quarter is left alone: two groups just under an eighth each, a frame apart,
# which pass every bar (the known case below).
# The project's CI met it on 2026-12-03 (commit 84606d9): the test above let 7 through on 100 and
# on 500 LEDs. Fixed the same day (below): the zones now see the quarter's own mean.
JITTERED_GAPS_MS = (
    35.9, 20.0, 32.0, 24.0, 14.9, 33.1, 24.0, 31.2, 20.8, 24.0, 19.9, 32.1, 24.0, 23.9, 20.0,
    32.0, 24.0, 24.1, 27.9, 20.1, 27.9, 24.0, 28.1, 15.9, 32.1, 20.0, 31.9, 16.0, 32.1, 28.0,
    24.0, 23.6, 24.4, 28.0, 24.0, 24.0, 19.3, 32.7, 20.0, 28.0, 19.6, 24.4, 25.7, 30.3, 19.8,
    28.1, 22.0, 26.1, 24.0, 24.0, 28.0, 20.2, 22.8, 33.0, 23.9, 28.1, 17.1, 34.9, 20.0, 20.1,
    24.1, 27.8, 32.0, 25.2, 19.7, 23.1, 32.0, 15.0, 25.0, 28.0, 24.0, 28.0, 19.0,
)  # fmt: skip


def _staggered_quarter_shown_at(gaps_ms: Sequence[float], leds: int = 100) -> int:
    """The most transitions in one second on the staggered quarter, its frames given to the
    real Protector (flash limiter and the default power budget, as the supervisor has them)
    ``gaps_ms`` apart."""
    positions = spiral_cone(leds)
    group = stagger_groups(positions)
    white: Led = (255, 255, 255, 100)
    rows = [
        [white if g >= 0 and (number - g) % 4 < 2 else BLACK for g in group]
        for number in range(len(gaps_ms) + 1)
    ]
    _, shown, _ = protect(rows, positions, power_budget=True, times=frame_times(gaps_ms))
    return most_transitions(shown, [i for i in range(leds) if group[i] in (0, 1)])


def test_the_staggered_quarter_strobe_is_held_to_three_flashes_at_a_steady_frame_rate() -> None:
    assert _staggered_quarter_shown_at([25.0] * len(JITTERED_GAPS_MS)) <= MOST


# Found 2026-12-03 with the failure above: the rules for edges spread over frames looked back a
# fixed 40 ms, the frame before at 40 frames a second, so frames more than 40 ms apart (a program
# sleeping 40 ms or more a frame, or a runner slowed by load) never saw the frame before: 7
# transitions a second on the quarter at gaps of 45-90 ms. Fixed: "lately" reaches back to the
# frame shown last, however long ago (``per_led.LedTransitions._since``).
@pytest.mark.parametrize("gap_ms", [45.0, 50.0, 60.0, 90.0])
@pytest.mark.parametrize("leds", [100, 500])
def test_the_staggered_quarter_strobe_is_held_to_three_flashes_when_frames_come_slowly(
    leds: int, gap_ms: float
) -> None:
    worst = _staggered_quarter_shown_at([gap_ms] * int(3000 / gap_ms), leds)
    assert worst <= MOST, f"{worst} transitions in one second on a quarter of the tree"


# Found 2026-12-03, the same drift without any load: at a steady frame rate whose four-frame
# period does not divide the one-second window (27, 30, 35 or 40 ms a frame; 25 and 33 ms hold),
# the first second's transitions leave the window out of step with the new ones, the antiphase
# groups' counts drift apart, and from the second second on 8 transitions a second pass. A
# program that sleeps 10 ms a frame does this.
# Fixed 2026-12-03 (strict xfails until then), by counting the field itself rather than its LEDs:
# a second grid of zones turned half a quadrant, across which the quarter lies (``zones``), and a
# zone's change counted when LEDs holding 40 % of it moved the same way within the last two
# frames (``flash.COHERENT_LEDS``: the 100-LED tree's cells of six LEDs asked three of each).
@pytest.mark.parametrize("gap_ms", [27.0, 30.0, 35.0, 40.0])
@pytest.mark.parametrize("leds", [100, 500])
def test_the_staggered_quarter_strobe_is_held_to_three_flashes_at_any_steady_frame_rate(
    leds: int, gap_ms: float
) -> None:
    worst = _staggered_quarter_shown_at([gap_ms] * int(3000 / gap_ms), leds)
    assert worst <= MOST, f"{worst} transitions in one second on a quarter of the tree"


def test_the_staggered_quarter_strobe_is_held_to_three_flashes_with_uneven_frame_gaps() -> None:
    worst = _staggered_quarter_shown_at(JITTERED_GAPS_MS)
    assert worst <= MOST, f"{worst} transitions in one second on a quarter of the tree"


# Gaps drawn at random, as a loaded machine spaces the frames: before the fix, 7 of 40 schedules
# of 15-35 ms let 7 or 8 through on 100 LEDs, and 4 of 20 on 500 (these seeds among them).
@pytest.mark.parametrize(
    ("leds", "seed"), [(100, 2), (100, 4), (100, 8), (100, 16), (100, 29), (500, 2), (500, 16)]
)
def test_the_staggered_quarter_strobe_is_held_to_three_flashes_whatever_the_gaps(
    leds: int, seed: int
) -> None:
    rng = random.Random(seed)
    gaps = [rng.uniform(15.0, 35.0) for _ in range(100)]
    worst = _staggered_quarter_shown_at(gaps, leds)
    assert worst <= MOST, f"{worst} transitions in one second on a quarter of the tree"


# --- 1, at full scale: a pinwheel of half the tree at 5 Hz, its edges over four frames ---
#
# Eight groups: in every cell, the half by angle nearer the start of its quadrant q is group
# q + 4 and the other half group q (each group trimmed under an eighth of the tree). Group k is on
# for four frames and off for four, a frame after group k - 1; groups q and q + 4 share their
# cells and are in antiphase, so no cell's mean moves, and one group (under an eighth) goes each
# way in each frame. Groups 0-3, every other eighth of the tree around the trunk (a pinwheel of
# half the tree), light up over four frames and go dark over four, five times a second. Found: no
# frame damped, 11 transitions in one second on that half as one field and on each LED, with 96
# of 100 LEDs (494 of 500) flashing.
PINWHEEL = (
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
frame = 0
while True:
    setLEDs([WHITE if g >= 0 and (frame - g) % 8 < 4 else BLACK for g in group])
    frame += 1
"""
)


@pytest.mark.slow
@pytest.mark.parametrize("leds", [100, 500])
def test_half_the_tree_cant_flash_five_times_a_second_with_its_edges_over_four_frames(
    leds: int,
) -> None:
    positions = spiral_cone(leds)
    shown = run_program(PINWHEEL, positions, seconds=2.5)
    # The pinwheel's half: the LEDs lit when the program's frame 3 was shown (groups 0-3 on).
    lit = [i for i in range(leds) if shown[3][1][i] != (0, 0, 0, 100)]
    assert len(lit) >= leds // 2 - 8, f"{len(lit)} LEDs lit: the test proves nothing"
    worst = most_transitions(shown, lit)
    assert worst <= MOST, f"{worst} transitions in one second on half the tree"


# --- 2. the same quadrant's two halves in antiphase, each a hair under an eighth -----------------
#
# Without the stagger: groups 2 and 0 of ``stagger_groups`` (the two halves of every cell of one
# quadrant, each group under an eighth of the tree) white and black in turn, ten times a second.
# No cell's mean moves, and in each frame one group goes up and the other down: the per-LED count
# takes the larger of the two (``max(up, down)``), never their sum, though WCAG counts "the
# combined area of flashes occurring concurrently" (round ten's fix called for "the areas
# flashing in either direction added up"). Found: no frame damped; every LED of the quadrant,
# a quarter of the tree, and each half of it as one field, 21 transitions in one second, on 100
# and 500 LEDs, white and red.
ANTIPHASE = (
    STAGGER_GROUPS
    + """
frame = 0
while True:
    first = frame % 4 < 2
    setLEDs([ON if g in (0, 2) and (g == 0) == first else BLACK for g in group])
    frame += 1
"""
)


def most_per_led(frames: Frames, picked: Sequence[int]) -> int:
    """The most transitions in any one second of any one of the ``picked`` LEDs."""
    return max(most_transitions(frames, [i]) for i in picked)


@pytest.mark.slow
@pytest.mark.parametrize("leds", [100, 500])
@pytest.mark.parametrize("on", ["WHITE", "RED"])
def test_a_quarter_of_the_tree_cant_strobe_in_two_halves_in_antiphase(leds: int, on: str) -> None:
    positions = spiral_cone(leds)
    shown = run_program(ANTIPHASE.replace("ON", on), positions)
    group = stagger_groups(positions)
    quarter = [i for i in range(leds) if group[i] in (0, 2)]
    half = [i for i in range(leds) if group[i] == 0]
    worst = max(most_per_led(shown, quarter), most_transitions(shown, half))
    assert worst <= MOST, f"{worst} transitions in one second in a quarter of the tree"


# --- 3. on the default tree, a quadrant strobes grey, its two halves a frame apart ------------
#
# The same stagger needs no balancing where the zones cannot see a flash anyway. On the default
# 100-LED tree the cells hold about six LEDs, and a cell's change counts only at half its range
# (three LEDs' worth, docs/protection.md "Not covered": a flash of contrast below 0.5 there);
# the per-LED count was to close that. A quadrant strobing between black and a grey of
# luminance 0.38 (the whole tree's mean moves 0.095, under the step) is seen by no zone, and
# with its two halves (each under an eighth of the tree) switching a frame apart, by no frame of
# the per-LED count either. Found: no frame damped, 21 transitions in one second on the
# flashing quadrant (24 LEDs). On 500 LEDs the cells are large enough to count it (6).
DIM_QUADRANT = (
    TREE_CELLS
    + """
first_quadrant = sorted([i for i in range(n) if turn[i] < math.tau / 4], key=lambda i: turn[i])
k = min(len(first_quadrant) // 2, math.ceil(n / 8) - 1)
delay = [-1] * n
for i in first_quadrant[:k]:
    delay[i] = 0
for i in first_quadrant[k : 2 * k]:
    delay[i] = 1
GREY = (164, 164, 164, 100)
frame = 0
while True:
    setLEDs([GREY if d >= 0 and (frame - d) % 4 < 2 else BLACK for d in delay])
    frame += 1
"""
)


# Fixed 2026-12-03 (a strict xfail until then): a zone's change also counts when LEDs holding
# 40 % of it moved the same way within the last two frames (``flash.COHERENT_LEDS``).
@pytest.mark.slow
def test_a_quadrant_of_the_default_tree_cant_strobe_grey_with_its_halves_a_frame_apart() -> None:
    positions = spiral_cone(100)
    shown = run_program(DIM_QUADRANT, positions)
    pairs = zip(shown, shown[1:], strict=False)
    flashing = sorted({i for (_, a), (_, b) in pairs for i in range(100) if a[i] != b[i]})
    assert len(flashing) >= 20, f"only {len(flashing)} LEDs changed: the test proves nothing"
    worst = most_transitions(shown, flashing)
    assert worst <= MOST, f"{worst} transitions in one second on a quadrant of the tree"


# --- 4. moving light held back: a theatre chase ---------------------------------------------
#
# The marquee of Adafruit's NeoPixel strandtest (``theaterChase``: every third LED lit, the
# pattern stepping one LED along the string every 50 ms) is moving light, as docs/protection.md
# and ``runner.protect.per_led`` mean it: no part of the tree gets brighter or darker. But each
# LED is on for one step in three, 6.7 flashes a second of its own, and in every step a third
# of the tree's LEDs light together (those one ahead), so once the first second has filled each
# LED's window, the per-LED count holds back every frame in which the chase steps. A held-back
# frame is blended toward the last one: the lit LEDs half fade instead of moving, and the chase
# stutters and smears. Found: this program (a step every 50 ms and the frame slot: 20 steps a
# second) has 21-22 of its 60 frames in 3 s held back on 100 and 500 LEDs. Recorded frames, the
# Protector alone, 8 s at 40 fps: stepping every 2 frames, 164 of 320 frames damped on 100 and
# on 500 LEDs; every 3 frames, 84; every 5 frames (8 steps a second), none.
THEATRE_CHASE = """
import time

n = getLEDCount()
step = 0
while True:
    setLEDs([WARM_WHITE if (i + step) % 3 == 0 else BLACK for i in range(n)])
    step += 1
    time.sleep(0.05)
"""


def drawn(frames: Frames, colours: set[Led]) -> int:
    """How many frames show an LED in a colour the program never drew."""
    return sum(1 for _, leds in frames if not set(leds) <= colours)


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="red team round seventeen, by design and documented (docs/protection.md): each LED of "
    "a fast chase flashes more than three times a second, a third of the tree together",
)
@pytest.mark.parametrize("leds", [100, 500])
def test_a_theatre_chase_reaches_the_leds_as_drawn(leds: int) -> None:
    shown, result = run_report(THEATRE_CHASE, spiral_cone(leds), seconds=3.0)
    changed = drawn(shown, {(255, 180, 107, 100), (0, 0, 0, 100)})
    assert (result.frames_damped, changed) == (0, 0), (
        f"{result.frames_damped} of {len(shown)} frames held back, {changed} not as drawn"
    )


# --- 5. a candle flicker held back ----------------------------------------------------------
#
# The simplest fire: every LED orange, its brightness drawn at random between 70 and 100 % each
# frame. No area of the tree gets brighter or darker (a zone's mean stays within a few
# hundredths), but each LED's luminance moves between 0.14 and 0.30, so each LED on its own
# "flashes" many times a second, and in every frame about a third of the LEDs rise by the step
# (0.1) together: the per-LED count holds the flicker back, nearly always (the zones, which judge
# the areas, never do). Found (recorded frames, the Protector alone, 8 s): 238 of 320 frames
# damped on 100 LEDs, 310 on 500; at 50-100 %, 245 and 301; warm white at 60-100 %, 308 and 305.
# Through the supervisor, 3 s: 90 of 120 frames held back on 100 LEDs, 109 of 119 on 500.
# The fire in runner/examples eases each LED toward its random target and passes.
CANDLES = """
import random

n = getLEDCount()
while True:
    setLEDs([(255, 100, 0, random.randint(70, 100)) for _ in range(n)])
"""


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="red team round seventeen, by design and documented (docs/protection.md): every LED "
    "changing by more than a tenth of full light forty times a second is flashing, per LED",
)
@pytest.mark.parametrize("leds", [100, 500])
def test_a_candle_flicker_is_not_held_back(leds: int) -> None:
    shown, result = run_report(CANDLES, spiral_cone(leds), seconds=3.0)
    assert result.frames_damped <= len(shown) // 20, (
        f"{result.frames_damped} of {len(shown)} frames held back"
    )
