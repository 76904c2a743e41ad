"""Red team, round forty-eight: the work the flash limiter keeps between frames.

Since 2026-12-03 the limiter keeps work between frames (``runner.protect.flash``: the blend's
search ``_search``, the blends it made ``_candidates``, the frames found still or quiet in every
zone ``_still_frames`` / ``_quiet_frames``, all but the blends keyed on the swings' ``Revision``;
``runner.protect.per_led``: a ``Blend``'s measures per alpha, the last pair in
``LedTransitions.blend``, ``Verdict.still`` noted through ``_note_still``). All of it is claimed
to change no frame shown.

Each test here runs a program twice on the real ``Protector`` (flash limiter on): once as is, and
once on a limiter made to forget *everything* it keeps before every frame (the revision moved on,
the kept search, blends and frames dropped, the LEDs' trackers' kept blend pair dropped), so the
second recomputes all of it as the code before the change did. Unlike
``tests/runner/test_flash_kept_work.py`` it also drops the kept blends (``_candidates``, not keyed
on the revision), which is what makes a kept blend the very object shown last
(``light is self._last`` in ``FlashLimiter.limit``). Every attack held: these are regression
tests. The write-up with the figures is ``docs/red-team/round48-flash-kept-work.md``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from runner.leds import Led
from runner.leds.layout import spiral_cone
from runner.protect import Protector
from runner.protect.light import pack, unpack
from tests.runner.light_meter import most_flashes_per_region

Position = tuple[float, float, float]
# One step of a program: the frame drawn, when, whether it is shown at once (``commit``), and if
# not, when ``shown`` is called (None: never; "plain": without a time; or a time).
Step = tuple[tuple[Led, ...], float, bool, float | str | None]

RED: Led = (255, 0, 0, 100)
DARK_RED: Led = (100, 0, 0, 100)
ORANGE: Led = (255, 120, 0, 100)
WHITE: Led = (255, 255, 255, 100)
BLACK: Led = (0, 0, 0, 100)
YELLOW: Led = (255, 255, 0, 100)


def forget(protector: Protector) -> None:
    """Make the limiter drop all the work it keeps between frames."""
    flash = protector._flash
    assert flash is not None
    flash._revision.count += 1
    flash._search = None
    flash._candidates.clear()
    flash._still_frames.clear()
    flash._quiet_frames.clear()
    for tracker in (flash._each.each, flash._each.near):
        tracker._blend = None


def swings(protector: Protector) -> list[tuple[bool, int]]:
    """Each zone's swings as the next frame will be judged against them."""
    flash = protector._flash
    assert flash is not None
    return [(swing.tight, len(swing.times)) for pair in flash.swings for swing in pair]


def show(
    steps: Sequence[Step],
    positions: Sequence[Position],
    forgetting: bool,
    max_current_ma: float = 0.0,
) -> list[bytes]:
    """What a fresh protector shows for each step (packed), and its counts at the end."""
    protector = Protector(
        len(positions), flash_limit=True, positions=positions, max_current_ma=max_current_ma
    )
    shown = []
    for frame, now, commit, when in steps:
        if forgetting:
            forget(protector)
        shown.append(pack(protector.apply(frame, now, packed=pack(frame), commit=commit)))
        if not commit and when is not None:
            protector.shown(None if when == "plain" else float(when))
        # The swings as well: a kept blend shown last once went unjudged and left a red
        # swing's ``tight`` set where judging it would have cleared it (round 48's finding).
        shown.append(repr(swings(protector)).encode())
    shown.append(repr(protector.stats).encode())
    return shown


def assert_same(
    steps: Sequence[Step], positions: Sequence[Position], max_current_ma: float = 0.0
) -> list[bytes]:
    kept = show(steps, positions, False, max_current_ma)
    recomputed = show(steps, positions, True, max_current_ma)
    for k, (a, b) in enumerate(zip(kept, recomputed, strict=True)):
        assert a == b, f"entry {k} of {len(kept)}: the kept work changed the frame or a swing"
    return kept[::2]


def strobe_then_hold(
    a: Led, b: Led, leds: int, gap: float, strobe: int = 20, hold: int = 30, rounds: int = 3
) -> list[Step]:
    """A whole-tree strobe to the limit, then the frame it was held back from, drawn again and
    again: the blend creeps toward it until a step rounds back onto the frame shown last, and
    the kept blend is then the very frame shown (the limiter's shortcut for "nothing changes")."""
    steps: list[Step] = []
    now = 100.0
    for k in range(rounds * (strobe + hold)):
        now += gap
        colour = (a if k % 2 else b) if k % (strobe + hold) < strobe else a
        steps.append((tuple([colour] * leds), now, True, None))
    return steps


def kept_blend_reuses(steps: Sequence[Step], shown: Sequence[bytes]) -> int:
    """Frames damped onto the frame shown just before while the program drew the same frame
    again (where the kept blend is the frame shown last)."""
    return sum(
        1
        for k in range(1, len(steps))
        if steps[k][0] == steps[k - 1][0]
        and shown[k] == shown[k - 1]
        and shown[k] != pack(steps[k][0])
    )


@pytest.mark.parametrize("leds", [40, 100])
@pytest.mark.parametrize(
    "pair",
    [(RED, ORANGE), (ORANGE, RED), (RED, WHITE), (WHITE, BLACK), (DARK_RED, RED), (RED, YELLOW)],
    ids=["red-orange", "orange-red", "red-white", "white-black", "darkred-red", "red-yellow"],
)
def test_a_kept_blend_that_is_the_frame_shown_last_shows_what_a_new_blend_would(
    pair: tuple[Led, Led], leds: int
) -> None:
    steps = strobe_then_hold(*pair, leds=leds, gap=0.03)
    shown = assert_same(steps, spiral_cone(leds))
    assert kept_blend_reuses(steps, shown) >= 10  # the shortcut was taken


