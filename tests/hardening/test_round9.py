"""Red team, round nine: the newest runner code (garbage schedule, flash zones, dry-run clock).

Ordinary tree programs (accepted by the RestrictedPython policy), run by a real ``Supervisor``
and ``Previewer`` in real confined children, no mocks. ``docs/red-team/round9.md`` has the
reproductions, what held, and the suggested fixes; the numbers below are its findings'.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable, Sequence

import pytest

from runner.config import RunnerConfig
from runner.leds import Led
from runner.leds.layout import normalise, spiral_cone
from runner.leds.virtual import VirtualStrip
from runner.supervise.preview import Previewer
from runner.supervise.supervisor import Supervisor
from tests.runner.light_meter import (
    general_counts,
    luminance,
    most_in_one_second,
    red_counts,
    redness,
    series,
    transitions,
)

LEDS = 10
MOST = 6  # transitions in any one second: three flashes

# --- 3. a program's cyclic garbage is never collected until it first shows a frame ------------
#
# ``runner.sandbox.garbage`` turns the automatic collector off while a program runs and collects
# only at ``setLEDs`` and ``time.sleep``. An ordinary program that works out something before
# its first frame, with objects that point at each other (tree nodes that know their parent,
# the most ordinary of data structures), drops ~1,500 such trees of 2,047 nodes: under CPython
# each is collected soon after it is dropped and the program peaks at a few MB; here none is,
# and the child hits its 256 MiB address-space limit after ~1 s. Found: "failed /
# memory_limit, the program ran out of memory" in every run (3 of 3); the same source under
# plain CPython 3.11 with the same RLIMIT_AS completes in 3.5 s. The dry run fails the same
# way, so the program is refused before it reaches the tree, told it ran out of memory while
# it never held more than one tree of nodes at a time.
CYCLIC_SEARCH = """
import random


class Node:
    def __init__(self, parent):
        self.parent = parent
        self.children = []
        self.value = random.random()
        if parent is not None:
            parent.children.append(self)


def build(depth):
    root = Node(None)
    level = [root]
    for _ in range(depth):
        nxt = []
        for n in level:
            nxt.append(Node(n))
            nxt.append(Node(n))
        level = nxt
    return root, level


best = 0.0
for attempt in range(1500):
    root, leaves = build(10)
    best = max(best, sum(leaf.value for leaf in leaves))
print("best", round(best))
setLEDs([(0, int(best) % 256, 0)] * getLEDCount())
"""


@pytest.mark.xfail(
    strict=True,
    reason="red team round nine, known and documented (runner/README.md, 'Memory that refers "
    "to itself'): the collector is off between setLEDs/sleep calls, so cyclic garbage made "
    "before the first frame is never collected and this program runs out of memory",
)
def test_an_ordinary_programs_dropped_cycles_are_collected_before_it_runs_out_of_memory() -> None:
    config = RunnerConfig(led_count=LEDS, fps=40.0, time_limit_s=20.0)
    with Supervisor(config, VirtualStrip(LEDS), spiral_cone(LEDS)) as tree:
        result = tree.run("cyclic-search", CYCLIC_SEARCH)
    assert result.reason != "memory_limit", (
        f"{result.status}/{result.reason} after {result.duration_s:.1f} s: {result.error}"
    )
    assert (result.status, result.reason) == ("completed", "ended"), result.log
    assert "best" in result.log


# --- 2. halves of a tree of eight LEDs or fewer strobe in antiphase, undamped -----------------
#
# ``runner.protect.zones`` says the zones are the same on a tree of any LED count, and that
# halves in antiphase are always seen at full contrast by some zone. A zone needs four cells
# with LEDs in them, though, and on a tree of a few LEDs most halves have fewer: on the default
# spiral with 8 LEDs the limiter judges only the whole tree and one side (6 LEDs: the whole
# tree and two sides), so round eight's antiphase pattern, top half white while the bottom is
# black and back ten times a second, keeps the whole tree's mean constant and no judged zone
# sees it. Found: 40 frames in 2 s, none damped, 20 transitions in one second on each half
# (by ``tests/runner/light_meter.py``), on 2, 3, 4, 6 and 8 LEDs (8 LEDs: 3 runs of 3);
# 10 LEDs and up: 6.
SMALL_TREE_ANTIPHASE = """
import time

