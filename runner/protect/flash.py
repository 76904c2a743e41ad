"""The flash limiter: at most three general and three red flashes in any second (WCAG 2.3.1).

Definitions (WCAG 2.2, "general flash and red flash thresholds"):

* A *transition* is the change between adjacent peaks and valleys of a measure over time; a
  *flash* is a pair of opposing transitions, so three flashes are six transitions.
* General: the measure is relative luminance ``Y = 0.2126 R + 0.7152 G + 0.0722 B`` of linear
  light; a transition counts when it changes ``Y`` by at least 0.1 and the darker state is
  below 0.80.
* Red: the measure is ``max(0, R - G - B) * 320`` of linear light (WCAG 2.0's red flash
  formula) of a zone's mean colour; a transition counts when it changes it by more than 20 and
  the redder state is a saturated red, ``R / (R + G + B) >= 0.8``. Steady light of other
  colours beside red LEDs cancels their red in the mean; the LEDs on their own
  (``runner.protect.per_led``) count each LED's red, so a large area of them strobing red is
  held back whatever shines beside it. (WCAG 2.2's newer wording
  compares chromaticity, which black does not have; red-to-black is the flash that matters on a
  tree.)

The whole tree is one field and each zone of it (``runner.protect.zones``: halves, height
bands, quadrants, blocks) another: R, G and B are the mean emitted light of their LEDs (hardware
level / 255, after gamma and the power budget), so full white is ``Y = 1``. Halves strobing in
antiphase keep the whole tree's mean constant, but not their own. In a zone, a change of the mean
counts only if a large area of it changed with it (``Coherence``): most of its cells
(``COHERENT_SHARE``), or, at high contrast (``HIGH_CONTRAST``), cells holding a quarter of the
tree (``LARGE_AREA``) or two neighbouring cells, an eighth of the tree; so light moving through
a zone is no flash. Once a zone's window is full, any change of its mean counts, by a step scaled
down to an eighth's share of the zone (``Swing.step``), so no eighth inside it may flash either.

Peaks and valleys are found with hysteresis: a transition is counted the moment the measure has
moved far enough from the last turning point (for a red fall: from the highest saturated-red
state), so a slow fade counts once and a strobe every edge; while the measure runs on in the
same direction the transition's time moves with it, because WCAG times a transition from peak
to valley.

A frame that would count a transition where six are already in the window is *damped*: it is
blended toward the previous frame, in linear light, as far as it can go without completing a
transition of either measure in any zone, on the zone's mean alone (a blend can be redder than
both ends).
"""

from __future__ import annotations

import functools
import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from runner.protect.light import Emission, LightModel
from runner.protect.per_led import LedFields, Verdicts, led_measures
from runner.protect.wcag import (
    DARK_BELOW,
    FEW_LEDS,
    GENERAL_STEP,
    MAX_TRANSITIONS,
    RED_SCALE,
    RED_STEP,
    SATURATED_RED,
    WINDOW_S,
)
from runner.protect.zones import QUADRANTS, Position, Rgb, Zones, tuple_getter

# A zone's change counts as a flash only if cells holding COHERENT_SHARE of its LEDs changed the
# same way, each by at least the step and, in a cell of few LEDs, by as much light as FEW_LEDS
# LEDs switching fully (at most half the cell's range). Light moving within a zone (snow falling,
# a band rising along a spiral string, a sparkle) moves the zone's mean up and down too, but most
# of its cells stay or go the other way. Cell measures are kept in units of that threshold, so a
# cell counts when it moved by 1 (less a hair for rounding). Damping holds back the zone's mean
# itself (see FlashLimiter._damp), so what is shown never flashes by the plain measure.
CELL_CAP = 0.5
COHERENT_SHARE = 0.75
# What WCAG counts is the area that flashes, not its share of some part of the view, so a large
# flashing area may not hide in a zone made larger by cells that stay dark (a checkerboard of
# cells lit half by half, two eighths of the tree taking turns). A change of a zone's mean also
# counts if cells that each changed by HIGH_CONTRAST of their range hold LARGE_AREA of the
# whole tree's LEDs, however small a share of the zone that is, or are two neighbouring cells
# (an eighth of the tree, still a large area by docs/protection.md's reckoning). Either needs
# two cells or more, each by three LEDs' worth at least: a sparkle of three LEDs never counts.
# The high contrast asked of a flash that is a small share of its zone keeps snow and bands of
# light moving along the string from counting as flashes; once its zone's window is full, an
# eighth is held to the plain step (FlashLimiter: ``held``).
LARGE_AREA = 1 / 4
HIGH_CONTRAST = 0.5
_CELL_COUNTS = 1.0 - 1e-9
# Or LEDs holding this share of the zone each changed the same way by the step (red: by more
# than it). Cells of few LEDs (a 100-LED tree's hold six) count only by three LEDs' worth, so a
# field that covers half of each of them, or less in some, left its zone's transitions
# uncounted until the window was full; a zone that sees such a field only half the time did
# not fill (a quarter strobing in two groups a frame apart, with uneven gaps between frames:
# 7-8 transitions a second). Light moving through a zone (snow's flakes, a band rising along
# the string) moves a smaller share of its LEDs from one of its means' turns to the next.
COHERENT_LEDS = 0.4
# ... within the frames shown last: a field's edge spread over two frames (a group a frame
# after another) is whole from the frame before the last. Snow's flakes light a few LEDs of a
# zone a frame, so they need many frames to light that share of it.
RECENT_FRAMES = 2
_SEARCH_STEPS = 9  # the blend itself has 1/256 steps
_KEPT = 4  # blends and quiet frames kept for a strobe held back, which asks for them again
_FINEST_BLEND = 1 / 256  # the blend's finest step: below it, nothing between the two frames
# Keeps a swing's quiet range clear of its thresholds, so float rounding in the exact test
# cannot disagree with the quick one.
_MARGIN = 1e-9

