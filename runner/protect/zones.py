"""The parts of the tree the flash limiter judges on their own, and their light per frame.

WCAG 2.3.1 counts a flash over any area larger than about a quarter of a 10 degree field of
view, whatever the rest of the view does. Judged as one field, a tree whose top strobes against
its bottom in antiphase keeps a constant mean and passes; so the limiter also judges *zones*,
each like the whole tree. At a room's viewing distances a quarter of a tree is well above such
an area (docs/protection.md has the figures), so the zones are quarters of the tree:

* cells: the tree cut by height into four bands of equal LED count, and by angle around the
  trunk into four quadrants (around the median LED's ``x``/``y``, which a lead or a stray
  LED barely moves, unlike the layout's centre);
* zones, each a union of cells: the whole tree; the bottom, middle and top halves and the four
  sides (half the tree by angle, one from each axis); the four height bands, the four quadrants
  and four blocks of half the height times half the angle, for a checkerboard of large blocks.

The zones are the same on a tree of any LED count: what WCAG counts is the area that flashes,
and half a tree is as large with 40 LEDs as with 500 (red team round eight: zones of at least
25 LEDs left trees under 100 LEDs without quarters, under 50 without halves, and parts of them
strobed in antiphase undamped). A sparkle of a few LEDs on a small tree is still no zone's
flash: a cell must change by several LEDs' worth (``wcag.FEW_LEDS``, at most half the cell).

Any half of the tree split by a vertical plane through the trunk holds a whole quadrant, and
any half split by height a whole band, so halves in antiphase are seen at full contrast by some
zone, whatever their orientation. Halves are judged as well as their quarters: two quarters
taking turns, each within the limit, would flash their half twice as often. A zone of at least
``MIN_ZONE_CELLS`` cells is judged with the flash limiter's coherence rule (a sparkle of three
LEDs must not be a zone's flash); one of fewer, on its mean alone. Zones with the same cells are
judged once.

Speed: one matrix product (a row of ones per zone and per cell) adds up every zone's and cell's
three channels at once.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

import numpy as np
import numpy.typing as npt

Position = Sequence[float]  # x, y, z

BANDS = 4  # by height, of equal LED count
QUADRANTS = 4  # by angle around the trunk
MIN_ZONE_CELLS = 4  # see FlashLimiter: a change must reach every cell, so 3 LEDs never count


def tuple_getter(indices: Sequence[int]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """``itemgetter`` that returns a tuple even for one index."""
    if len(indices) == 1:
        only = indices[0]
        return lambda seq: (seq[only],)
    return itemgetter(*indices)


def _cells(positions: Sequence[Position], turned: bool = False) -> list[int] | None:
    """The cell (band * QUADRANTS + quadrant) of each LED; ``turned``: of the second grid,
    its quadrants turned half a quadrant (None for a layout that fills few quadrants)."""
    count = len(positions)
    by_height = sorted(range(count), key=lambda i: (positions[i][2], i))
    band = [0] * count
    for rank, index in enumerate(by_height):
        band[index] = rank * BANDS // count
    # Around the median LED, not the layout's centre: a lead or a star on a stick widens the
    # layout's box, and its centre then lies off the trunk, where halves of the tree fall into
    # one quadrant (red team round ten: front and back strobed in antiphase undamped).
    cx = statistics.median(p[0] for p in positions)
    cy = statistics.median(p[1] for p in positions)
    quadrants = _quadrants(positions, cx, cy, math.tau / QUADRANTS / 2 if turned else 0.0)
    plain = _quadrants(positions, cx, cy, 0.0) if turned else quadrants
    if len(set(plain)) < QUADRANTS - 1:
        if turned:  # strips have no turned grid
            return None
        # A layout that fills few quadrants (all LEDs on one plane, as a tree mapped from one
        # photo): its four "quadrants" are four strips of equal LED count across its widest
        # horizontal spread instead, so its zones still have cells to agree (red team round
        # nine: snow on such a layout was damped as a flash).
        wide = 0 if _spread(positions, 0) >= _spread(positions, 1) else 1
        across = sorted(range(count), key=lambda i: (positions[i][wide], i))
        for rank, index in enumerate(across):
            quadrants[index] = rank * QUADRANTS // count
    return [band[i] * QUADRANTS + quadrants[i] for i in range(count)]


def _quadrants(positions: Sequence[Position], cx: float, cy: float, offset: float) -> list[int]:
    """Each LED's quadrant around ``(cx, cy)``, the quadrants turned by ``offset`` radians."""
    width = math.tau / QUADRANTS
    return [
        min(QUADRANTS - 1, int(((math.atan2(y - cy, x - cx) + offset) % math.tau) / width))
        for x, y, *_ in positions
    ]


def _spread(positions: Sequence[Position], axis: int) -> float:
    values = [p[axis] for p in positions]
    return max(values) - min(values)


