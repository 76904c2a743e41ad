"""Server-Sent Events fan-out: every viewer gets queue changes and the latest frame, capped.

Publishing is O(1) and never waits for a viewer: each event is encoded once and kept in the
hub (``queue`` and ``tree`` coalesce to the latest, ``submission`` events in a short ring, and
only the latest ``frame``). Each viewer keeps its own cursor into that state, so its "queue"
is bounded by construction and a slow viewer just skips to the newest frame; it can never
slow the runner, the scheduler or the other viewers.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

HEARTBEAT_S = 15.0
RING = 64


def encode_event(kind: str, data: Any) -> bytes:
    """One SSE event as bytes (JSON on a single ``data:`` line)."""
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return f"event: {kind}\ndata: {payload}\n\n".encode()


class EventHub:
    """Latest-state broadcast of ``queue``, ``tree``, ``submission`` and ``frame`` events."""

    def __init__(self, frame_rate: float = 25.0, frame_burst: int = 3) -> None:
        self.frame_rate = frame_rate
        self.frame_burst = frame_burst
        self._cond = threading.Condition()
        self._seq = 0
        self._latest: dict[str, tuple[int, bytes]] = {}  # queue, tree, frame
        self._ring: deque[tuple[int, bytes]] = deque(maxlen=RING)  # submission events
        self._closed = False
        self.viewers = 0

    def publish(self, kind: str, data: Any) -> None:
        """Record an event and wake the viewers; never blocks on them."""
        body = encode_event(kind, data)
        with self._cond:
            self._seq += 1
            if kind == "submission":
                self._ring.append((self._seq, body))
            else:
                self._latest[kind] = (self._seq, body)
            self._cond.notify_all()

    def close(self) -> None:
        """End every stream (shutdown)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def stream(self, heartbeat_s: float = HEARTBEAT_S) -> Iterator[bytes]:
        """Yield SSE chunks for one viewer until the hub closes or the viewer goes away.

        Frames pass a token bucket (``frame_rate`` per second on average, ``frame_burst``
        at once) so jitter in the runner's timing does not cost frames.
        """
        seen: dict[str, int] = {}
        ring_seen = self._seq  # submission events from before connecting are old news
        tokens, refill_at = float(self.frame_burst), time.monotonic()
        last_sent = time.monotonic()
        with self._cond:
            self.viewers += 1
        try:
            yield b"retry: 2000\n\n"
            while True:
                now = time.monotonic()
                tokens = min(self.frame_burst, tokens + (now - refill_at) * self.frame_rate)
                refill_at = now
                with self._cond:
                    chunk, frame_state, ring_seen = self._collect(seen, ring_seen, tokens >= 1)
                    closed = self._closed
                    if not chunk and not closed:
                        # wait for news; with a frame held back, only until the next token
                        wait = heartbeat_s - (now - last_sent)
                        if frame_state == "held":
                            wait = min(wait, (1 - tokens) / self.frame_rate)
                        if wait > 0:
                            self._cond.wait(wait)
                            continue
                if frame_state == "sent":
                    tokens -= 1
                if not chunk and not closed:
                    chunk = [b": ping\n\n"]
                if chunk:
                    yield b"".join(chunk)
                    last_sent = time.monotonic()
                if closed:
                    return
        finally:
            with self._cond:
                self.viewers -= 1

    def _collect(
        self, seen: dict[str, int], ring_seen: int, frame_ok: bool
    ) -> tuple[list[bytes], str, int]:
        """Unseen events (caller holds the lock) and whether the frame was ``sent``/``held``."""
        out = []
        for kind in ("tree", "queue"):
            item = self._latest.get(kind)
            if item is not None and item[0] > seen.get(kind, 0):
                out.append(item[1])
                seen[kind] = item[0]
        for seq, body in self._ring:
            if seq > ring_seen:
                out.append(body)
                ring_seen = seq
        frame = self._latest.get("frame")
        if frame is None or frame[0] <= seen.get("frame", 0):
            return out, "none", ring_seen
        if not frame_ok:
            return out, "held", ring_seen
        out.append(frame[1])
        seen["frame"] = frame[0]
        return out, "sent", ring_seen
