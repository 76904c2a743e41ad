"""Each LED's own flashes, added up by area: what means over zones cannot see.

The zones (``runner.protect.flash``) judge the mean light of parts of the tree. A pattern finer
than their cells cancels inside each cell: eight stripes (or wedges) taking turns keep every
cell half lit, so no zone's mean moves while half the tree strobes (red team round ten), and
steady reddish light in a cell hides a saturated red flash beside it. WCAG counts "the combined
area of flashes occurring concurrently", wherever they are. So the limiter also follows every
LED on its own, with the same measures, thresholds and hysteresis as a zone's (``flash``), and
counts each LED's transitions in the same window.

A frame is held back when the LEDs that complete a transition while already at their own limit
of six in the window cover ``AREA`` of the tree in that frame going one way (an eighth, "still
above the WCAG area at a room's distances", docs/protection.md; never fewer than
``FEW_LEDS + 1`` LEDs: a sparkle of three is no general flash), or ``BOTH_AREA`` rising and
falling added up, or ``WIDE_AREA`` together with those of the frames shown in the last
``RECENT_S`` (a flash whose edges are spread over two frames), or ``AREA`` rising and falling
added up when an eighth of the tree among those same LEDs changed together in six frames of the
window (the field they make has flashed three times); a saturated red flash, at half those
bars (``RED_AREA``, ``RED_BOTH_AREA``, ``RED_WIDE_AREA``). A field whose edges are spread over
frames counts one transition more than each of its LEDs, so LEDs at their sixth transition that
cover ``BOTH_AREA`` in a frame may not cover ``WIDE_AREA`` with those of the last ``RECENT_S``
(``LedTransitions._staggered``). The LEDs a frame was held back for stay
*held* while at their limit: they may not flash again in groups of a quarter of the bar.
Timing is what tells a flash from moving light: a snowflake lights LEDs ahead of it as it
darkens those behind, and the LEDs a falling flake passes take their turn one after another
(docs/protection.md has the figures for snow).

Red is judged a second time on neighbourhoods (``LedFields``): each LED with its five nearest,
their red added up without the other colours beside them cancelling it, counted by the same
rules as if each neighbourhood were an LED, where its own LED's red flashes at its own limit
(red team round twenty-one: a red field of a few saturated LEDs among orange-red ones, beside
steady green; round twenty-three: such a field ramping slowly, and candy stripes on a tightly
wound string). The neighbourhoods also give the LEDs on their own the area of the red field
their LEDs at the limit light, dark LEDs between them included (round twenty-three: a red
quarter strobing in two groups a frame apart, no two LEDs of a group neighbours). A
neighbourhood's red is also judged on its mean colour, where blue or green beside red cancels
it, gated on its own LED's red before the cut at 0 (red team round eighteen: steady red LEDs
beside blinking blue ones flash red as a field though no LED does).

NumPy keeps it cheap: both measures of every LED sit in one array of two rows, so a frame
costs about forty array operations, none per LED in Python; a frame equal to the last one costs
a bytes comparison.
"""

from __future__ import annotations

import functools
import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

# The same definitions as the zones', per LED.
from runner.protect.wcag import (
    DARK_BELOW,
    FEW_LEDS,
    GENERAL_STEP,
    MAX_TRANSITIONS,
    RED_SCALE,
    RED_STEP,
    WINDOW_S,
)
from runner.protect.zones import Position

# An eighth of the tree flashing together is a large area (docs/protection.md, "Zones").
AREA = 1 / 8
# A flash whose edges are spread over consecutive frames (a group of LEDs a frame after another,
# each under an eighth) still flashes together to the eye: the LEDs at their limit that changed
# within RECENT_S, this frame's included, may not cover a quarter of the tree (red team round
# seventeen: a quarter strobed at 10 Hz, its edges staggered by one frame). A quarter, not an
# eighth, for the frames together: snow's flakes move LEDs at their limit in every frame.
RECENT_S = 0.04  # the frame before at 40 frames a second, two at 60
# Frames further apart than RECENT_S (a program that sleeps 40 ms or more between frames, or a
# runner slowed by load) still have their edges spread over the frame before: "lately" always
# reaches back to the frame shown last, however long ago (``LedTransitions._since``). Found
# 2026-12-03: with frames 40-60 ms apart, a red field strobing beside steady red (red team round
# eighteen) made 9-12 transitions a second and the staggered quarter (round seventeen) 7, as no
# frame ever saw the one before it; stopping at 0.1 s instead, frames alternately 101 and 15 ms
# apart still made 9-10 (round forty-five). At 40 frames a second nothing changes.
WIDE_AREA = 1 / 4
# Rising and falling LEDs in one frame, added up (WCAG: "the combined area of flashes occurring
# concurrently"; red team round seventeen: two halves of a quarter in antiphase, each under an
# eighth). More than an eighth: light moving along the string lights LEDs ahead as it darkens
# those behind, both in the same frame (snow: 13 and more of 100 LEDs at their limit now and
# then, which held it back several times as often).
BOTH_AREA = 3 / 16

