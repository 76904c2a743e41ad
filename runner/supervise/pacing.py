"""Rate-capping for the live view, on the monotonic clock (the tree's own frame pacing is
``runner.sandbox.grid.Pacer``, where the dry run's clock can use it too)."""

from __future__ import annotations

from collections.abc import Callable

from protocol.messages import Frame, Message
from runner.leds import Led


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