def test_a_strobe_drawn_in_repeated_frames_shows_the_same_with_kept_work_as_without() -> None:
    """A 10 Hz strobe drawn at 60 frames a second (each frame three times), of a band and the
    rest out of step, the rest drifting a little in saturated red: the held-back frame is asked
    again and again between the strobe's edges."""
    rng = random.Random(48)
    leds = 100
    band = leds // 4
    steps: list[Step] = []
    now = 100.0
    for k in range(200):
        now += rng.uniform(0.015, 0.018)
        edge = (k // 3) % 2
        rest = (20, 0, 0, 100) if k < 24 and (k // 3 + 1) % 2 else RED
        frame = tuple(
            ((200, 0, 0, 100) if edge else RED) if i < band else rest for i in range(leds)
        )
        steps.append((frame, now, True, None))
    shown = assert_same(steps, spiral_cone(leds))
    assert sum(a != pack(s[0]) for a, s in zip(shown, steps, strict=False)) > 10  # damped


@pytest.mark.parametrize("seed", range(6))
def test_frames_judged_and_never_shown_leave_no_kept_work_that_changes_a_frame(
    seed: int,
) -> None:
    """Frames judged with ``commit=False``, then shown late, shown without a time or never
    shown; ``now`` equal to the frame before or going back in time."""
    rng = random.Random(seed)
    leds = rng.choice([8, 40, 100])
    colours = [RED, ORANGE, WHITE, BLACK, DARK_RED, (255, 60, 60, 100)]
    a, b, c = rng.sample(colours, 3)
    steps: list[Step] = []
    now = 100.0
    for k in range(220):
        now += rng.choice([0.0, 0.016, 0.02, 0.03, 0.05])
        if rng.random() < 0.1:
            now -= rng.choice([0.01, 0.3])
        colour = (a if k % 2 else b) if (k // 40) % 2 == 0 else (a if rng.random() < 0.7 else c)
        commit = rng.random() < 0.7
        when: float | str | None = None
        if not commit:
            when = rng.choice([None, "plain", now + 0.02, now + 0.6, now - 0.01])
        steps.append((tuple([colour] * leds), now, commit, when))
    assert_same(steps, spiral_cone(leds))


@pytest.mark.parametrize("budget", [0.0, 1.0], ids=["no budget", "power budget"])
def test_the_same_light_from_another_brightness_byte_changes_no_frame_shown(
    budget: float,
) -> None:
    """Frames whose hardware levels repeat under another packed frame (brightness 99 and 100,
    a frame scaled by the power budget to the levels of another): kept work is keyed on the
    levels."""
    rng = random.Random(4848)
    leds = 60
    steps: list[Step] = []
    now = 100.0
    for k in range(240):
        now += rng.uniform(0.015, 0.04)
        base = (RED if k % 2 else WHITE) if k % 60 < 30 else RED
        level = rng.choice([100, 99, 98]) if rng.random() < 0.4 else 100
        frame = tuple((base[0], base[1], base[2], level) for _ in range(leds))
        steps.append((frame, now, True, None))
    assert_same(steps, spiral_cone(leds), max_current_ma=leds * 14.0 * budget)


@pytest.mark.parametrize("leds", [1, 2, 3, 5, 10])
@pytest.mark.parametrize("layout", ["cone", "strip"])
def test_tiny_trees_and_strips_show_the_same_with_kept_work_as_without(
    leds: int, layout: str
) -> None:
    positions: list[Position] = (
        [(0.0, 0.0, i / max(1, leds - 1)) for i in range(leds)]
        if layout == "strip"
        else [(x, y, z) for x, y, z, *_ in spiral_cone(leds)]
    )
    rng = random.Random(leds)
    steps: list[Step] = []
    now = 100.0
    for k in range(160):
        now += rng.choice([0.01, 0.02, 0.03])
        colour = (RED if k % 2 else ORANGE) if k % 50 < 20 else RED
        steps.append(
            (tuple(colour if i % 2 or k % 3 else DARK_RED for i in range(leds)), now, True, None)
        )
    assert_same(steps, positions)


def test_a_thousand_leds_show_the_same_with_kept_work_as_without() -> None:
    leds = 1200
    red, orange = tuple([RED] * leds), tuple([ORANGE] * leds)
    thirds = tuple(RED if i % 3 else DARK_RED for i in range(leds))
    steps: list[Step] = []
    now = 100.0
    for k in range(120):
        now += 0.02 if k % 5 else 0.0  # every fifth frame at the same time as the one before
        frame = (red if k % 2 else orange) if k < 24 else (orange if k < 60 else thirds)
        steps.append((frame, now, True, None))
    assert_same(steps, spiral_cone(leds))


@pytest.mark.parametrize(
    "pair", [(RED, ORANGE), (WHITE, BLACK), (DARK_RED, RED)], ids=["red-orange", "white", "red"]
)
def test_a_strobe_held_at_the_limit_on_a_kept_blend_stays_within_three_flashes(
    pair: tuple[Led, Led],
) -> None:
    """The light meter on what a held strobe shows while the kept blend is the frame shown."""
    leds = 100
    positions = spiral_cone(leds)
    steps = strobe_then_hold(*pair, leds=leds, gap=0.03)
    shown = show(steps, positions, False)[:-1:2]  # the frames, not the swings or counts
    frames = [(step[1], unpack(p)) for step, p in zip(steps, shown, strict=True)]
    most = most_flashes_per_region(frames, positions)
    assert max(most.values()) <= 6, most
