"""The flash limiter keeps work it did for frames it sees again, and that changes nothing shown.

A strobe held back at the limit shows the same two frames again and again (the last frame, and
a blend one step toward the program's), so the limiter keeps its search for a blend, the blends
it made and the frames it found quiet, each valid while its swings stay as they were (their
revision count). Here a second limiter is made to forget all of that before every frame (its
revision moves on), and both must show the very same frames.
"""

from __future__ import annotations

import colorsys
import copy
import random
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.leds import Led
from runner.leds.layout import spiral_cone
from runner.protect import Protector
from runner.protect.flash import RedSwing
from runner.protect.light import pack

RED: Led = (255, 0, 0, 100)
BLUE: Led = (0, 0, 255, 100)
WHITE: Led = (255, 255, 255, 100)
BLACK: Led = (0, 0, 0, 100)
ORANGE: Led = (255, 120, 0, 100)

Program = Callable[[int, int, random.Random], tuple[Led, ...]]


def _strobe(a: Led, b: Led) -> Program:
    return lambda leds, k, rng: tuple([a if k % 2 else b] * leds)


def _halves(leds: int, k: int, rng: random.Random) -> tuple[Led, ...]:
    return tuple(RED if (i * 2 // leds + k) % 2 else BLUE for i in range(leds))


def _random_field(leds: int, k: int, rng: random.Random) -> tuple[Led, ...]:
    return tuple(WHITE if rng.random() < 0.5 else BLACK for _ in range(leds))


def _rainbow(leds: int, k: int, rng: random.Random) -> tuple[Led, ...]:
    out = []
    for i in range(leds):
        r, g, b = colorsys.hsv_to_rgb((i / leds + k * 0.03) % 1, 1, 1)
        out.append((int(r * 255), int(g * 255), int(b * 255), 100))
    return tuple(out)


PROGRAMS: dict[str, Program] = {
    "red/blue strobe": _strobe(RED, BLUE),
    "white/black strobe": _strobe(WHITE, BLACK),
    "red/black strobe": _strobe(RED, BLACK),
    "red/orange strobe": _strobe(RED, ORANGE),
    "halves in antiphase": _halves,
    "random field": _random_field,
    "rainbow": _rainbow,
}


def _shown(program: Program, leds: int, gaps: tuple[float, float], forget: bool) -> Iterator[bytes]:
    rng, timing = random.Random(7), random.Random(11)
    protector = Protector(leds, flash_limit=True, positions=spiral_cone(leds))
    now = 100.0
    for k in range(360):
        frame = program(leds, k, rng)
        if forget:  # the swings' revision moves on: nothing kept holds
            flash = protector._flash
            assert flash is not None
            flash._revision.count += 1
        now += timing.uniform(*gaps)
        yield pack(protector.apply(frame, now, packed=pack(frame)))
    yield repr(protector.stats).encode()


@pytest.mark.parametrize("leds", [40, 500])
@pytest.mark.parametrize("gaps", [(0.001, 0.002), (0.02, 0.05)], ids=["unpaced", "25-40 fps"])
@pytest.mark.parametrize("name", list(PROGRAMS))
def test_work_kept_between_frames_changes_no_frame_shown(
    name: str, gaps: tuple[float, float], leds: int
) -> None:
    kept = list(_shown(PROGRAMS[name], leds, gaps, forget=False))
    forgotten = list(_shown(PROGRAMS[name], leds, gaps, forget=True))
    assert len(kept) == len(forgotten)
    for k, (a, b) in enumerate(zip(kept, forgotten, strict=True)):
        assert a == b, f"frame {k} differs"


red_states = st.tuples(st.floats(0.0, 320.0), st.booleans())


@settings(max_examples=300, deadline=None)
@given(
    history=st.lists(st.tuples(red_states, st.floats(0.0, 0.3)), min_size=1, max_size=40),
    held=st.sampled_from([1.0, 0.5, 0.125]),
    where=st.floats(0.0, 1.0),
)
def test_a_saturated_red_in_a_swings_quiet_range_changes_nothing(
    history: list[tuple[tuple[float, bool], float]], held: float, where: float
) -> None:
    """The range ``lo`` .. ``red_hi`` lets a frame skip a saturated red zone's state: such a
    state must complete no transition, plain or not, and noting it must change nothing."""
    swing = RedSwing(held=held)
    now = 0.0
    for (value, saturated), gap in history:
        now += gap
        swing.note((value, saturated, (), None), now)
    if swing.red_hi < swing.lo:
        return  # empty: no state skips the swing
    value = swing.lo + where * (swing.red_hi - swing.lo)
    state = (value, True, (), None)
    assert swing.turn(state) == 0
    assert swing.turn(state, plain=True) == 0
    before = copy.deepcopy(vars(swing))
    swing.note(state, now)
    after = vars(swing)
    before.pop("revision"), after.pop("revision")
    assert after == before
