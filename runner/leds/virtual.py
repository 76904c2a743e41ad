"""The virtual tree: no hardware, records every frame it was shown."""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass

from runner.leds import Led, LedFrame, Strip


@dataclass(frozen=True)
class ShownFrame:
    """One frame as the virtual LEDs showed it, with the monotonic time it was shown."""

    at: float
    leds: tuple[Led, ...]


class VirtualStrip(Strip):
    """A real in-memory strip: what the live view and the tests use.

    Keeps the history of shown frames (bounded by ``history``) so tests can assert on it.
    """

    name = "virtual"

    def __init__(self, led_count: int, history: int = 10_000) -> None:
        super().__init__(led_count)
        self._lock = threading.Lock()
        self._history: list[ShownFrame] = []
        self._limit = history
        self.shown_count = 0
        self.current: tuple[Led, ...] = tuple((0, 0, 0, 0) for _ in range(led_count))

    def _write(self, frame: LedFrame) -> None:
        # Frames from the supervisor are already tuples of tuples (immutable): keep them as they
        # are; copying 500 LEDs per frame cost a third of the pipeline's time.
        leds = frame if type(frame) is tuple else tuple(tuple(led) for led in frame)
        shown = ShownFrame(time.monotonic(), leds)  # type: ignore[arg-type]
        with self._lock:
            self.current = shown.leds
            self.shown_count += 1
            self._history.append(shown)
            if len(self._history) > self._limit:
                del self._history[: len(self._history) - self._limit]

    @property
    def frames(self) -> list[ShownFrame]:
        """A copy of the recorded history, oldest first."""
        with self._lock:
            return list(self._history)

    def clear_history(self) -> None:
        """Forget recorded frames (the current state stays)."""
        with self._lock:
            self._history.clear()

    def dump(self, path: str) -> None:
        """Write the current and the last few frames as JSON, atomically (``TREE_VIRTUAL_DUMP``).

        Lets a test in another process see what a runner's LEDs showed when it exited.
        """
        with self._lock:
            data = {
                "current": self.current,
                "recent": [f.leds for f in self._history[-5:]],  # oldest first
                "shown": self.shown_count,
                "closed": self.closed,
            }
        tmp = f"{path}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f)
        os.replace(tmp, path)