Floats = npt.NDArray[np.float64]
Indices = npt.NDArray[np.intp]


class LedLight:
    """Every LED's measures in a frame, and their lowest and highest in the frames shown just
    before it: worked out only when a zone first asks (``Swing._leds_coherent``, when its cells
    did not agree on a change of its mean large enough to count), which few frames make it do."""

    def __init__(self, levels: bytes, shown: Sequence[bytes]) -> None:
        self._levels = levels
        self._shown = tuple(shown) or (levels,)
        self._values: Floats | None = None
        self._around: tuple[Floats, Floats] | None = None

    def values(self) -> Floats:
        """Per measure (row 0 luminance, row 1 red) and LED, the frame's."""
        if self._values is None:
            self._values = _led_values(self._levels)
        return self._values

    def around(self) -> tuple[Floats, Floats]:
        """The lowest and the highest of each of ``values`` in the frames shown just before."""
        if self._around is None:
            shown = [_led_values(levels) for levels in self._shown]
            self._around = (np.minimum.reduce(shown), np.maximum.reduce(shown))
        return self._around


# The frames shown just before are asked again with each new frame: kept for a few frames (the
# same bytes object is hashed once).
@functools.lru_cache(maxsize=2 * (RECENT_FRAMES + 2))
def _led_values(levels: bytes) -> Floats:
    values = np.stack(led_measures(levels))
    values.setflags(write=False)
    return values


# The measure of a zone, whether it is a saturated red, the measure of each of its cells, and
# the light of every LED (None: not needed, judged on the mean alone).
State = tuple[float, bool, tuple[float, ...], LedLight | None]


@dataclass(frozen=True)
class Coherence:
    """Which cells of a zone must change together, the same way, for a change of the zone's
    mean to count: cells holding COHERENT_SHARE of its LEDs, each by its threshold (1 in the
    cells' measures); or, each by ``strong``, cells holding the share ``large`` of its LEDs (two
    cells at least) or two neighbouring ones."""

    shares: tuple[float, ...]  # each cell's share of the zone's LEDs
    large: float  # LARGE_AREA of the tree, as a share of the zone's LEDs
    strong: tuple[float, ...]  # each cell's HIGH_CONTRAST, in its measure's units
    pairs: tuple[tuple[int, int], ...]  # neighbouring cells, by their place in the zone
    members: Indices  # the zone's LEDs
    row: int  # the measure's row in ``LedLight.rows``
    led_step: float  # the change of an LED's measure that counts (COHERENT_LEDS)


def _general_counts(low: State, high: State, step: float) -> bool:
    return high[0] - low[0] >= step and low[0] < DARK_BELOW


def _red_counts(low: State, high: State, step: float) -> bool:
    # "More than" the step, less a hair: a change of exactly the step, which float rounding
    # elsewhere (a light meter's) may put a hair above it, counts (the safe side).
    return high[0] - low[0] > step - _MARGIN and high[1]