# A saturated red flash is held to a smaller area, a sixteenth of the tree going one way: the
# zones judge red on each zone's mean colour, where steady light of other colours beside it
# cancels it, so a red strobe smaller than an eighth would otherwise pass wherever the rest
# of the tree is lit. Snow has no red; a colour fading between red and green does not reach
# an LED's limit.
RED_AREA = 1 / 16
# The red rules of the LEDs as a whole, at the red bar: rising and falling red added up (two
# sixteenths in antiphase, red team round twenty-one), and one way over two frames (two groups
# just under a sixteenth, a frame apart) against an eighth, as WIDE_AREA is a quarter for all.
RED_BOTH_AREA = 3 / 32
RED_WIDE_AREA = 1 / 8

# A neighbourhood: an LED and the LEDs nearest it in space, this many in all, judged as one small
# field for red. A red field mixed from a few saturated LEDs and many orange-red ones is a
# saturated red as a field though most of its LEDs are not on their own, and steady green
# beside it cancels the zones' mean red (red team round twenty-one). Six: on a string wound
# round a cone, an LED, about two on either side of it along the string and the nearest of the
# turns above and below. (Light as a whole is not judged this way: snow's flakes, light moving
# along the string, take a neighbourhood past its limit twice as often as each LED; a field
# whose LEDs take turns stays open, docs/protection.md.)
NEIGHBOURHOOD = 6

# Frames whose measures a tracker keeps (``LedTransitions.judge``).
_SEEN_FRAMES = 4

Floats = npt.NDArray[np.float64]
Flags = npt.NDArray[np.bool_]
Indices = npt.NDArray[np.intp]

# An LED's hardware levels (R, G, B, unused; 0..255) times this give its luminance (0..1), its
# redness before the cut at 0 (``(R - G - B) * 320 / 255``), ``R - 4 (G + B)`` (0 or above: a
# saturated red, ``R / (R + G + B) >= 0.8``, unless all are 0) and R.
_COLUMNS = np.array(
    [
        [0.2126 / 255, RED_SCALE / 255, 1.0, 1.0],
        [0.7152 / 255, -RED_SCALE / 255, -4.0, 0.0],
        [0.0722 / 255, -RED_SCALE / 255, -4.0, 0.0],
        [0.0, 0.0, 0.0, 0.0],
    ]
)
# Per measure (row 0 general, row 1 red): the step, and the dark cap of the general measure (a
# fall ends below 0.8, a rise starts below it); the red measure has none.
_STEP = np.array([[GENERAL_STEP], [RED_STEP]])
_FALL_CAP = np.array([[float(np.nextafter(DARK_BELOW, 0.0))], [np.inf]])
_RISE_FROM = np.array([[DARK_BELOW], [np.inf]])
# The same for two rows of red measures (neighbourhoods, and their own LEDs' red).
_RED_STEPS = np.array([[RED_STEP], [RED_STEP]])
_NO_CAP = np.array([[np.inf], [np.inf]])


@dataclass(frozen=True)
class Measures:
    """A frame's measures: row 0 each LED's luminance, row 1 its redness; ``peaks``: True where
    the state may be a peak (general: always; red: a saturated red)."""

    values: Floats
    peaks: Flags
    # Neighbourhoods (``_near_measures``): each LED's own red, before the cut at 0 (row 0) and
    # cut at 0 (row 1).
    own: Floats | None = None


def _measures(columns: Floats) -> Measures:
    """From the LEDs' levels times ``_COLUMNS``."""
    rows = columns.T
    values = rows[:2].copy()
    np.maximum(values[1], 0.0, out=values[1])
    peaks = np.ones_like(values, np.bool_)
    np.logical_and(rows[2] >= 0, rows[3] > 0, out=peaks[1])
    return Measures(values, peaks)


def measures(levels: bytes) -> Measures:
    """The measures of a frame's hardware levels (4 bytes per LED, the 4th unused)."""
    return _measures(np.frombuffer(levels, np.uint8).reshape(-1, 4) @ _COLUMNS)


def led_measures(levels: bytes) -> tuple[Floats, Floats]:
    """Each LED's luminance and red measure (cut at 0) of a frame's hardware levels, as the
    zones' means have them (``flash``)."""
    values = measures(levels).values
    return values[0], values[1]


def neighbourhoods(positions: Sequence[Position], size: int = NEIGHBOURHOOD) -> Indices:
    """For each LED, the ``size`` LEDs nearest it in space, itself included (ties by strip
    order): one row per LED (read-only)."""
    points = np.asarray(positions, np.float64).reshape(-1, 3)
    # A view of the cached array, itself read-only: a view's WRITEABLE flag cannot be set back
    # while its base's is off, so no caller can change what every protector shares (round 42).
    return _neighbourhoods(points.tobytes(), size).view()