positions = getLEDPositions()
top = [z >= 0.5 for x, y, z in positions]
on = False
while True:
    on = not on
    setLEDs([WHITE if top[i] == on else BLACK for i in range(len(positions))])
    time.sleep(0.05)
"""


def _most_transitions(frames: Sequence[tuple[float, Sequence[Led]]], picked: list[int]) -> int:
    """The most general or red transitions in one second over the ``picked`` LEDs."""
    part = [(t, [leds[i] for i in picked]) for t, leds in frames]
    return max(
        most_in_one_second(transitions(series(part, measure), counts))
        for measure, counts in ((luminance, general_counts), (redness, red_counts))
    )


@pytest.mark.slow
def test_halves_of_an_eight_led_tree_cant_strobe_in_antiphase() -> None:
    leds = 8
    config = RunnerConfig(
        led_count=leds, fps=40.0, time_limit_s=2.0, view_fps=0.0, flash_limit=True
    )
    strip = VirtualStrip(leds, history=10_000)
    positions = spiral_cone(leds)
    with strip, Supervisor(config, strip, positions) as tree:
        result = tree.run("small-antiphase", SMALL_TREE_ANTIPHASE)
        shown = [(frame.at, frame.leds) for frame in strip.frames]
    assert (result.status, result.reason) == ("completed", "time_limit"), result.log
    assert len(shown) >= 30, "the program did not run: the test proves nothing"
    top = [i for i, p in enumerate(positions) if p[2] >= 0.5]
    bottom = [i for i in range(leds) if i not in top]
    worst = max(_most_transitions(shown, top), _most_transitions(shown, bottom))
    assert worst <= MOST, f"{worst} transitions in one second on half of an {leds}-LED tree"


# --- 4. a dry run's CPU clock starts ~30 ms later than the tree's -----------------------------
#
# A dry run's ``time.process_time`` counts all the CPU time the child spent before the program
# (``VirtualClock._exact_cpu``: "a tree run builds and calibrates this clock too"). Since the
# last two commits a tree run no longer does: it skips the clock's calibration (~8 ms) and the
# CPU tick's measurement (~24 ms, now only in background children), while a dry run still
# spends both and counts both. Found (12 interleaved pairs, prestarted children as the server
# makes them): the first ``process_time()`` of a program was 0.110-0.153 s in dry runs (median
# 0.137) and 0.084-0.123 s on the tree (median 0.108). One read at the first line tells them
# apart most of the time (below 0.115 s: 10 of 12 tree runs, 3 of 12 dry runs). A tell by
# statistics, so the test compares medians of eleven runs each (after the fix, ``VirtualClock``
# counts both out: medians -7 to +8 ms apart, each run spread over ~40 ms).
FIRST_CPU_READ = """
import time