class Revision:
    """Counts the changes to a limiter's swings: what was worked out from their states alone
    (a blend's search, a frame found quiet) holds while the count stays the same. A strobe
    held back at the limit shows the same two frames, which change no swing, frame after
    frame."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


class Swing:
    """Counts the transitions of one measure of one zone (or the whole tree), with their times."""

    def __init__(
        self,
        counts: Callable[[State, State, float], bool],
        step: float,
        may_peak: Callable[[State], bool],
        cells: Coherence | None = None,
        held: float = 1.0,
    ) -> None:
        """``counts(low, high, step)``: a change of the mean between these two states is large
        enough; ``may_peak(state)``: the state can be the high end of one (red: only saturated
        red); ``cells``: which of the zone's cells must change together for a change of its
        mean to count (None: judged on the mean alone); ``held``: once the window is full, a
        change of the mean by this share of ``step`` counts (see FlashLimiter)."""
        self._counts = counts
        self._cells = cells
        self._step = step
        self._held = held
        self.tight = False  # the window was full when last noted: the step is ``held`` of it
        self._may_peak = may_peak
        self._direction = 0  # of the last counted transition: +1 up, -1 down, 0 none yet
        # Since the last counted transition: the highest state that may be a peak, the lowest
        # state, and the extreme values reached (where the last transition ends, so far).
        self._peak: State | None = None
        self._valley: State | None = None
        self._top = self._bottom = 0.0
        self.times: deque[float] = deque()
        self._ended = 0.0  # when the last counted transition reached its peak or valley so far
        # Values that, in a state that is not a saturated red, complete no transition and
        # change nothing here: most frames of most programs. Empty until the first state.
        self.lo, self.hi = 1.0, 0.0
        # The same for a saturated red state, from ``lo`` (only red may be one): such a state
        # may end a rise or be a new peak, so the range is narrower (a red strobe held back at
        # the limit shows a red and a blend a step toward the other colour, both in it).
        self.red_hi = -math.inf
        self.revision = Revision()  # the limiter gives all its swings one

    def turn(self, state: State, plain: bool = False) -> int:
        """The direction of the transition ``state`` would complete, 0 for none; ``plain``:
        judged on the zone's mean alone, whatever its cells did."""
        if self._valley is None:
            return 0
        peak, valley = self._peak, self._valley
        step = self._step * self._held if plain and self.tight else self._step  # self.step(plain)
        falls = self._direction >= 0 and peak is not None and self._counts(state, peak, step)
        if falls and (plain or self._coherent(state, peak, state)):  # type: ignore[arg-type]
            return -1
        rises = self._direction <= 0 and self._counts(valley, state, step)
        if rises and (plain or self._coherent(valley, state, state)):
            return 1
        return 0

    def _coherent(self, low: State, high: State, now: State) -> bool:
        """Whether enough of the zone's cells (see ``Coherence``) rose from ``low`` to
        ``high``."""
        rule = self._cells
        if rule is None:
            return True
        moved = hard = 0.0
        count = 0
        strong: list[bool] = []
        for share, need, before, after in zip(
            rule.shares, rule.strong, low[2], high[2], strict=True
        ):
            rise = after - before
            if rise >= _CELL_COUNTS:
                moved += share
            strong.append(rise >= need)
            if strong[-1]:
                hard += share
                count += 1
        if moved >= COHERENT_SHARE - 1e-9:
            return True
        if count >= 2 and hard >= rule.large:
            return True
        if any(strong[i] and strong[j] for i, j in rule.pairs):
            return True
        return self._leds_coherent(low, high, now)

    def _leds_coherent(self, low: State, high: State, now: State) -> bool:
        """Whether LEDs holding COHERENT_LEDS of the zone each went from ``low`` to ``high``
        by the step, and by the step within the frames just shown (``now``: the state this
        frame would make, ``low`` or ``high``): a field's edge, not light drifting in."""
        rule = self._cells
        before, after, recent = low[3], high[3], now[3]
        if rule is None or before is None or after is None or recent is None:
            return False
        members = rule.members
        if not len(members):
            return False
        step, row = rule.led_step, rule.row
        end = recent.values()[row][members]
        lowest, highest = (values[row][members] for values in recent.around())
        if now is high:  # rising: from the valley, and from the lowest of the frames just shown
            moved = (end - before.values()[row][members] >= step) & (end - lowest >= step)
        else:  # falling: from the peak, and from the highest of the frames just shown
            moved = (after.values()[row][members] - end >= step) & (highest - end >= step)
        return bool(np.count_nonzero(moved) >= COHERENT_LEDS * len(members))

    def step(self, plain: bool = True) -> float:
        """The change that counts: judged on the mean alone while the window is full, the
        ``held`` share of the step."""
        return self._step * self._held if plain and self.tight else self._step

    def full(self, now: float) -> bool:
        """True when one more transition now would exceed the limit."""
        while self.times and self.times[0] <= now - WINDOW_S:
            self.times.popleft()
        return len(self.times) >= MAX_TRANSITIONS

    def note(self, state: State | None, now: float) -> None:
        """Record that ``state`` was shown at ``now``; None: a state in the quiet range (which
        changes nothing but the step, as the window empties)."""
        tight = len(self.times) >= MAX_TRANSITIONS
        if state is None:
            if tight == self.tight:
                return  # nothing changed
        else:
            self._note(state, now)
        self.revision.count += 1
        # Only a transition fills the window; while it empties, a tight step is on the safe side.
        self.tight = len(self.times) >= MAX_TRANSITIONS
        self.lo, self.hi = self._quiet()
        self.red_hi = self._quiet_red_top()

    def _note(self, state: State, now: float) -> None:
        direction = self.turn(state)
        if direction or self._valley is None:
            if direction:
                self.times.append(now)
                self._ended = now
                self._direction = direction
            self._valley = state
            self._peak = state if self._may_peak(state) else None
            self._top = self._bottom = state[0]
            return
        if state[0] < self._valley[0]:
            self._valley = state
        if self._may_peak(state) and (self._peak is None or state[0] > self._peak[0]):
            self._peak = state
        if state[0] > self._top:
            self._top = state[0]
            if self._direction > 0:
                self._goes_on(now)
        if state[0] < self._bottom:
            self._bottom = state[0]
            if self._direction < 0:
                self._goes_on(now)

    def _goes_on(self, now: float) -> None:
        # The last transition runs on to a new peak (valley): WCAG times a transition between
        # peak and valley, so it now ends here and stays in the window that much longer.
        if self.times and self.times[-1] == self._ended:
            self.times[-1] = now
        else:  # it had left the window; it is back in it
            self.times.append(now)
        self._ended = now

    def _quiet(self) -> tuple[float, float]:
        """The range ``lo`` .. ``hi`` (see ``__init__``) after a change. Empty here: a measure
        knows which values count. New extremes always change something, and so does a value
        far enough from the last peak or valley to count."""
        return 1.0, 0.0

    def _quiet_red_top(self) -> float:
        """``red_hi`` (see ``__init__``); here none: only the red measure has saturated
        states."""
        return -math.inf


