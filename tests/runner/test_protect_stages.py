"""The protection pipeline on its own: ``Protector.apply(frame, now)`` with times passed in.

Fast, no processes: frames go in, the frames the LEDs would get come out, and ``light_meter``
(independent of ``runner.protect``) measures them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.messages import Message
from runner.leds import Led
from runner.leds.layout import spiral_cone
from runner.leds.virtual import VirtualStrip
from runner.protect import Protector
from runner.server.display import TreeDisplay
from tests.runner.light_meter import (
    current_ma,
    general_counts,
    luminance,
    most_flashes_per_region,
    most_in_one_second,
    red_counts,
    redness,
    series,
    transitions,
)

WHITE: Led = (255, 255, 255, 100)
BLACK: Led = (0, 0, 0, 100)
MOST = 6  # transitions in any second: three flashes

leds = st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255), st.integers(0, 100))


@settings(max_examples=60, deadline=None)
@given(
    frame=st.lists(leds, min_size=1, max_size=300).map(tuple),
    budget_per_led=st.floats(1.5, 70.0),
)
def test_no_frame_leaves_over_budget_and_frames_within_it_are_untouched(
    frame: tuple[Led, ...], budget_per_led: float
) -> None:
    budget = budget_per_led * len(frame)
    protector = Protector(len(frame), max_current_ma=budget)
    out = protector.apply(frame, 0.0)
    assert current_ma(out) <= budget
    if current_ma(frame) <= budget:
        assert out is frame and protector.stats.frames_scaled == 0
    else:
        assert protector.stats.frames_scaled == 1
        # Uniform: brightness kept, no channel brighter than it was.
        assert all(o[3] == f[3] for o, f in zip(out, frame, strict=True))
        assert all(o[c] <= f[c] for o, f in zip(out, frame, strict=True) for c in range(3))


def test_scaling_keeps_the_colour_and_reports_how_far() -> None:
    frame = tuple([(255, 128, 0, 100), (0, 64, 255, 50)] * 250)
    protector = Protector(500, max_current_ma=4000)
    out = protector.apply(frame, 0.0)
    assert 3900 < current_ma(out) <= 4000
    (r, g, b, _), (r2, g2, b2, level) = out[:2]
    assert abs(g / r - 128 / 255) < 0.01 and b == 0  # orange stays orange
    assert r2 == 0 and abs(g2 / b2 - 64 / 255) < 0.02 and level == 50
    share = protector.stats.power_scale_min
    assert abs(share - (4000 - 500) / (current_ma(frame) - 500)) < 0.01


def test_a_frame_kept_from_the_leds_is_not_counted_in_the_run_report() -> None:
    # The supervisor protects a frame, then finds the deadline passed and never shows it: the
    # report counted it as scaled, one more than the frames shown (a flaky CLI test saw 40/39).
    protector = Protector(500, max_current_ma=4000, flash_limit=True)
    white = tuple([(255, 255, 255, 100)] * 500)
    protector.apply(white, 0.0, commit=False)
    assert (protector.stats.frames_scaled, protector.stats.power_scale_min) == (0, 1.0)
    protector.apply(white, 0.1, commit=False)
    protector.shown()
    assert protector.stats.frames_scaled == 1 and protector.stats.power_scale_min < 0.2
    protector.apply(white, 0.2, commit=False)  # judged, then a new run starts
    protector.reset_stats()
    protector.shown()
    assert protector.stats.frames_scaled == 0


def _strobe(hz: float, seconds: float, fps: float, on: Led, off: Led) -> list[tuple[float, Led]]:
    return [
        (i / fps, on if int(i / fps * 2 * hz) % 2 == 0 else off) for i in range(int(seconds * fps))
    ]


def _run(
    protector: Protector, timeline: list[tuple[float, Led]], count: int = 50
) -> list[tuple[float, tuple[Led, ...]]]:
    return [(t, protector.apply(tuple([led] * count), t)) for t, led in timeline]


def test_a_25_hz_strobe_at_100_fps_is_held_to_3_flashes_in_every_second() -> None:
    shown = _run(Protector(50, flash_limit=True), _strobe(25, 4.0, 100, WHITE, BLACK))
    times = transitions(series(shown, luminance), general_counts)
    assert len(times) >= 6 and most_in_one_second(times) <= 6


def test_damped_frames_lie_between_the_last_frame_and_the_wanted_one() -> None:
    protector = Protector(50, flash_limit=True)
    timeline = _strobe(10, 2.0, 40, WHITE, BLACK)
    shown = _run(protector, timeline)
    assert protector.stats.frames_damped > 0
    previous = luminance(shown[0][1]).value
    for (_, wanted), (_, got) in zip(timeline[1:], shown[1:], strict=True):
        target = luminance((wanted,)).value
        value = luminance(got).value
        assert min(previous, target) - 1e-9 <= value <= max(previous, target) + 1e-9
        previous = value


def test_slow_changes_and_a_single_flash_pass_untouched() -> None:
    protector = Protector(50, max_current_ma=8000, flash_limit=True)
    fade = [(i / 40, (255, 255, 255, round(100 * i / 80))) for i in range(81)]  # 2 s up
    flash = [(2 + i / 40, WHITE if i < 4 else BLACK) for i in range(40)]  # one 100 ms blink
    colours = [(3 + i / 40, ((255, 0, 0, 100), (0, 0, 255, 100))[i // 20 % 2]) for i in range(80)]
    for t, led in fade + flash + colours:
        frame = tuple([led] * 50)
        assert protector.apply(frame, t) is frame
    assert protector.stats.frames_damped == 0


def test_each_stage_can_be_switched_off() -> None:
    white = tuple([WHITE] * 500)
    assert Protector(500, max_current_ma=0, flash_limit=False).apply(white, 0.0) is white
    unlimited = Protector(500, max_current_ma=0, flash_limit=False)
    shown = _run(unlimited, _strobe(10, 1.0, 40, WHITE, BLACK), count=500)
    assert all(frame[0] in (WHITE, BLACK) for _, frame in shown)
    assert not unlimited.active and unlimited.stats.frames_damped == 0


def test_the_idle_display_protects_frames_set_directly_and_shows_viewers_the_same() -> None:
    sent: list[Message] = []
    with VirtualStrip(500) as strip:
        display = TreeDisplay(
            strip,
            [(0.0, 0.0, 0.0)] * 500,
            sent.append,
            protector=Protector(500, max_current_ma=5000),
        )
        display.hold([WHITE] * 500)
        shown = strip.current
    assert current_ma(shown) <= 5000 and shown[0][0] > 0
    assert sent and sent[-1].leds == [list(led) for led in shown]  # type: ignore[union-attr]


# Colours that make flashes: full and dim reds, orange-red, white, green, blue, black.
PALETTE = [
    (255, 0, 0, 100),
    (200, 10, 10, 60),
    (120, 0, 0, 100),
    (255, 40, 0, 100),
    WHITE,
    (255, 255, 255, 30),
    (0, 255, 0, 100),
    (0, 0, 255, 100),
    BLACK,
]
frames_of_20 = st.one_of(
    st.tuples(st.sampled_from(PALETTE), st.integers(0, 20)).map(
        lambda c: tuple([c[0]] * c[1] + [BLACK] * (20 - c[1]))
    ),
    st.lists(leds, min_size=20, max_size=20).map(tuple),
)


@settings(max_examples=100, deadline=None)
@given(
    steps=st.lists(st.tuples(st.floats(0.001, 0.2), frames_of_20), min_size=20, max_size=150),
    budget=st.sampled_from([0, 500]),
)
def test_no_sequence_of_frames_flashes_more_than_3_times_a_second(
    steps: list[tuple[float, tuple[Led, ...]]], budget: int
) -> None:
    # Palette colours on part of a 20-LED tree, or random LEDs, at random intervals.
    protector = Protector(20, max_current_ma=budget, flash_limit=True)
    shown, t = [], 0.0
    for gap, frame in steps:
        t += gap
        shown.append((t, protector.apply(frame, t)))
    for measure, counts in ((luminance, general_counts), (redness, red_counts)):
        assert most_in_one_second(transitions(series(shown, measure), counts)) <= 6


# Patterns that keep the whole tree's mean light steady while parts of it strobe at 10 Hz (40
# frames a second): the one-field model saw no flash in them. ``lit(position, t)``.
Pattern = Callable[[Sequence[float], float], bool]


def _phase(t: float) -> bool:
    return int(t * 20) % 2 == 0  # 10 flashes a second


def _quarter(p: Sequence[float]) -> int:
    """0..3 round the trunk: front right, back right, back left, front left."""
    right, back = p[0] >= 0, p[1] >= 0
    return (0, 1, 3, 2)[2 * (not right) + back]


ANTIPHASE: dict[str, Pattern] = {
    "top against bottom": lambda p, t: (p[2] >= 0.5) == _phase(t),
    "left against right": lambda p, t: (p[0] < 0) == _phase(t),
    # One quarter at a time, round and round the tree: each flashes 10 times a second.
    "four quarters in turn": lambda p, t: _quarter(p) == int(t * 40) % 4,
    "checkerboard of four blocks": lambda p, t: ((p[2] >= 0.5) != (p[0] < 0)) == _phase(t),
}


def _play(
    protector: Protector | None,
    positions: Sequence[Sequence[float]],
    pattern: Pattern,
    on: Led,
    seconds: float = 4.0,
) -> list[tuple[float, tuple[Led, ...]]]:
    shown = []
    for i in range(int(seconds * 40)):
        t = i / 40
        frame = tuple(on if pattern(p, t) else BLACK for p in positions)
        shown.append((t, frame if protector is None else protector.apply(frame, t)))
    return shown


@pytest.mark.parametrize("leds", [100, 500])
@pytest.mark.parametrize("on", [WHITE, (255, 0, 0, 100)], ids=["white", "red"])
@pytest.mark.parametrize("name", ANTIPHASE)
def test_parts_of_the_tree_strobing_in_antiphase_are_held_to_3_flashes_a_second(
    name: str, on: Led, leds: int
) -> None:
    positions = spiral_cone(leds)
    pattern = ANTIPHASE[name]
    # Unprotected, the parts flash 10 times a second while the whole tree's mean stays put.
    raw = most_flashes_per_region(_play(None, positions, pattern, on), positions)
    assert raw["whole tree"] < MOST and max(raw.values()) >= 16, raw
    protector = Protector(leds, flash_limit=True, positions=positions)
    shown = _play(protector, positions, pattern, on)
    most = most_flashes_per_region(shown, positions)
    # Four quarters in turn too: a half made of two quarters taking turns is held with them.
    assert max(most.values()) <= MOST, most
    # Damped toward the previous frame, not dropped: it still flashes, up to the limit.
    assert len(shown) == 160 and protector.stats.frames_damped > 0
    assert max(most.values()) >= 4, most


@pytest.mark.parametrize("leds", [100, 500])
@pytest.mark.parametrize("on", [WHITE, (255, 0, 0, 100)], ids=["white", "red"])
def test_a_small_sparkle_is_never_damped(on: Led, leds: int) -> None:
    # Three neighbouring LEDs strobing at 10 Hz over a dim green tree: a few points of light,
    # not a large flashing area, wherever they are on the tree.
    positions = spiral_cone(leds)
    for first in (0, leds // 3, leds // 2, leds - 3):
        protector = Protector(leds, flash_limit=True, positions=positions)
        for i in range(120):
            t = i / 40
            frame = tuple(
                on if first <= k < first + 3 and _phase(t) else (0, 80, 0, 40) for k in range(leds)
            )
            assert protector.apply(frame, t) is frame
        assert protector.stats.frames_damped == 0


@pytest.mark.parametrize("leds", [20, 40, 100, 500])
@pytest.mark.parametrize("width", [2, 3, 4, 6])
def test_red_and_white_stripes_marching_along_the_string_are_never_damped(
    leds: int, width: int
) -> None:
    # The candy cane example at ten steps a second: each LED turns red and white 2.5 times a
    # second, and a neighbourhood's red (per_led.LedFields) goes up and down by an LED's worth
    # as the stripes' edges pass it, one LED at a time. Red light moving is not a red flash.
    red: Led = (255, 0, 0, 100)
    protector = Protector(leds, flash_limit=True, positions=spiral_cone(leds))
    for step in range(80):
        frame = tuple(red if (i + step) // width % 2 == 0 else WHITE for i in range(leds))
        assert protector.apply(frame, step / 10) is frame, f"step {step}"
    assert protector.stats.frames_damped == 0


# Patterns of the limiter's own cells (four height bands of equal LED count times four
# quadrants round the trunk), computed here from the positions as a program would. Each names,
# per cell ``(band, quadrant)``, whether it is lit in the first phase and in the second.
CellPattern = Callable[[int, int], tuple[bool, bool]]

CELL_PATTERNS: dict[str, CellPattern] = {
    # The red team's: the checkerboard's bottom half and top half taking turns.
    "checkerboard taking turns by half": lambda b, q: (
        (b + q) % 2 == 0 and b < 2,
        (b + q) % 2 == 0 and b >= 2,
    ),
    # Two eighths of the tree in antiphase, side by side: the bottom half of one quadrant
    # against the bottom half of the next.
    "two eighths side by side": lambda b, q: (b < 2 and q == 0, b < 2 and q == 1),
    # And one above the other: half of the lowest band against its other half.
    "two eighths of a band": lambda b, q: (b == 0 and q < 2, b == 0 and q >= 2),
}


def _cells_of(positions: Sequence[Sequence[float]]) -> list[tuple[int, int]]:
    """Each LED's height band (of equal LED count) and quadrant (from the x axis round)."""
    order = sorted(range(len(positions)), key=lambda i: (positions[i][2], i))
    band = [0] * len(positions)
    for rank, i in enumerate(order):
        band[i] = rank * 4 // len(positions)
    quadrant = [
        min(3, int((math.atan2(p[1], p[0]) % math.tau) / (math.tau / 4))) for p in positions
    ]
    return list(zip(band, quadrant, strict=True))