print("cpu at the first line:", time.process_time())
"""
RUNS = 11


def _first_cpu(log: str) -> float:
    found = re.search(r"cpu at the first line: ([0-9.e-]+)", log)
    assert found is not None, log
    return float(found.group(1))


@pytest.mark.slow
def test_a_program_cannot_tell_its_dry_run_by_the_cpu_time_before_its_first_line() -> None:
    config = RunnerConfig(led_count=LEDS, fps=40.0, time_limit_s=3.0, preview_cpu_s=2)
    dry, tree = [], []
    for _ in range(RUNS):  # interleaved: the machine's load falls on both alike
        previewer = Previewer(config, spiral_cone(LEDS), prestart=True)
        try:
            dry.append(_first_cpu(previewer.preview(FIRST_CPU_READ).log))
        finally:
            previewer.close()
        with Supervisor(config, VirtualStrip(LEDS), spiral_cone(LEDS), prestart=True) as run:
            tree.append(_first_cpu(run.run("first-cpu", FIRST_CPU_READ).log))
    gap = statistics.median(dry) - statistics.median(tree)
    assert abs(gap) < 0.02, (  # found 26-39 ms before the fix; -7 to +8 ms after
        f"first process_time(): dry runs {sorted(dry)}, tree runs {sorted(tree)} "
        f"(medians {gap * 1000:+.1f} ms apart)"
    )


# --- 1. on a flat or a straight-line layout, parts of the tree strobe in antiphase, undamped ---
#
# The zones are cut by angle around the trunk. A ``TREE_LAYOUT`` measured from one photo (every
# LED at ``y = 0``: the shortcut of mapping a tree with a single camera) puts every LED in two
# quadrants of the four, and a vertical string (every LED on the axis) in one: cells are empty,
# every block and band has fewer than four cells with LEDs and is not judged, and the zones left
# cannot see a checkerboard of quarters (flat: the whole tree, three halves by height and two
# sides are judged; each keeps a constant mean) or top against bottom (line: only the whole
# tree is judged). Found, 100 LEDs, 2 s each, 3 runs of 3 alike: flat, the top-left and
# bottom-right quarters against the others: 14 of 40 frames damped, still 20 transitions in one
# second on each of two quarters of the tree (a quarter is 25 LEDs); line, top half against
# bottom half: none of 40 frames damped, 20 transitions in one second on each half.
ANTIPHASE = """
import time

positions = getLEDPositions()
first = [PART for x, y, z in positions]
on = False
while True:
    on = not on
    setLEDs([WHITE if first[i] == on else BLACK for i in range(len(positions))])
    time.sleep(0.05)
"""


def _flat_tree(count: int) -> list[tuple[float, float, float]]:
    """Rows of ten LEDs across a triangle seen from the front, every LED at ``y = 0``."""
    return normalise(
        [
            (((i % 10) - 4.5) / 4.5 * (1 - (i // 10) / 9 * 0.8), 0.0, (i // 10) / 9)
            for i in range(count)
        ]
    )


def _vertical_string(count: int) -> list[tuple[float, float, float]]:
    return normalise([(0.0, 0.0, i / (count - 1)) for i in range(count)])


Layout = Callable[[int], list[tuple[float, float, float]]]
LAYOUTS: dict[str, tuple[Layout, str, Callable[[Sequence[float]], object]]] = {
    # layout, the program's part that is lit in one frame, the parts a viewer sees flash
    "flat": (
        _flat_tree,
        "(x >= 0) == (z >= 0.5)",
        lambda p: (p[0] >= 0, p[2] >= 0.5),
    ),
    "vertical_string": (_vertical_string, "z >= 0.5", lambda p: p[2] >= 0.5),
}


@pytest.mark.slow
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_parts_of_a_flat_or_straight_tree_cant_strobe_in_antiphase(layout: str) -> None:
    leds = 100
    make, part, where = LAYOUTS[layout]
    positions = make(leds)
    config = RunnerConfig(
        led_count=leds, fps=40.0, time_limit_s=2.0, view_fps=0.0, flash_limit=True
    )
    strip = VirtualStrip(leds, history=10_000)
    with strip, Supervisor(config, strip, positions) as tree:
        result = tree.run("flat-antiphase", ANTIPHASE.replace("PART", part))
        shown = [(frame.at, frame.leds) for frame in strip.frames]
    assert (result.status, result.reason) == ("completed", "time_limit"), result.log
    assert len(shown) >= 30, "the program did not run: the test proves nothing"
    parts: dict[object, list[int]] = {}
    for i, p in enumerate(positions):
        parts.setdefault(where(p), []).append(i)
    worst = max(_most_transitions(shown, picked) for picked in parts.values())
    assert worst <= MOST, f"{worst} transitions in one second on a part of the tree"