class GeneralSwing(Swing):
    """The general (luminance) measure: every state may be a peak, so the peak is the top."""

    def __init__(self, cells: Coherence | None = None, held: float = 1.0) -> None:
        super().__init__(_general_counts, GENERAL_STEP, lambda state: True, cells, held)

    def _quiet(self) -> tuple[float, float]:
        lo, hi, step = self._bottom, self._top, self.step()
        if self._direction >= 0:  # a fall from the peak may count
            lo = max(lo, min(DARK_BELOW, self._top - step + _MARGIN))
        if self._direction <= 0 and self._bottom < DARK_BELOW:  # a rise from the valley may
            hi = min(hi, self._bottom + step - _MARGIN)
        return lo, hi


class RedSwing(Swing):
    """The red measure: only a saturated red may be a peak, or end a rise."""

    def __init__(self, cells: Coherence | None = None, held: float = 1.0) -> None:
        super().__init__(_red_counts, RED_STEP, lambda state: state[1], cells, held)

    def _quiet(self) -> tuple[float, float]:
        lo = self._bottom
        if self._direction >= 0 and self._peak is not None:  # a fall from the peak may count
            lo = max(lo, self._peak[0] - self.step() + 2 * _MARGIN)
        return lo, self._top

    def _quiet_red_top(self) -> float:
        # A saturated red above the peak is the new peak (none yet: any is), and one a step
        # above the valley ends a rise.
        if self._peak is None or self._valley is None:
            return -math.inf
        top = min(self._top, self._peak[0])
        if self._direction <= 0:
            top = min(top, self._valley[0] + self.step() - 2 * _MARGIN)
        return top