def _play_cells(
    protector: Protector | None, positions: Sequence[Sequence[float]], name: str, on: Led
) -> list[tuple[float, tuple[Led, ...]]]:
    lit = [CELL_PATTERNS[name](b, q) for b, q in _cells_of(positions)]
    frames = [tuple(on if first else BLACK for first, _ in lit)]
    frames.append(tuple(on if second else BLACK for _, second in lit))
    shown = []
    for i in range(160):  # 4 s at 40 frames a second, 10 flashes a second
        t = i / 40
        frame = frames[0 if _phase(t) else 1]
        shown.append((t, frame if protector is None else protector.apply(frame, t)))
    return shown


def _regions(positions: Sequence[Sequence[float]], name: str) -> dict[str, list[int]]:
    """The flashing areas themselves (each phase's lit LEDs), measured besides the meter's
    halves and quarters."""
    lit = [CELL_PATTERNS[name](b, q) for b, q in _cells_of(positions)]
    return {
        "lit first": [i for i, (first, _) in enumerate(lit) if first],
        "lit second": [i for i, (_, second) in enumerate(lit) if second],
    }


def _assert_held_to_three_flashes(name: str, on: Led, leds: int) -> None:
    positions = spiral_cone(leds)
    regions = _regions(positions, name)
    # Unprotected: the whole tree's mean stays put while parts of it flash 10 times a second.
    raw = most_flashes_per_region(_play_cells(None, positions, name, on), positions, regions)
    assert raw["whole tree"] < MOST and max(raw.values()) >= 16, raw
    protector = Protector(leds, flash_limit=True, positions=positions)
    shown = _play_cells(protector, positions, name, on)
    most = most_flashes_per_region(shown, positions, regions)
    assert max(most.values()) <= MOST, (most, protector.stats.frames_damped)
    assert len(shown) == 160 and protector.stats.frames_damped > 0
    assert max(most.values()) >= 4, most  # damped, not blacked out: it still flashes