# Every dry run builds a protector for the tree, and finding a 5,000-LED tree's neighbourhoods
# takes about a second, the same one each time (red team round thirty-nine): kept for the few
# layouts a runner sees.
@functools.lru_cache(maxsize=4)
def _neighbourhoods(packed: bytes, size: int) -> Indices:
    points = np.frombuffer(packed, np.float64).reshape(-1, 3)
    count = len(points)
    size = max(1, min(size, count))
    rows = np.empty((count, size), np.intp)
    for start in range(0, count, 256):  # 256 rows of distances at a time: 5,000 LEDs in 10 MB
        block = points[start : start + 256]
        distances = ((block[:, None, :] - points[None, :, :]) ** 2).sum(axis=2)
        # A stable sort: LEDs at the same distance in strip order, so the choice is the same
        # on every machine.
        rows[start : start + len(block)] = np.argsort(distances, axis=1, kind="stable")[:, :size]
    rows.setflags(write=False)  # shared by every protector of this layout
    return rows


def _near_measures(columns: Floats, rows: Indices) -> Measures:
    """The measures of each neighbourhood (a row of ``rows``) from its LEDs' ``columns``.

    Red only (see ``NEIGHBOURHOOD``), two ways. Row 1: the mean of its LEDs' own redness cut at
    0, and the neighbourhood may be at a peak of red when its red LEDs together are a saturated
    red: green or blue light beside a red field cancels neither (the field is red to the eye
    wherever its edge lies), and a red field mixed from a few saturated LEDs and many
    orange-red ones is as saturated as its mean (red team round twenty-one). Row 0: the red of
    its mean colour, as WCAG reads a field, at a peak when that colour is a saturated red:
    other colours beside red LEDs cancel their red here, so steady red LEDs beside blinking
    blue ones flash red as a field (red to magenta and back) though no LED does (red team
    round eighteen).
    """
    red = columns[:, 1]
    reddish = red > 0
    values = np.empty((2, len(rows)))
    near = red[rows]
    np.maximum(near.mean(axis=1), 0.0, out=values[0])
    np.maximum(near, 0.0, out=near)
    values[1] = near.mean(axis=1)
    peaks = np.empty_like(values, np.bool_)
    saturation = columns[:, 2][rows]
    np.logical_and(saturation.sum(axis=1) >= 0, (columns[:, 3] > 0)[rows].any(axis=1), out=peaks[0])
    saturation[~reddish[rows]] = 0.0
    np.logical_and(saturation.sum(axis=1) >= 0, reddish[rows].any(axis=1), out=peaks[1])
    own = np.empty_like(values)
    own[0] = red
    np.maximum(red, 0.0, out=own[1])
    return Measures(values, peaks, own)


def _own_measures(own: Floats) -> Measures:
    """Each LED's own red (``Measures.own``) as measures whose every state may be a peak: a
    red field counts its orange-red LEDs' flashes as well as its saturated ones'."""
    return Measures(own, np.ones_like(own, np.bool_))


@dataclass(frozen=True)
class Blend:
    """The frames between two, as ``flash._blend`` makes them (before rounding): each LED's
    luminance, red excess and saturation are linear in the channels. ``rows``: measured as
    neighbourhoods (``LedTransitions``)."""

    start: Floats
    change: Floats
    rows: Indices | None = None
    # The measures asked for so far, by ``alpha``: a strobe held back at the limit is blended
    # between the same two frames, the same way, frame after frame (``LedTransitions.blend``).
    _at: dict[float, Measures] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def between(cls, old: bytes, new: bytes, rows: Indices | None = None) -> Blend:
        start = np.frombuffer(old, np.uint8).reshape(-1, 4) @ _COLUMNS
        return cls(start, np.frombuffer(new, np.uint8).reshape(-1, 4) @ _COLUMNS - start, rows)

    def at(self, alpha: float) -> Measures:
        """The measures ``alpha`` of the way (read-only arrays)."""
        seen = self._at.get(alpha)
        if seen is None:
            columns = self.start + alpha * self.change
            seen = _measures(columns) if self.rows is None else _near_measures(columns, self.rows)
            _freeze(seen)
            if len(self._at) >= _SEEN_FRAMES:
                del self._at[next(iter(self._at))]
            self._at[alpha] = seen
        return seen


def _freeze(seen: Measures) -> None:
    """Make a frame's measures read-only: they are kept and shared by later frames."""
    for array in (seen.values, seen.peaks, seen.own):
        if array is not None:
            array.setflags(write=False)


@dataclass(frozen=True)
class Verdict:
    """What a frame would do: whether it must be held back, and which LEDs complete a
    transition of which measure, falling and rising (rows as in ``Measures``)."""

    blocked: bool
    seen: Measures
    falls: Flags
    rises: Flags
    spent: Flags | None  # LEDs that complete a transition at their limit (None: none can)
    red: Flags | None = None  # of those, the LEDs that complete a red one
    # LEDs at their sixth transition or later that flash a field spread over frames
    # (``LedTransitions._staggered``; None: none)
    late: Flags | None = None
    # No LED completes a transition (most frames): shown, it only widens the extremes.
    still: bool = False