class FlashLimiter:
    """Damps frames that would make the tree, or any zone of it, flash more than three times
    in a second."""

    def __init__(self, model: LightModel, positions: Sequence[Position]) -> None:
        """``positions``: one ``(x, y, z)`` per LED, as ``Zones`` takes them."""
        zones = Zones(positions)
        self._model = model
        self._zones = zones
        # 1 / the sum of one channel when every LED of a zone (a cell) is at full.
        self._full = [255.0 * size for size in zones.sizes]
        # A cell's measures in units of the change it must make (see FEW_LEDS), as a share of
        # its range.
        steps = [
            (
                max(GENERAL_STEP, min(CELL_CAP, FEW_LEDS / size)),
                max(RED_STEP / RED_SCALE, min(CELL_CAP, FEW_LEDS / size)),
            )
            for size in zones.cell_sizes
        ]
        self._general_scales, self._red_scales = (
            np.array(scales)
            for scales in zip(
                *(
                    (1.0 / (255.0 * size * general), RED_SCALE / (255.0 * size * red * RED_SCALE))
                    for size, (general, red) in zip(zones.cell_sizes, steps, strict=True)
                ),
                strict=True,
            )
        )
        # Picks a zone's cells out of all cells' measures (None for the whole tree).
        self._pick = [tuple_getter(c) if c else None for c in zones.columns]
        # Per zone: the general swing and the red swing, on the zone's mean colour (as WCAG
        # reads a field). (Until red team round eighteen a third swing added up each cell's own
        # red, so that steady light in some cells could not cancel the red of others; the LEDs
        # on their own do that now, and the sum of cut-off reds rose and fell more often than
        # any part of the tree: smooth red-and-green waves were damped.)
        self.swings: list[tuple[Swing, Swing]] = []
        large = LARGE_AREA * zones.led_count
        eighth = zones.led_count / 8
        for zone, (columns, size) in enumerate(zip(zones.columns, zones.sizes, strict=True)):
            if not columns:  # the whole tree, or a zone of few cells: its mean alone
                self.swings.append((GeneralSwing(), RedSwing()))
                continue
            shares = tuple(zones.cell_sizes[c] / size for c in columns)
            share = large / size - 1e-9
            pairs = tuple(
                (i, j)
                for i, a in enumerate(columns)
                for j, b in enumerate(columns)
                if i < j and _neighbours(zones.cell_places[a], zones.cell_places[b])
            )
            general, red = (
                Coherence(
                    shares,
                    share,
                    tuple(_CELL_COUNTS * max(1.0, HIGH_CONTRAST / steps[c][k]) for c in columns),
                    pairs,
                    np.asarray(zones.members[zone], np.intp),
                    k,
                    led_step,
                )
                for k, led_step in ((0, GENERAL_STEP - 1e-9), (1, RED_STEP + 1e-9))
            )
            # Once its window is full, a zone may not flash at all for now: not as a whole, and
            # not an eighth of the tree inside it either, so its mean is held to the step
            # scaled down to an eighth's share of it.
            held = min(1.0, eighth / size)
            self.swings.append((GeneralSwing(general, held), RedSwing(red, held)))
        self._revision = Revision()
        for pair in self.swings:
            for swing in pair:
                swing.revision = self._revision
        # The last blend's search on the zones (see ``_damp``), the blends it made, and the
        # frames found still in every zone, each with the revision of the swings it holds for.
        self._search: (
            tuple[tuple[bytes, bytes, int], float | None, Callable[[float], bool]] | None
        ) = None
        self._candidates: dict[
            tuple[bytes, bytes, float], tuple[Emission, tuple[list[Rgb], Floats]]
        ] = {}
        self._still_frames: dict[bytes, int] = {}
        # Frames quiet in every zone, with the red swings they are a saturated red in.
        self._quiet_frames: dict[bytes, tuple[int, list[Swing]]] = {}
        # Each LED on its own and each LED's neighbourhood, for flashes finer than the cells
        # (runner.protect.per_led).
        self._each = LedFields(positions)
        self._last: Emission | None = None
        # Each LED's measures in the frames shown last, for a zone's LEDs moving together.
        self._shown_levels: deque[bytes] = deque(maxlen=RECENT_FRAMES)
        self._last_sums: tuple[list[Rgb], Floats] = ([], np.zeros((0, 3)))
        # A frame judged, waiting to be shown (``limit(commit=False)``, then ``commit``).
        self._pending: (
            tuple[
                list[tuple[Swing, State | None]],
                Emission,
                tuple[list[Rgb], Floats],
                float,
                Verdicts | None,
            ]
            | None
        ) = None

    def cell_measures(self, cells: Floats) -> tuple[list[float], list[float]]:
        """Each cell's general and red measure, in units of the change it must make, from
        ``cells``' channel totals (a row per cell)."""
        r, g, b = cells[:, 0], cells[:, 1], cells[:, 2]
        lums = (0.2126 * r + 0.7152 * g + 0.0722 * b) * self._general_scales
        reds = np.maximum(r - g - b, 0.0) * self._red_scales
        return lums.tolist(), reds.tolist()

    def states(
        self,
        zone: int,
        rgb: Sequence[float],
        cells: tuple[list[float], list[float]] | None,
        red: tuple[float, bool],
        leds: LedLight | None = None,
    ) -> tuple[State, State]:
        """The general and red state of ``zone`` for its channel sums ``rgb`` and its mean's
        red measure and saturation ``red``, given the ``cell_measures`` (None: without them,
        for a judgement on the mean alone)."""
        full = self._full[zone]
        r, g, b = rgb[0] / full, rgb[1] / full, rgb[2] / full
        luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
        pick = self._pick[zone]
        lums, reds = ((), ()) if cells is None or pick is None else (pick(cells[0]), pick(cells[1]))
        each = None if pick is None else leds
        return (luminance, False, lums, each), (red[0], red[1], reds, each)

    def limit(self, light: Emission, now: float, commit: bool = True) -> tuple[Emission, bool]:
        """What to show at monotonic ``now``: ``light`` itself, or a damped frame (True).

        ``commit`` False: the window learns of the frame only at ``commit()``, once it is
        shown; a frame judged but never shown (the deadline or Stop came in between) must not
        count as the LEDs' last frame, or the next frame would be judged against a frame the
        LEDs never showed (red team round eight).
        """
        self._pending = None
        sums = self._zones.sums(light.levels)
        # Held back, the frame's swings are not wanted: the damped frame's are.
        busy, blocked = self._judge(sums, light.levels, now, until_blocked=self._last is not None)
        # Each LED on its own: asked only when the zones let the frame through (if they hold
        # it back, the blend is checked on the LEDs as well).
        each = None if blocked else self._each.judge(light.levels, now)
        if each is not None and each.blocked:
            blocked = True
            self._each.hold(each, now)
        damped = blocked and self._last is not None
        if damped:
            # A blend may complete a transition of another measure or zone (a blend of two
            # unsaturated colours can be a saturated red): every zone is checked.
            light, sums, each = self._damp(light, sums, now)
            # The previous frame again changes no zone: nothing to judge.
            busy = [] if light is self._last else self._judge(sums, light.levels, now)[0]
        elif blocked:  # the first frame
            each = self._each.judge(light.levels, now)
        self._pending = (busy, light, sums, now, each)
        if commit:
            self.commit()
        return light, damped

    def commit(self, at: float | None = None) -> None:
        """The frame last judged reached the LEDs (at ``at``, when given): its states enter the
        window, stamped with when the LEDs showed it if that came later than the judgement. A
        stall between the two (the runner descheduled on a loaded machine) must not leave the
        window believing a transition older than the LEDs made it: the window would let the
        seventh through while the LEDs' last second still held six."""
        if self._pending is None:
            return
        busy, light, sums, now, each = self._pending
        self._pending = None
        if at is not None:
            now = max(now, at)
        for swing, state in busy:
            swing.note(state, now)
        self._each.note(each, light.levels, now)
        self._last, self._last_sums = light, sums
        self._shown_levels.append(light.levels)

    def _judge(
        self,
        sums: tuple[list[Rgb], Floats],
        levels: bytes,
        now: float,
        until_blocked: bool = False,
    ) -> tuple[list[tuple[Swing, State | None]], bool]:
        """The swings a frame changes, with their new states (None: a saturated red in the
        quiet range, which changes only the step), and whether it must be held back: it would
        change a zone whose window is full (by the plain measure: such a zone may not flash at
        all for now). ``until_blocked``: stop there, the swings are not wanted then (once
        blocked, no later zone's window is asked)."""
        quiet = self._quiet_frames.get(levels)
        if quiet is not None and quiet[0] == self._revision.count:
            # Quiet in every zone when the swings were as they are now (see ``_quiet_red``).
            for red in quiet[1]:
                red.full(now)
            return [(red, None) for red in quiet[1]], False
        zones, cells = sums
        measures: tuple[list[float], list[float]] | None = None
        leds: LedLight | None = None
        busy: list[tuple[Swing, State | None]] = []
        blocked = False
        # The hot loop: most zones of most frames are quiet (see Swing.lo), so only the others
        # get their full state. Means of a zone's channels (0..1) are computed as the WCAG
        # formulas are written: a frame exactly at a threshold is judged the same everywhere.
        for zone, ((r_sum, g_sum, b_sum), full, (general, red)) in enumerate(
            zip(zones, self._full, self.swings, strict=True)
        ):
            r, g, b = r_sum / full, g_sum / full, b_sum / full
            luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
            total = r + g + b
            saturated = total > 0 and r / total >= SATURATED_RED
            redness = max(0.0, r - g - b) * RED_SCALE
            quiet_general = general.lo <= luminance <= general.hi
            quiet_red = red.lo <= redness <= (red.red_hi if saturated else red.hi)
            if quiet_general and quiet_red:
                if saturated:  # noted all the same: see ``_quiet_red``
                    _quiet_red(red, now, blocked, busy)
                continue
            if measures is None:
                measures = self.cell_measures(cells)
                leds = LedLight(levels, self._shown_levels)
            general_state, red_state = self.states(
                zone, zones[zone], measures, (redness, saturated), leds
            )
            if not quiet_general:
                blocked = blocked or bool(
                    general.full(now) and general.turn(general_state, plain=True)
                )
                busy.append((general, general_state))
            if not quiet_red:
                blocked = blocked or bool(red.full(now) and red.turn(red_state, plain=True))
                busy.append((red, red_state))
            elif saturated:
                _quiet_red(red, now, blocked, busy)
            if blocked and until_blocked:
                break
        if measures is None:  # every zone quiet
            if len(self._quiet_frames) >= _KEPT:
                del self._quiet_frames[next(iter(self._quiet_frames))]
            self._quiet_frames[levels] = (self._revision.count, [red for red, _ in busy])
        return busy, blocked

    def _damp(
        self, light: Emission, sums: tuple[list[Rgb], Floats], now: float
    ) -> tuple[Emission, tuple[list[Rgb], Floats], Verdicts | None]:
        """The frame furthest toward ``light`` from the last one that completes no transition
        of any measure and zone, and that the LEDs on their own would not hold back
        (``per_led``), with its sums and the LEDs' verdict on it.

        A frame held back must not flash anywhere by the plain measure: not only where the
        window is full, but also where a flash would not count because the zone's cells
        disagree, so that holding one part of the tree back while another moves on makes no
        new flash of its own.
        """
        last = self._last
        assert last is not None
        # The search on the zones depends only on the two frames and the swings' states: a
        # strobe held back at the limit asks the same again, frame after frame.
        key = (last.levels, light.levels, self._revision.count)
        if self._search is None or self._search[0] != key:
            self._search = (key, *self._search_zones(sums))
        _, low_or_none, blend_quiet = self._search
        if low_or_none is None:
            return last, self._last_sums, None
        low = low_or_none
        # Then the LEDs on their own, from the zones' answer down (a flash finer than the
        # cells: most blends the zones allow, the LEDs allow too).
        blend = self._each.blends(last.levels, light.levels) if self._each.spent(now) else None
        if blend is not None and low >= _FINEST_BLEND and self._each.blocks(blend, low, now):
            high, low = low, 0.0
            for _ in range(_SEARCH_STEPS):
                mid = (low + high) / 2
                if blend_quiet(mid) and not self._each.blocks(blend, mid, now):
                    low = mid
                else:
                    high = mid
        # Rounding the blend to real channel values moves it a little: check what will be shown.
        for alpha in (low, low * 0.9, low * 0.5):
            # (Showing the previous frame instead of blends of up to three steps, which no eye
            # tells from it, was tried on 2026-12-03: it let half the tree lit over four frames
            # flash 7 times a second on 100 LEDs with 22-28 ms between frames, 17 of 30
            # schedules against none: those blends move the zones' extremes.)
            if alpha < _FINEST_BLEND:
                break
            candidate, candidate_sums = self._candidate(last, light, alpha)
            verdict = self._each.judge(candidate.levels, now)
            if verdict is not None and verdict.blocked:
                continue
            if self._quiet_frame(candidate.levels, candidate_sums):
                if candidate is last:
                    # A kept blend can be the frame shown last. ``limit`` takes that object
                    # for "the previous frame again" and skips judging it, but a blend must be
                    # judged: that notes its saturated reds again, which refreshes their
                    # swings (red team round 48). A new object, as before the blends were kept.
                    candidate = replace(candidate)
                return candidate, candidate_sums, verdict
        # The previous frame again never completes a transition.
        return last, self._last_sums, None

    def _search_zones(
        self, sums: tuple[list[Rgb], Floats]
    ) -> tuple[float | None, Callable[[float], bool]]:
        """How far from the last frame toward one of these ``sums`` a blend may go without
        completing a transition in any zone, on the means alone (None: not even the finest
        step), and the test that says so of any blend."""
        ends = [
            (zone, self._means(old, zone), self._means(new, zone))
            for zone, (old, new) in enumerate(zip(self._last_sums[0], sums[0], strict=True))
        ]
        # The blend is linear in every zone's channel means, so a zone quiet at both ends (and
        # not a saturated red at either: redness is linear in them too) is quiet all the way.
        moving = [
            (zone, old, tuple(n - o for o, n in zip(old, new, strict=True)))
            for zone, old, new in ends
            if not (self._quiet_at(zone, old) and self._quiet_at(zone, new))
        ]

        answers: dict[float, bool] = {}  # the search asks the finest blend again

        def blend_quiet(alpha: float) -> bool:
            if alpha in answers:
                return answers[alpha]
            answers[alpha] = False
            for k, (zone, o, d) in enumerate(moving):
                if not self._still(
                    zone, (o[0] + alpha * d[0], o[1] + alpha * d[1], o[2] + alpha * d[2])
                ):
                    if k:  # the zone that held a blend back likely holds the next: ask it first
                        moving.insert(0, moving.pop(k))
                    return False
            answers[alpha] = True
            return True

        # Not even the blend's finest step is quiet: the search would end on the previous frame
        # (asked first, it spares the search to a strobe held at the limit, frame after frame).
        if not blend_quiet(_FINEST_BLEND):
            return None, blend_quiet
        low, high = 0.0, 1.0
        for _ in range(_SEARCH_STEPS):
            mid = (low + high) / 2
            if blend_quiet(mid):
                low = mid
            else:
                high = mid
        return low, blend_quiet

    def _candidate(
        self, last: Emission, light: Emission, alpha: float
    ) -> tuple[Emission, tuple[list[Rgb], Floats]]:
        """The blend ``alpha`` of the way from ``last`` to ``light`` as it will be shown, and
        its sums (the last few kept: a strobe held back asks for the same blend again)."""
        key = (last.levels, light.levels, alpha)
        made = self._candidates.get(key)
        if made is None:
            candidate = self._model.measure(self._model.from_levels(_blend(last, light, alpha)))
            made = candidate, self._zones.sums(candidate.levels)
            if len(self._candidates) >= _KEPT:
                del self._candidates[next(iter(self._candidates))]
            self._candidates[key] = made
        return made

    def _quiet_frame(self, levels: bytes, sums: tuple[list[Rgb], Floats]) -> bool:
        """Whether a frame completes no transition in any zone, on the means alone (the
        frames found so are kept while the swings stay as they were)."""
        if self._still_frames.get(levels) == self._revision.count:
            return True
        if not all(self._still(zone, self._means(rgb, zone)) for zone, rgb in enumerate(sums[0])):
            return False
        if len(self._still_frames) >= _KEPT:
            del self._still_frames[next(iter(self._still_frames))]
        self._still_frames[levels] = self._revision.count
        return True

    def _means(self, rgb: Rgb, zone: int) -> tuple[float, float, float]:
        full = self._full[zone]
        return rgb[0] / full, rgb[1] / full, rgb[2] / full

    def _quiet_at(self, zone: int, means: tuple[float, float, float]) -> bool:
        """Inside both swings' quiet ranges, and not a saturated red."""
        r, g, b = means
        general, red = self.swings[zone]
        total = r + g + b
        if total > 0 and r / total >= SATURATED_RED:
            return False
        luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
        redness = max(0.0, r - g - b) * RED_SCALE
        return general.lo <= luminance <= general.hi and red.lo <= redness <= red.hi

    def _still(self, zone: int, means: tuple[float, float, float]) -> bool:
        """Whether a zone at these channel means completes no transition, on the mean alone.

        (``_quiet_at`` first, inlined: the blend's bisection calls this thousands of times a
        second on a strobe.)"""
        r, g, b = means
        general, red = self.swings[zone]
        total = r + g + b
        saturated = total > 0 and r / total >= SATURATED_RED
        luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
        redness = max(0.0, r - g - b) * RED_SCALE
        if general.lo <= luminance <= general.hi and red.lo <= redness <= (
            red.red_hi if saturated else red.hi
        ):
            return True
        if general.turn((luminance, False, (), None), plain=True):
            return False
        return not red.turn((redness, saturated, (), None), plain=True)