@pytest.mark.parametrize("leds", [100, 500])
@pytest.mark.parametrize("on", [WHITE, (255, 0, 0, 100)], ids=["white", "red"])
@pytest.mark.parametrize("name", CELL_PATTERNS)
def test_cells_taking_turns_are_held_to_3_flashes_a_second(name: str, on: Led, leds: int) -> None:
    _assert_held_to_three_flashes(name, on, leds)


@pytest.mark.parametrize("leds", [100, 500])
def test_a_checkerboard_taking_turns_by_half_is_held_to_three_flashes(leds: int) -> None:
    # The red team's finding as reported, full white: it passed undamped.
    _assert_held_to_three_flashes("checkerboard taking turns by half", WHITE, leds)


@pytest.mark.parametrize("leds", [100, 500])
def test_two_eighths_of_the_tree_in_antiphase_are_held_to_three_flashes(leds: int) -> None:
    _assert_held_to_three_flashes("two eighths side by side", WHITE, leds)


# Patterns finer than the limiter's cells: every zone's mean stays put, so only each LED's own
# count (runner.protect.per_led) sees them. ``lit(index, phase)`` -> the LED's colour.
FINE_PATTERNS: dict[str, Callable[[int, bool], Led]] = {
    # Every other LED along the string, white against black in antiphase: half the tree.
    "every other LED": lambda i, phase: WHITE if (i % 2 == 0) == phase else BLACK,
    # Every other LED strobing saturated red against a green as bright (no general flash)
    # beside steady white ones: every cell's mean has no red to speak of.
    "red beside white": lambda i, phase: (
        ((255, 0, 0, 100) if phase else (0, 147, 0, 100)) if i % 2 == 0 else WHITE
    ),
}


