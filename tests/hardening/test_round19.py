"""Red team, round nineteen: the runner's changes of round eighteen, attacked.

Every finding was a strict xfail until it was fixed (then the marker came off). Programs run
as ordinary tree programs in real sandbox children under the real ``Supervisor`` over a
recording ``VirtualStrip``, with the flash limiter on and the default power budget, 40 fps.
What reached the LEDs is measured by ``tests/runner/light_meter.py``, which shares no code with
``runner/protect``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

from runner.leds.layout import spiral_cone
from runner.supervise.check import Checker
from tests.hardening.confined_runs import config, dry_run, tree_run
from tests.hardening.test_round17_flash import most_transitions, run_report

MOST = 6  # transitions in any one second: three flashes
Position = tuple[float, float, float]

# --- 1. rising and falling together, between an eighth and three sixteenths -------------------
#
# Round eighteen split the per-LED bar: LEDs at their limit going *one way* must cover an eighth
# of the tree, rising and falling *added up* three sixteenths. Until then the two added up were
# held to an eighth. So just under an eighth of the tree rising while just under a sixteenth
# falls (and the other way round in the next frame) is never held back: 18 LEDs of 100 (93 of
# 500), more than an eighth of the tree, each strobing white at 20 Hz, spread two up and one
# down over every cell of the zones, so no cell's mean moves by three LEDs' worth and no zone
# counts anything (the whole tree's mean moves 0.06, under the step). WCAG adds up "the combined
# area of flashes occurring concurrently": here that is more than an eighth in every frame.
# Found: no frame damped; each of those LEDs, and the set as one field, 41 transitions in one
# second, on 100 and 500 LEDs (toggled every other frame: 21).
# Fixed: LEDs at their limit covering an eighth both ways are held back once an eighth of the
# tree among them has changed together in six frames of the window, and held LEDs may not move
# in groups of a thirty-second (the falling sixteenth sat just under half the bar).
SPREAD = """
import math


def spread(positions):
    n = len(positions)
    order = sorted(range(n), key=lambda i: (positions[i][2], i))
    band = [0] * n
    for rank, i in enumerate(order):
        band[i] = rank * 4 // n

    def middle(values):
        return sorted(values)[len(values) // 2]

    cx = middle([p[0] for p in positions])
    cy = middle([p[1] for p in positions])
    quadrant = [
        min(3, int((math.atan2(p[1] - cy, p[0] - cx) % math.tau) / (math.tau / 4)))
        for p in positions
    ]
    up_count = math.ceil(n / 8) - 1  # just under an eighth going one way
    down_count = math.ceil(3 * n / 16) - 1 - up_count  # both just under three sixteenths
    up, down = [], []
    cells = [
        [i for i in range(n) if band[i] == b and quadrant[i] == q]
        for b in range(4)
        for q in range(4)
    ]
    taken = set()
    while len(up) < up_count or len(down) < down_count:
        for cell in cells:
            free = [i for i in cell if i not in taken]
            for want, into in ((up_count, up), (up_count, up), (down_count, down)):
                if len(into) < want and free:
                    i = free.pop(0)
                    taken.add(i)
                    into.append(i)
    return up, down
"""

TOGETHER = (
    SPREAD
    + """
up, down = spread(getLEDPositions())
frame = 0
while True:
    leds = [BLACK] * len(getLEDPositions())
    for i in up:
        leds[i] = WHITE if frame % 2 == 0 else BLACK
    for i in down:
        leds[i] = BLACK if frame % 2 == 0 else WHITE
    setLEDs(leds)
    frame += 1
"""
)


def spread(positions: Sequence[Position]) -> tuple[list[int], list[int]]:
    """The LEDs going up and those going down, as the program works them out."""
    namespace: dict[str, object] = {}
    exec(SPREAD, namespace)
    picked: tuple[list[int], list[int]] = namespace["spread"](positions)  # type: ignore[operator]
    return picked


@pytest.mark.slow
@pytest.mark.parametrize("leds", [100, 500])
def test_more_than_an_eighth_cant_strobe_rising_and_falling_together(leds: int) -> None:
    positions = spiral_cone(leds)
    up, down = spread(positions)
    area = up + down
    assert len(area) > leds / 8, "the strobing area is no larger than an eighth"
    assert math.ceil(leds / 8) - 1 == len(up)
    shown, result = run_report(TOGETHER, positions)
    worst = max(most_transitions(shown, area), *(most_transitions(shown, [i]) for i in area))
    assert worst <= MOST, (
        f"{worst} transitions in one second over {len(area)} of {leds} LEDs; "
        f"{result.frames_damped} frames damped"
    )


# --- 2. fromHSV's argument errors name an internal function --------------------------------------
#
# Round eighteen made ``fromHSV`` a closure made by ``colours._from_hsv``; ``policy.make_globals``
# re-homes its code, and the code's qualified name comes with it. Python names a function by
# that in its own argument errors, so a program calling the API function with too few or too
# many arguments is told about ``_from_hsv.<locals>.fromHSV()``, a name that is in no program,
# the API (SPEC section 2) or plain Python's ``def fromHSV``. Until round eighteen it read
# ``fromHSV() missing 2 required positional arguments: 's' and 'v'``. Found: the tree run and
# the dry run both print ``_from_hsv.<locals>.fromHSV() missing 2 required positional
# arguments: 's' and 'v'``.
FROM_HSV_TOO_FEW = """try:
    fromHSV(0.5)
except TypeError as problem:
    print("refused:", problem)
try:
    fromHSV(0.5, 1.0, 1.0, 100, 7)
except TypeError as problem:
    print("refused:", problem)
"""


def test_fromhsv_argument_errors_name_fromhsv() -> None:
    assert Checker(config()).check(FROM_HSV_TOO_FEW) == []
    for run in (tree_run(FROM_HSV_TOO_FEW, "hsv-too-few"), dry_run(FROM_HSV_TOO_FEW)):
        assert run.reason != "killed", run.error
        assert "_from_hsv" not in run.log, run.log
        assert (
            "refused: fromHSV() missing 2 required positional arguments: 's' and 'v'" in run.log
        ), run.log
        assert (
            "refused: fromHSV() takes from 3 to 4 positional arguments but 5 were given" in run.log
        ), run.log