def _quiet_red(
    red: Swing, now: float, blocked: bool, busy: list[tuple[Swing, State | None]]
) -> None:
    """A saturated red state in the quiet range changes nothing but the step, as the window
    empties: the window is asked (until a zone blocks the frame) and the swing noted as they
    would be for any other state, so the limiter judges every frame as if it had been worked
    out."""
    if not blocked:
        red.full(now)
    busy.append((red, None))


def _neighbours(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Whether two cells (height band, quadrant) share a side: together, an eighth of the tree."""
    (band_a, quadrant_a), (band_b, quadrant_b) = a, b
    if quadrant_a == quadrant_b:
        return abs(band_a - band_b) == 1
    return band_a == band_b and (quadrant_a - quadrant_b) % QUADRANTS in (1, QUADRANTS - 1)


def _blend(old: Emission, new: Emission, alpha: float) -> bytes:
    """Hardware levels ``alpha`` of the way from ``old`` to ``new``, rounded toward ``old``.

    All channels at once in big-int arithmetic: each level gets a 16-bit lane, so
    ``old * (256 - a) + new * a`` (at most 255 * 256) never carries into the next lane, and the
    high byte of each lane is the blended level. A few C-level operations per frame instead of
    thousands of Python ones.
    """
    weight = int(alpha * 256)  # rounding down keeps the blend on the old frame's side
    lanes = bytearray(2 * len(old.levels))
    lanes[0::2] = old.levels
    mixed = int.from_bytes(lanes, "little") * (256 - weight)
    lanes[0::2] = new.levels
    mixed += int.from_bytes(lanes, "little") * weight
    return mixed.to_bytes(len(lanes), "little")[1::2]
