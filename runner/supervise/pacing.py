"""Frame pacing for the tree and rate-capping for the live view, both on the monotonic clock."""

from __future__ import annotations

import math
from collections.abc import Callable

from protocol.messages import Frame, Message
from runner.leds import Led


class Pacer:
    """Holds frames to a fixed grid of slots from the run's first frame.

    Scheduling each frame from the moment the last sleep woke lets oversleeping accumulate
    (a 40 fps cap delivered 38.5-39.1 fps); a grid does not: a frame shown a little late is
    followed by the next on its own slot. Two frames are never closer than half a period (a late
    frame's successor waits that long), and a program that stalled for more than two periods
    restarts the grid from its next frame instead of catching up in a burst. Whatever the child
    does, the parent shows at most one frame per slot.
    """

    def __init__(self, fps: float) -> None:
        self.period = 1.0 / fps if fps > 0 else 0.0
        self._slot: float | None = None
        self._last = -math.inf

    def due(self, now: float) -> float:
        """When the next frame may be shown (``now`` for the first frame, or no cap)."""
        if not self.period or self._slot is None:
            return now
        return max(self._slot, self._last + self.period / 2)

    def shown(self, at: float) -> None:
        """Note that a frame was shown at ``at``; the next slot follows on the grid."""
        if not self.period:
            return
        slot = at if self._slot is None else self._slot
        if at - slot > 2 * self.period:
            slot = at  # a stall: restart the grid here rather than burst to catch up
        self._slot = slot + self.period
        self._last = at


class ViewerFeed:
    """Forwards shown frames to viewers at most ``view_fps`` times a second, last one always."""

    def __init__(
        self, submission_id: str, view_fps: float, emit: Callable[[Message], None]
    ) -> None:
        self._id = submission_id
        self._period = 1.0 / view_fps if view_fps > 0 else 0.0
        self._emit = emit
        self._pending: tuple[Led, ...] | None = None
        self._next = 0.0
        self._index = 0
        self.due: float | None = None

    def shown(self, leds: tuple[Led, ...], now: float) -> None:
        """Note a frame the LEDs showed at ``now``; forward it if its slot has come."""
        self._index += 1
        self._pending = leds
        self.flush_if_due(now)

    def flush_if_due(self, now: float) -> None:
        """Forward the held frame if its slot has come; ``due`` says when it will."""
        if self._pending is not None and now >= self._next:
            self.flush(now)
        self.due = self._next if self._pending is not None else None

    def flush(self, now: float) -> None:
        """Forward the held frame now (the run's last frame always reaches viewers)."""
        if self._pending is None:
            return
        leds, self._pending = self._pending, None
        self._emit(Frame(submission_id=self._id, index=self._index, leds=[list(v) for v in leds]))
        # Slot-based, not "period after the last send": with frames every 25 ms and a 40 ms
        # period, the latter sends every other frame (20/s); slots keep the full 25/s.
        self._next = max(self._next + self._period, now)
        self.due = None