def _play_fine(
    protector: Protector | None, leds: int, name: str
) -> list[tuple[float, tuple[Led, ...]]]:
    frames = {phase: tuple(FINE_PATTERNS[name](i, phase) for i in range(leds)) for phase in (1, 0)}
    shown = []
    for i in range(160):  # 4 s at 40 frames a second, 10 flashes a second
        t = i / 40
        frame = frames[_phase(t)]
        shown.append((t, frame if protector is None else protector.apply(frame, t)))
    return shown


@pytest.mark.parametrize("leds", [100, 500])
@pytest.mark.parametrize("name", FINE_PATTERNS)
def test_a_pattern_finer_than_the_cells_is_held_to_3_flashes_a_second(name: str, leds: int) -> None:
    positions = spiral_cone(leds)
    regions = {"even LEDs": range(0, leds, 2), "odd LEDs": range(1, leds, 2)}
    raw = most_flashes_per_region(_play_fine(None, leds, name), positions, regions)
    assert raw["whole tree"] < MOST and raw["even LEDs"] >= 16, raw  # only the LEDs see it
    protector = Protector(leds, flash_limit=True, positions=positions)
    shown = _play_fine(protector, leds, name)
    most = most_flashes_per_region(shown, positions, regions)
    assert max(most.values()) <= MOST, (most, protector.stats.frames_damped)
    assert max(most.values()) >= 4, most  # damped, not blacked out: it still flashes
