"""The tree's frame grid (``Pacer``), on whatever clock it is fed: the parent's monotonic clock
on the tree, a dry run's virtual clock in the sandbox child. One implementation for both, so a
dry run paces frames exactly as the tree does; this module imports nothing the confined child
may not (no pydantic, unlike ``runner.supervise.pacing``)."""

from __future__ import annotations

import math


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
