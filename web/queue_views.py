"""What the scheduler shows: a submission's JSON, the ``/api/queue`` snapshot, ETAs.

A mixin of ``web.scheduler.Scheduler`` (split out to keep each module short).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from web.storage import Submission


class QueueViews:
    """Read-only views of the scheduler's state, and change notification."""

    _lock: threading.RLock
    _subs: dict[str, Submission]
    _pending: list[str]
    _recent: deque[str]
    _running: str | None
    _started_at: float
    _version: int
    _cache: tuple[int, float, bytes] | None
    time_limit_s: float
    runner_online: bool
    paused: bool
    tree: dict[str, Any]

    publish: Callable[[str, Any], None]

    def _changed(self, sub: Submission | None = None) -> None:
        self._version += 1
        if sub is not None:
            self.publish("submission", self.public(sub))
        self.publish("queue", self.snapshot())

    def _eta(self, position: int, now: float) -> float:
        return self._time_left(now) + position * self.time_limit_s

    def _time_left(self, now: float) -> float:
        if self._running is None:
            return 0.0
        return max(0.0, self._started_at + self.time_limit_s - now)

    def public(self, sub: Submission, now: float | None = None) -> dict[str, Any]:
        """The submission's JSON with its position and ETA while pending."""
        now = time.time() if now is None else now
        with self._lock:
            data = sub.public()
            data["position"] = data["eta_seconds"] = None
            if sub.status == "pending" and sub.id in self._pending:
                pos = self._pending.index(sub.id)
                data["position"], data["eta_seconds"] = pos + 1, round(self._eta(pos, now))
            elif sub.id == self._running:
                data["time_left_s"] = round(self._time_left(now))
            return data

    def snapshot(self, now: float | None = None) -> dict[str, Any]:
        """Exactly the ``/api/queue`` JSON."""
        now = time.time() if now is None else now
        with self._lock:
            running = self._subs[self._running] if self._running else None
            pending = []
            for pos, sid in enumerate(self._pending):
                item = self._subs[sid].public()
                item["position"], item["eta_seconds"] = pos + 1, round(self._eta(pos, now))
                pending.append(item)
            return {
                "running": self.public(running, now) if running else None,
                "pending": pending,
                "recent": [self._subs[i].public() for i in self._recent],
                "runner_online": self.runner_online,
                "led_count": self.tree["led_count"],
                "paused": self.paused,
                "time_limit": self.time_limit_s,
            }

    def snapshot_json(self, now: float | None = None, max_age_s: float = 0.5) -> bytes:
        """``snapshot`` as JSON bytes, reused for ``max_age_s`` while nothing changes."""
        now = time.time() if now is None else now
        cache = self._cache
        if cache is not None and cache[0] == self._version and 0 <= now - cache[1] < max_age_s:
            return cache[2]
        with self._lock:
            version = self._version
            body = json.dumps(self.snapshot(now), separators=(",", ":")).encode()
        self._cache = (version, now, body)
        return body

    def tree_event(self) -> dict[str, Any]:
        """The ``tree`` SSE payload: online state and the tree's shape."""
        return {"runner_online": self.runner_online, **self.tree}
