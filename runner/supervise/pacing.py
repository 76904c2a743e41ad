"""Rate-capping for what viewers get, on the monotonic clock: the live view's frames and the
program's log (the tree's own frame pacing is ``runner.sandbox.grid.Pacer``, where the dry
run's clock can use it too)."""

from __future__ import annotations

from collections.abc import Callable

from protocol.messages import Frame, Log, Message
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


# The program's log reaches viewers at most this often, the text of every record since the
# last event in one: a program printing empty lines sent one event per byte (16,384 with the
# default log), and a connection holding 2,000 unsent messages is dropped as not reading, so
# the runner hung up on web (red team round sixteen). 20 a second look live in the editor.
LOG_PERIOD_S = 0.05


class LogFeed:
    """Forwards the program's log to viewers, at most once every ``LOG_PERIOD_S``."""

    def __init__(
        self, submission_id: str, emit: Callable[[Message], None], period: float = LOG_PERIOD_S
    ) -> None:
        self._id = submission_id
        self._period = period
        self._emit = emit
        self._pending: list[str] = []
        self._next = 0.0
        self.due: float | None = None  # when held text will be sent

    def add(self, text: str, now: float) -> None:
        """Note log text the program wrote at ``now``; send it if its slot has come."""
        self._pending.append(text)
        self.flush_if_due(now)

    def flush_if_due(self, now: float) -> None:
        """Send the held text if its slot has come; ``due`` says when it will."""
        if self._pending and now >= self._next:
            self.flush(now)
        self.due = self._next if self._pending else None

    def flush(self, now: float) -> None:
        """Send the held text now (the end of a run: nothing is left behind)."""
        if not self._pending:
            return
        text, self._pending = "".join(self._pending), []
        self._emit(Log(submission_id=self._id, text=text))
        self._next = now + self._period
        self.due = None