class LedTransitions:
    """Counts each LED's transitions and holds back frames that flash a large area.

    Given ``neighbourhoods`` (a row of LED indices per LED), it follows the red of each row
    instead (``_near_measures``), as if each neighbourhood were an LED: the same rules then count
    small red fields.
    """

    def __init__(
        self,
        led_count: int,
        neighbourhoods: Indices | None = None,
        fields: Indices | None = None,
        red: bool = False,
    ) -> None:
        """``neighbourhoods``: judge each row's red as one small field (see the class);
        ``fields``: each LED's neighbourhood, to measure the area that red LEDs at their limit
        spread over (``_field_flashes``); ``red``: both rows are red measures (the own LEDs'
        red of neighbourhoods, ``_own_red``), as they are with ``neighbourhoods``."""
        self._neighbourhoods = neighbourhoods
        self._fields = fields
        # Both rows measure red for neighbourhoods and their own LEDs (``red``).
        self._step, self._fall_cap, self._rise_from = (
            (_STEP, _FALL_CAP, _RISE_FROM)
            if not red and neighbourhoods is None
            else (_RED_STEPS, _NO_CAP, _NO_CAP)
        )
        # Neighbourhoods only: a neighbourhood's flash counts toward the area only where its
        # own LED's red (saturated or not) flashes on its own, at its own limit
        # (``_own_flashing``). One LED strobing moves the mean of the six neighbourhoods
        # it belongs to (a sparkle of three LEDs would otherwise count as a flash of fifteen),
        # and light moving along the string moves a neighbourhood's mean more often than any of
        # its LEDs (red team round twenty-three: candy stripes on a tightly wound string,
        # where each neighbourhood holds the turns above and below).
        self._own_red = None if neighbourhoods is None else LedTransitions(led_count, red=True)
        self._area = max(FEW_LEDS + 1, AREA * led_count)
        self._wide_area = max(FEW_LEDS + 1, WIDE_AREA * led_count)
        self._both_area = max(FEW_LEDS + 1, BOTH_AREA * led_count)
        self._red_area = max(FEW_LEDS + 1, RED_AREA * led_count)
        self._red_both_area = max(FEW_LEDS + 1, RED_BOTH_AREA * led_count)
        self._red_wide_area = max(FEW_LEDS + 1, RED_WIDE_AREA * led_count)
        # A held LED may not flash again in a group of a thirty-second of the tree (a quarter of
        # the bar; red team round nineteen: with half the bar, a sixteenth less one LED, falling
        # while the rest of the held field stayed lit, went on strobing at 20 Hz).
        self._held_area = max(FEW_LEDS + 1, AREA * led_count / 4)
        # The LEDs that completed a transition at their limit in frames shown lately, when
        # (any measure; and red alone).
        self._recent: deque[tuple[float, Flags]] = deque()
        self._recent_red: deque[tuple[float, Flags]] = deque()
        # ``fields`` only: the LEDs that completed a red transition in frames shown lately that
        # was their sixth in the window or later. A field whose LEDs take turns a frame apart
        # makes a transition at the first group's edge and again at the second's, so it counts
        # one more than each of its LEDs: its LEDs must be stopped one transition earlier.
        self._recent_field: deque[tuple[float, Flags, Flags]] = deque()  # when, rising, falling
        # ``fields`` only: each LED's red in the frames shown lately and the one before them.
        self._shown_red: deque[tuple[float, Floats]] = deque()
        # LEDs of a large flashing area a frame was held back for: while they stay at their
        # limit, none of them may complete another transition, however few move at once (or
        # the held-back pattern would go on flashing in groups just under the bar).
        self._held = np.zeros(led_count, np.bool_)
        # The same for LEDs of a field spread over frames, held at their sixth (``_staggered``).
        self._held_late = np.zeros(led_count, np.bool_)
        shape = (2, led_count)
        # Since each LED's last transition of each measure: the highest state that may be a
        # peak (-inf: none yet) and the lowest state; which way that transition went (+1 up,
        # -1 down, 0 none yet). Empty until the first frame.
        self._high = np.full(shape, -np.inf)
        self._low = np.full(shape, np.inf)
        self._rising = np.zeros(shape, np.int8)
        self._may_fall = self._may_rise = np.ones(shape, np.bool_)  # from ``_rising``
        # From those, where the next transition starts: a fall at or below ``_falls_at``, a
        # rise at or above ``_rises_at`` in a state that may be a peak (infinite: not now).
        self._falls_at = np.full(shape, -np.inf)
        self._rises_at = np.full(shape, np.inf)
        self._levels = b""  # the last frame noted: the same frame again changes nothing
        # The measures of the frames judged last, by their levels: a frame held back at the limit
        # often alternates with a blend of one step toward it, frame after frame.
        self._seen: dict[bytes, Measures] = {}
        self._blend: tuple[tuple[bytes, bytes], Blend] | None = None  # the last pair asked for
        self._shown_at = -np.inf  # when it was shown
        # Transitions in the window: when, and which LEDs made them.
        self._window: deque[tuple[float, Flags]] = deque()
        self._counts = np.zeros(shape, np.int32)
        self._field: Flags | None = None  # the window's LEDs that moved, a row a frame (cache)
        self._spent = False  # some LED has six transitions of a measure in the window
        # ``fields`` only: some LED has five, and the LEDs that completed their sixth transition
        # or a later one (of any measure) in the frames shown lately, when. A field
        # whose edges are spread over two frames makes a transition at the first group's edge
        # and again at the second's, so it counts one more than each of its LEDs
        # (``_staggered``).
        self._nearly = False
        self._recent_late: deque[tuple[float, Flags]] = deque()

    @property
    def counts(self) -> npt.NDArray[np.int32]:
        """Each LED's transitions of each measure in the window (rows as in ``Measures``)."""
        return self._counts

    def under_way(self, values: Floats) -> Flags:
        """Where a state of these values is half a step or more from the extremes since the
        last transition, the way the next one goes: a transition under way."""
        half = self._step / 2
        falling = self._may_fall & (values <= self._high - half)
        return np.asarray(falling | (self._may_rise & (values >= self._low + half)))

    def judge(self, levels: bytes, now: float) -> Verdict | None:
        """The verdict on a frame at monotonic ``now``; None when it is the frame last noted
        (it changes nothing)."""
        if levels == self._levels:
            return None
        seen = self._seen.get(levels)
        if seen is None:
            columns = np.frombuffer(levels, np.uint8).reshape(-1, 4) @ _COLUMNS
            rows = self._neighbourhoods
            seen = _measures(columns) if rows is None else _near_measures(columns, rows)
            _freeze(seen)  # shared by later frames with these levels
            if len(self._seen) >= _SEEN_FRAMES:
                del self._seen[next(iter(self._seen))]
            self._seen[levels] = seen
        return self.verdict(seen, now)

    def blend(self, old: bytes, new: bytes) -> Blend:
        """The frames between ``old`` and ``new``, measured as this tracker measures them (the
        last pair asked for is kept: a strobe held back asks for the same one again)."""
        if self._blend is None or self._blend[0] != (old, new):
            self._blend = ((old, new), Blend.between(old, new, self._neighbourhoods))
        return self._blend[1]

    def spent(self, now: float) -> bool:
        """Whether some LED has six transitions of a measure in the window at ``now``: no
        frame can be held back until one has."""
        self._expire(now)
        return self._spent or self._nearly

    def blocks(self, blend: Blend, alpha: float, now: float) -> bool:
        """Whether the frame ``alpha`` of the way along ``blend`` would be held back."""
        return self.spent(now) and self.verdict(blend.at(alpha), now).blocked

    def edges(self, seen: Measures, now: float) -> tuple[Flags, Flags, Flags | None]:
        """Which LEDs a frame of these measures makes complete a transition, falling and
        rising (rows as in ``Measures``), and of those the LEDs at their limit (None: none
        can be)."""
        self._expire(now)
        values = seen.values
        falls = values <= self._falls_at
        rises = (values >= self._rises_at) & seen.peaks & ~falls
        if not self._spent:
            return falls, rises, None
        # LEDs for which this transition would be the seventh of its measure in the window,
        # rising or falling: WCAG adds up "the combined area of flashes occurring concurrently"
        # (red team round seventeen: two halves of a quarter in antiphase, each a hair under an
        # eighth, passed when the larger direction alone was asked).
        spent = self._counts >= MAX_TRANSITIONS
        return falls, rises, spent

    def plain_verdict(self, seen: Measures, now: float) -> Verdict:
        """The transitions a frame of these measures completes, never held back: for a tracker
        whose counts only inform another (``_own_red``)."""
        falls, rises, spent = self.edges(seen, now)
        if not falls.any() and not rises.any():
            return Verdict(False, seen, falls, rises, None, still=True)
        moves = None if spent is None else np.asarray((falls | rises) & spent)  # per measure
        return Verdict(False, seen, falls, rises, moves)

    def verdict(self, seen: Measures, now: float) -> Verdict:
        """The verdict on a frame of these measures at monotonic ``now``."""
        falls, rises, spent = self.edges(seen, now)
        if not falls.any() and not rises.any():
            # Most frames: no LED completes a transition, so no rule can hold the frame back.
            moves = None if spent is None else np.zeros(len(self._held), np.bool_)
            return Verdict(False, seen, falls, rises, moves, still=True)
        late = self._staggered(falls, rises, now)
        staggered = late is not None
        if spent is None:
            return Verdict(staggered, seen, falls, rises, None, late=late)
        area: Callable[[Flags], int] = np.count_nonzero
        if self._own_red is not None and seen.own is not None:
            spent, area = self._gated(spent, falls | rises, seen.own, now)
        up = np.asarray((rises & spent).any(axis=0))
        down = np.asarray((falls & spent).any(axis=0))
        moves = up | down
        if not np.count_nonzero(moves):
            return Verdict(staggered, seen, falls, rises, moves, late=late)
        count = area(moves)
        if self._own_red is None:
            red_up, red_down = rises[1] & spent[1], falls[1] & spent[1]
        else:  # both measures of a neighbourhood are red
            red_up, red_down = up, down
        blocked = (
            staggered
            or max(area(up), area(down)) >= self._area
            or count >= self._both_area
            or area(self.lately(moves, now)) >= self._wide_area
            or area(moves & self._held) >= self._held_area
            or self._red_blocked(red_up, red_down, now, area, seen.values[1])
            # The two ways added up against an eighth only when these LEDs have moved together
            # before: snow's flakes reach that sum now and then, each LED at its own moment;
            # a field strobing just under three sixteenths (red team round nineteen) does it in
            # every frame.
            or (count >= self._area and self._field_transitions(moves, area) >= MAX_TRANSITIONS)
        )
        return Verdict(bool(blocked), seen, falls, rises, moves, red_up | red_down, late)

    def _staggered(self, falls: Flags, rises: Flags, now: float) -> Flags | None:
        """The LEDs of a field spread over frames that this frame would flash once more than
        its LEDs may, or None.

        A field whose edges are spread over frames (a group of LEDs a frame after another)
        makes a transition at the first group's edge and again at the last's, so as one field
        it counts one more than each of its LEDs (red team round seventeen: a quarter strobing
        in groups a frame apart, 7 transitions a second where each LED had 6). So its LEDs are
        stopped at their sixth: LEDs completing their sixth transition of a measure or a later
        one that cover ``BOTH_AREA`` of the tree in this frame, but not ``WIDE_AREA``, may not
        cover ``WIDE_AREA`` with those that did so in the frames shown in the last
        ``RECENT_S`` (a flash of the whole area in one frame is left to the other rules, at the
        seventh; snow's flakes, a few LEDs a frame, never reach the lower bar). Once a frame
        was held back for them, those LEDs stay held (``hold``) while at five or more: they
        may not complete another transition in groups of ``_held_area``, or the blends toward
        the held frame would bring them there a little at a time."""
        if self._fields is None or not self._nearly:
            return None
        moves = np.asarray(((falls | rises) & (self._counts >= MAX_TRANSITIONS - 1)).any(axis=0))
        count = np.count_nonzero(moves)
        if not count:
            return None
        if np.count_nonzero(moves & self._held_late) >= self._held_area:
            return moves
        if not self._both_area <= count < self._wide_area:
            return None
        field = moves.copy()
        for at, shown in self._recent_late:
            if at > self._since(now):
                field |= shown
        return field if np.count_nonzero(field) >= self._wide_area else None

    def _gated(
        self, spent: Flags, done: Flags, own: Floats, now: float
    ) -> tuple[Flags, Callable[[Flags], int]]:
        """For neighbourhoods: those at their limit, of the mean colour's red (row 0) only
        those whose own LED's red before the cut flashes at its own limit, and how many LEDs
        a set of them covers: those whose own LED's red flashes at its own limit
        (``_own_flashing``), by either measure."""
        assert self._own_red is not None
        active = self._own_flashing(self._own_red, own, now)
        spent = spent.copy()
        spent[0] &= active[0]
        admitted = np.asarray(active[1] | (done[0] & spent[0]))

        def area(flags: Flags) -> int:
            return int(np.count_nonzero(flags & admitted))

        return spent, area

    @staticmethod
    def _own_flashing(tracker: LedTransitions, own: Floats, now: float) -> Flags:
        """The LEDs whose own red (saturated or not; row 1 cut at 0, row 0 before the cut) has
        made six transitions in the window: they flash on their own as fast as the limit
        allows. A red field mixed from saturated and orange-red LEDs flashes every LED of it
        (red team round twenty-one), however slowly each frame ramps (round twenty-three); an
        LED that stripes or a sparkle pass no more than three times a second does not, and a
        blue LED beside steady red ones blinking at 10 Hz does by its red before the cut (round
        eighteen). Of those, the LEDs that complete a transition in this frame or did in the
        last ``RECENT_S``, or are half a step into one: a chase past an LED at its limit moves
        its neighbourhood's mean in frames the LED stays still, and a blend toward the last
        frame moves it by less than a step a frame, but not for long. One row per measure."""
        falls, rises = tracker.edges(_own_measures(own), now)[:2]
        spent = tracker.counts >= MAX_TRANSITIONS
        return tracker.lately(np.asarray(spent & (falls | rises | tracker.under_way(own))), now)

    def _field_transitions(self, moves: Flags, area: Callable[[Flags], int]) -> int:
        """In how many frames of the window an eighth of the tree among ``moves`` completed a
        transition (of either measure, either way): the transitions of the field they make.
        Asked only when ``moves`` covers an eighth, so most frames never stack the window."""
        if not self._window:
            return 0
        if self._field is None:  # the window changed since the last call
            self._field = np.stack([d.any(axis=0) for _, d in self._window])
        done = self._field
        if self._neighbourhoods is not None:
            return sum(area(row & moves) >= self._area for row in done)
        return int(np.count_nonzero(np.count_nonzero(done & moves, axis=1) >= self._area))

    def _red_blocked(
        self, up: Flags, down: Flags, now: float, area: Callable[[Flags], int], red: Floats
    ) -> bool:
        """Whether LEDs at their limit completing a red transition (``up``, ``down``) cover
        ``RED_AREA`` one way, ``RED_BOTH_AREA`` both ways, or ``RED_WIDE_AREA`` with those of
        the last ``RECENT_S``, or flash a red field that large (``_field_flashes``; ``red``:
        each LED's red in this frame)."""
        rising, falling = area(up), area(down)
        if not rising and not falling:
            return False
        if max(rising, falling) >= self._red_area or rising + falling >= self._red_both_area:
            return True
        both = up | down
        for at, earlier in self._recent_red:
            if at > self._since(now):
                both = both | earlier
        if area(both) >= self._red_wide_area:
            return True
        return self._field_flashes(up, down, now, red)

    def _field_flashes(self, up: Flags, down: Flags, now: float, red: Floats) -> bool:
        """Whether LEDs at their limit (``up``, ``down``) and those that went the same way
        lately (``_recent_field``) flash a red field of ``RED_WIDE_AREA``, the dark LEDs between
        them included (``fields`` given). A red field whose LEDs are picked so that no two of
        them are neighbours flashes as a field all the same (red team round twenty-three: a
        quarter, half its LEDs in two groups a frame apart, each under a sixteenth of the
        tree)."""
        if self._fields is None:
            return False
        for at, rising, falling in self._recent_field:
            if at > self._since(now):
                up, down = up | rising, down | falling
        change = self._red_change(red, now)
        for flashing, sign in ((up, 1.0), (down, -1.0)):
            field = self._covered(flashing)
            size = np.count_nonzero(field)
            if size >= self._red_wide_area and sign * change[field].sum() >= RED_STEP * size:
                return True
        return False

    def _covered(self, flashing: Flags) -> Flags:
        """The LEDs at least two of whose neighbourhood are among ``flashing``: the field they
        make. Never two sparkles of ``FEW_LEDS``: a few LEDs cover several times their number
        of neighbourhoods."""
        assert self._fields is not None
        if np.count_nonzero(flashing) <= 2 * FEW_LEDS:
            return np.zeros_like(flashing)
        return np.asarray(np.count_nonzero(flashing[self._fields], axis=1) >= 2)

    def _red_change(self, red: Floats, now: float) -> Floats:
        """Each LED's red now less its red in the frame shown before the last ``RECENT_S``.
        The field's mean red must move by the step: LEDs flickering at random, each at its
        limit (fire's embers), cover as large a field one way now and then, but it stays as
        red as it was."""
        before = None
        for at, shown in self._shown_red:
            if at <= self._since(now):
                before = shown
        return red if before is None else red - before

    def _since(self, now: float) -> float:
        """Where "lately" starts at ``now``: ``RECENT_S`` ago, or just before the frame shown
        last if that is earlier (``lately`` means after)."""
        return min(now - RECENT_S, math.nextafter(self._shown_at, -math.inf))

    def lately(self, moves: Flags, now: float) -> Flags:
        """``moves`` and the LEDs that completed a transition at their limit within
        ``RECENT_S`` before ``now``."""
        while self._recent and self._recent[0][0] <= self._since(now):
            self._recent.popleft()
        lately = moves.copy()
        for _, earlier in self._recent:
            lately |= earlier
        return lately

    def hold(self, verdict: Verdict, now: float) -> None:
        """A frame was held back for ``verdict``: the LEDs at their limit that flashed in it
        (and just before) may not flash again while they stay at their limit."""
        if verdict.spent is not None:
            self._held |= self.lately(verdict.spent, now)
        if verdict.late is not None:
            self._held_late |= verdict.late

    def note(self, verdict: Verdict | None, levels: bytes, now: float) -> None:
        """The frame judged as ``verdict`` (with these hardware levels) was shown at ``now``:
        where an LED completed a transition, its extremes start again from this frame;
        elsewhere they widen to include it."""
        if verdict is None:
            return
        self._levels = levels
        own = verdict.seen.own
        if own is not None and self._own_red is not None:
            self._own_red.note(self._own_red.plain_verdict(_own_measures(own), now), levels, now)
        values, falls, rises = verdict.seen.values, verdict.falls, verdict.rises
        peaks = np.where(verdict.seen.peaks, values, -np.inf)
        if verdict.still:  # most frames: what follows, with no LED done
            self._note_still(values, peaks, now)
            return
        done = falls | rises
        if verdict.spent is not None and np.count_nonzero(verdict.spent):
            self._recent.append((now, verdict.spent))
        while self._recent_red and self._recent_red[0][0] <= self._since(now):
            self._recent_red.popleft()
        if verdict.red is not None and np.count_nonzero(verdict.red):
            self._recent_red.append((now, verdict.red))
        if self._fields is not None:
            self._note_field(verdict, now)
            self._note_late(done, now)
        if np.count_nonzero(done):
            self._high = np.where(done, peaks, np.maximum(self._high, peaks))
            self._low = np.where(done, values, np.minimum(self._low, values))
            self._rising = np.where(falls, -1, np.where(rises, 1, self._rising)).astype(np.int8)
            self._may_fall, self._may_rise = self._rising >= 0, self._rising <= 0
            self._counts += done
            self._window.append((now, done))
            self._field = None
            self._spent = bool(np.count_nonzero(self._counts >= MAX_TRANSITIONS))
            self._nearly = bool(np.count_nonzero(self._counts >= MAX_TRANSITIONS - 1))
        elif (peaks > self._high).any() or (values < self._low).any():  # the extremes widen
            np.maximum(self._high, peaks, out=self._high)
            np.minimum(self._low, values, out=self._low)
        else:  # nothing moves past the extremes, so nothing below changes
            self._shown_at = now
            return
        self._update_starts()
        self._shown_at = now

    def _update_starts(self) -> None:
        """Where the next transitions start, from the extremes and directions."""
        self._falls_at = np.where(
            self._may_fall, np.minimum(self._high - self._step, self._fall_cap), -np.inf
        )
        self._rises_at = np.where(
            self._may_rise & (self._low < self._rise_from), self._low + self._step, np.inf
        )

    def _note_still(self, values: Floats, peaks: Floats, now: float) -> None:
        """``note`` for a frame in which no LED completed a transition: the same, step by
        step, without the LEDs that did."""
        while self._recent_red and self._recent_red[0][0] <= self._since(now):
            self._recent_red.popleft()
        if self._fields is not None:
            while self._recent_field and self._recent_field[0][0] <= self._since(now):
                self._recent_field.popleft()
            self._note_shown_red(values[1], now)
            while self._recent_late and self._recent_late[0][0] <= self._since(now):
                self._recent_late.popleft()
        if (peaks > self._high).any() or (values < self._low).any():  # the extremes widen
            np.maximum(self._high, peaks, out=self._high)
            np.minimum(self._low, values, out=self._low)
            self._update_starts()
        self._shown_at = now

    def _note_shown_red(self, red: Floats, now: float) -> None:
        shown = self._shown_red
        shown.append((now, red))
        while len(shown) > 1 and shown[1][0] <= self._since(now):
            shown.popleft()

    def _note_field(self, verdict: Verdict, now: float) -> None:
        """Remember the LEDs that complete a red transition one short of their limit or
        beyond (before the counts take this frame in)."""
        while self._recent_field and self._recent_field[0][0] <= self._since(now):
            self._recent_field.popleft()
        self._note_shown_red(verdict.seen.values[1], now)
        late = self._counts[1] >= MAX_TRANSITIONS - 1
        rising, falling = verdict.rises[1] & late, verdict.falls[1] & late
        if np.count_nonzero(rising) or np.count_nonzero(falling):
            self._recent_field.append((now, rising, falling))

    def _note_late(self, done: Flags, now: float) -> None:
        """Remember the LEDs that complete their sixth transition or a later one (before the
        counts take this frame in), for ``_staggered``."""
        while self._recent_late and self._recent_late[0][0] <= self._since(now):
            self._recent_late.popleft()
        if not self._nearly:
            return
        late = np.asarray((done & (self._counts >= MAX_TRANSITIONS - 1)).any(axis=0))
        if np.count_nonzero(late):
            self._recent_late.append((now, late))

    def _expire(self, now: float) -> None:
        window = self._window
        if not window or window[0][0] > now - WINDOW_S:
            return
        while window and window[0][0] <= now - WINDOW_S:
            self._counts -= window.popleft()[1]
        self._field = None
        spent = (self._counts >= MAX_TRANSITIONS).any(axis=0)
        self._spent = bool(np.count_nonzero(spent))
        nearly = (self._counts >= MAX_TRANSITIONS - 1).any(axis=0)
        self._nearly = bool(np.count_nonzero(nearly))
        self._held &= spent
        self._held_late &= nearly  # back under its limit: free to flash again, up to it