def _shapes(turned: bool = False) -> list[tuple[str, set[int]]]:
    """Every zone as a name and its set of cells. Halves are judged as well as the quarters
    they are made of: each quarter may flash three times a second, but two of them taking turns
    would flash their half six times. ``turned``: the zones of the turned grid that the first
    does not have (those cut by angle)."""

    def cells(bands: Sequence[int], quadrants: Sequence[int]) -> set[int]:
        return {b * QUADRANTS + q for b in bands for q in quadrants}

    every_band, every_quadrant = range(BANDS), range(QUADRANTS)
    halves = {"bottom": (0, 1), "middle": (1, 2), "top": (2, 3)}
    sides = [(q, (q + 1) % QUADRANTS) for q in every_quadrant]  # a half turn from each axis
    shapes: list[tuple[str, set[int]]] = []
    if not turned:
        shapes += [("whole tree", cells(every_band, every_quadrant))]
        shapes += [(f"{name} half", cells(bands, every_quadrant)) for name, bands in halves.items()]
    shapes += [(f"side {q + 1}", cells(every_band, side)) for q, side in enumerate(sides)]
    if not turned:
        shapes += [(f"height band {b + 1}", cells((b,), every_quadrant)) for b in every_band]
    shapes += [(f"quadrant {q + 1}", cells(every_band, (q,))) for q in every_quadrant]
    # Blocks of half the height times half the angle, for a checkerboard; those of two sides a
    # quarter turn apart see a split at any angle with at least half its contrast.
    for q in (0, 1):
        for name in ("bottom", "top"):
            shapes.append((f"{name} of side {q + 1}", cells(halves[name], sides[q])))
    return shapes


Rgb = Sequence[float]  # total hardware level of the reds, greens and blues (whole numbers)
Floats = npt.NDArray[np.float64]


class Zones:
    """The zones of one tree, and the light of a frame summed per cell and per zone."""

    def __init__(self, positions: Sequence[Position]) -> None:
        """``positions``: one ``(x, y, z)`` per LED in strip order, ``z`` up, the trunk at 0, 0."""
        count = len(positions)
        if count == 0:
            raise ValueError("a tree needs at least one LED")
        self.led_count = count
        # Two grids of cells, the second turned half a quadrant: a field cut along the first
        # grid's lines (half of each cell in antiphase with the other half, so no cell's mean
        # moves) lies across the second's, and a zone of it sees the field's mean directly,
        # whatever the timing of its edges (red team rounds seventeen and forty-five: a quarter
        # strobing in two groups a frame apart, its halves held only while their LEDs' counts
        # stayed in step; uneven gaps between frames let 7-8 transitions a second through).
        grids = [(_cells(positions), False), (_cells(positions, turned=True), True)]
        members: dict[int, list[int]] = {}
        shapes: list[tuple[str, set[int]]] = []
        for number, (cell_of, turned) in enumerate(grids):
            if cell_of is None:
                continue
            base = number * BANDS * QUADRANTS
            for index, cell in enumerate(cell_of):
                members.setdefault(base + cell, []).append(index)
            suffix = " (turned)" if turned else ""
            shapes += [
                (name + suffix, {base + c for c in shape}) for name, shape in _shapes(turned)
            ]
        used = sorted(members)
        self.cell_sizes = [len(members[c]) for c in used]
        # Each cell's height band and quadrant: neighbouring cells make an eighth of the tree.
        # (A zone's cells are all of one grid, so cells of two grids are never paired.)
        self.cell_places = [divmod(c % (BANDS * QUADRANTS), QUADRANTS) for c in used]
        column = {cell: k for k, cell in enumerate(used)}
        self.names: list[str] = []
        self.sizes: list[int] = []
        self.members: list[list[int]] = []  # each zone's LEDs
        # The cells whose changes must agree for a change of the zone's mean to count (see
        # FlashLimiter); none for the whole tree and for a zone of fewer than MIN_ZONE_CELLS
        # cells with LEDs in them, which are judged on their mean alone. A tree of a few LEDs,
        # or a layout that fills few quadrants (all LEDs on one plane, one vertical string),
        # has such zones; skipping them let its halves strobe undamped (red team round nine).
        self.columns: list[tuple[int, ...]] = []
        every_cell: list[tuple[int, ...]] = []  # each zone's cells, whether or not coherent
        seen: set[frozenset[int]] = set()  # zones of the same LEDs are judged once
        for name, shape in shapes:
            present = frozenset(shape & set(used))
            leds = frozenset(i for c in present for i in members[c])
            if not present or leds in seen:
                continue
            seen.add(leds)
            columns = tuple(sorted(column[c] for c in present))
            coherent = bool(self.names) and len(present) >= MIN_ZONE_CELLS
            self.names.append(name)
            self.sizes.append(len(leds))
            self.members.append(sorted(leds))
            self.columns.append(columns if coherent else ())
            every_cell.append(columns)
        # One row per zone, then one per cell: 1 for each LED in it. Sums of whole numbers far
        # below 2 ** 53, so the floats are exact whatever order the product adds them in.
        in_cell = np.zeros((len(used), count))
        for k, cell in enumerate(used):
            in_cell[k, members[cell]] = 1.0
        # (A zone's cells are of one grid: no LED is in two of them.)
        in_zone = [in_cell[list(cells)].sum(axis=0) for cells in every_cell]
        self._membership = np.vstack([*in_zone, in_cell])
        self._zone_count = len(every_cell)

    def sums(self, levels: bytes) -> tuple[list[Rgb], Floats]:
        """Total R, G and B hardware level of each zone, and of each cell (a row each), for a
        frame's hardware levels (4 bytes, R G B and one unused, per LED)."""
        channels = np.frombuffer(levels, np.uint8).reshape(-1, 4)[:, :3]
        totals = self._membership @ channels.astype(np.float64)
        return totals[: self._zone_count].tolist(), totals[self._zone_count :]
