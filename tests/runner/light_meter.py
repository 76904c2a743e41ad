"""An independent light meter for tests: reads frames as the LED backend received them.

It measures what the hardware would emit (``runner.leds.colour.level_table``, the same mapping
the ws281x and gpiozero backends use) and counts WCAG 2.3.1 transitions the plain offline way:
collapse the series into its peaks and valleys, count each change between adjacent ones that
is large enough, and pair opposing ones into flashes. It shares no code with ``runner.protect``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

from runner.leds import Led
from runner.leds.colour import level_table

GAMMA = 2.2


class Point(NamedTuple):
    """One frame's measure at the time it was shown."""

    t: float
    value: float
    red: bool  # a saturated red


def channel_means(leds: Sequence[Led]) -> tuple[float, float, float]:
    """Mean emitted light of the reds, greens and blues, 0..1."""
    table = level_table(GAMMA)
    r = g = b = 0
    for red, green, blue, level in leds:
        row = table[level]
        r, g, b = r + row[red], g + row[green], b + row[blue]
    n = 255 * len(leds)
    return r / n, g / n, b / n


def current_ma(leds: Sequence[Led], per_channel: float = 20.0, idle: float = 1.0) -> float:
    """The issue's current model: idle per LED plus per-channel current times its duty."""
    r, g, b = channel_means(leds)
    return len(leds) * (idle + per_channel * (r + g + b))


def luminance(leds: Sequence[Led]) -> Point:
    """Relative luminance of the tree as one field (time left 0)."""
    r, g, b = channel_means(leds)
    return Point(0.0, 0.2126 * r + 0.7152 * g + 0.0722 * b, False)


def redness(leds: Sequence[Led]) -> Point:
    """WCAG 2.0's red measure ``max(0, R - G - B) * 320``, and whether it is saturated red."""
    r, g, b = channel_means(leds)
    total = r + g + b
    return Point(0.0, max(0.0, r - g - b) * 320, total > 0 and r / total >= 0.8)


def general_counts(low: Point, high: Point) -> bool:
    """A general-flash transition: >= 0.1 of maximum luminance, darker state below 0.8."""
    return high.value - low.value >= 0.1 and low.value < 0.8


def red_counts(low: Point, high: Point) -> bool:
    """A red-flash transition: red measure changes by more than 20, to or from saturated red."""
    return high.value - low.value > 20 and high.red


def transitions(series: Sequence[Point], counts: Callable[[Point, Point], bool]) -> list[float]:
    """Times of the transitions between adjacent peaks and valleys, alternating in direction."""
    extremes = [series[0]]
    direction = 0
    for point in series[1:]:
        if point.value == extremes[-1].value:
            continue
        step = 1 if point.value > extremes[-1].value else -1
        if step == direction:
            extremes[-1] = point  # the rise (or fall) goes on
        else:
            extremes.append(point)
            direction = step
    times: list[float] = []
    last = 0
    for a, b in zip(extremes, extremes[1:], strict=False):
        step = 1 if b.value > a.value else -1
        low, high = (a, b) if step > 0 else (b, a)
        if counts(low, high) and step != last:  # a flash is a pair of *opposing* changes
            times.append(b.t)
            last = step
    return times


def most_in_one_second(times: Sequence[float]) -> int:
    """The most transitions in any closed one-second window."""
    return max((sum(1 for u in times if t <= u <= t + 1.0) for t in times), default=0)


def series(
    frames: Sequence[tuple[float, Sequence[Led]]], measure: Callable[[Sequence[Led]], Point]
) -> list[Point]:
    """The measure of each ``(time shown, leds)`` frame."""
    return [measure(leds)._replace(t=t) for t, leds in frames]


Position = Sequence[float]

# Parts of a tree as a viewer names them, from the LED positions (z up, the trunk at x = y = 0):
# each is far larger than WCAG's quarter of a 10 degree field at a room's viewing distance.
REGIONS: dict[str, Callable[[Position], bool]] = {
    "whole tree": lambda p: True,
    "bottom half": lambda p: p[2] < 0.5,
    "top half": lambda p: p[2] >= 0.5,
    "left half": lambda p: p[0] < 0,
    "right half": lambda p: p[0] >= 0,
    "front half": lambda p: p[1] < 0,
    "back half": lambda p: p[1] >= 0,
    "front left": lambda p: p[0] < 0 and p[1] < 0,
    "front right": lambda p: p[0] >= 0 and p[1] < 0,
    "back left": lambda p: p[0] < 0 and p[1] >= 0,
    "back right": lambda p: p[0] >= 0 and p[1] >= 0,
}


def most_flashes_per_region(
    frames: Sequence[tuple[float, Sequence[Led]]],
    positions: Sequence[Position],
    more: Mapping[str, Sequence[int]] | None = None,
) -> dict[str, int]:
    """For each of ``REGIONS`` and each of ``more`` (a name and the indices of its LEDs): the
    most general or red transitions in any one second, each region measured as a field of its
    own (the mean light of its LEDs)."""
    picks: dict[str, Sequence[int]] = {
        name: [i for i, p in enumerate(positions) if inside(p)] for name, inside in REGIONS.items()
    }
    picks.update(more or {})
    most = {}
    for name, picked in picks.items():
        part = [(t, [leds[i] for i in picked]) for t, leds in frames]
        most[name] = max(
            most_in_one_second(transitions(series(part, measure), counts))
            for measure, counts in ((luminance, general_counts), (redness, red_counts))
        )
    return most