@dataclass(frozen=True)
class Verdicts:
    """The verdicts on one frame of each LED on its own and of each neighbourhood's mean."""

    each: Verdict
    near: Verdict

    @property
    def blocked(self) -> bool:
        return self.each.blocked or self.near.blocked


class LedFields:
    """Each LED on its own, and each LED's neighbourhood as one small red field, counted by the
    same rules: a frame either would hold back is held back."""

    def __init__(self, positions: Sequence[Position]) -> None:
        count = len(positions)
        rows = neighbourhoods(positions)
        self.each = LedTransitions(count, fields=rows)
        self.near = LedTransitions(count, rows)

    def judge(self, levels: bytes, now: float) -> Verdicts | None:
        """Both verdicts on a frame at monotonic ``now``; None when it is the frame last noted."""
        each = self.each.judge(levels, now)
        near = self.near.judge(levels, now)
        if each is None or near is None:  # both noted the same frame: both or neither
            return None
        return Verdicts(each, near)

    def spent(self, now: float) -> bool:
        """Whether some LED or neighbourhood is at its limit: no frame can be held back before."""
        return self.each.spent(now) or self.near.spent(now)

    def blends(self, old: bytes, new: bytes) -> tuple[Blend, Blend]:
        """The frames between two, for each tracker."""
        return self.each.blend(old, new), self.near.blend(old, new)

    def blocks(self, blends: tuple[Blend, Blend], alpha: float, now: float) -> bool:
        """Whether the frame ``alpha`` of the way along ``blends`` would be held back."""
        return self.each.blocks(blends[0], alpha, now) or self.near.blocks(blends[1], alpha, now)

    def hold(self, verdicts: Verdicts, now: float) -> None:
        """A frame was held back for ``verdicts``."""
        self.each.hold(verdicts.each, now)
        self.near.hold(verdicts.near, now)

    def note(self, verdicts: Verdicts | None, levels: bytes, now: float) -> None:
        """The frame judged as ``verdicts`` was shown at ``now``."""
        if verdicts is None:
            return
        self.each.note(verdicts.each, levels, now)
        self.near.note(verdicts.near, levels, now)
