"""The scheduler's state and what it shows: a submission's JSON, the ``/api/queue`` snapshot, ETAs.

``QueueState`` is plain data behind one lock, owned by ``web.scheduler.Scheduler`` and shared
with the part that follows the runner (``web.runner_events``). Times in it are monotonic
seconds (durations survive a wall-clock jump); timestamps shown to people are wall-clock ISO
strings on the submissions themselves.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from protocol.messages import StopReason
from web.storage import Submission

RECENT = 20  # finished submissions in the snapshot
# Seconds a run costs beyond its prediction until the next one is sent: the sandbox child's
# start and end, which the dry run's virtual clock does not count, programs running late on a
# busy CPU, and Finished -> Idle -> next Run (~30 ms). This is only the first guess: QueueState
# learns the real figure from back-to-back runs (``run_ended``/``run_started``), so a Pi that
# starts children slower, or a busy evening, corrects it itself. bench/eta_accuracy.py on the
# 2-core dev machine (virtual tree, 40 fps, 10 s limit, load average 3-12): next start - this
# start - prediction = 0.12 to 0.77 s, the medians of twelve runs of 32 programs (0.2 s calm).
RUN_OVERHEAD_S = 0.4
OVERHEAD_SAMPLES = 10  # the learned overhead is the median of this many recent runs
MAX_OVERHEAD_S = 3.0  # a longer gap after a run's predicted end is a pause or outage, not overhead


@dataclass
class Running:
    """The program on the tree now."""

    id: str
    started: float  # monotonic
    awaiting_start: bool = True  # Run sent, no Started yet
    overrun_stop_sent: bool = False  # asked the runner to stop it for running too long
    stop_reason: StopReason | None = None  # the operator or its author asked to stop it


class QueueState:
    """Pending, running and recently finished submissions, and the tree as the runner told it."""

    def __init__(self, time_limit_s: float, keep_finished: int) -> None:
        self.lock = threading.RLock()
        self.time_limit_s = time_limit_s
        self.keep_finished = keep_finished
        # Pending, running, and the newest ``keep_finished`` finished ones; older ones on disk.
        self.subs: dict[str, Submission] = {}
        self.pending: list[str] = []
        self.finished: deque[str] = deque()  # newest first
        self.running: Running | None = None
        self.paused = False
        self.blanks = 0  # the operator's Blanks so far: the idle show never gives one back
        # Frames set directly (the idle show's, a Blank) go out one at a time, in order; a Blank
        # waits out the runner's pacing slot after the show's last frame (else: too_fast).
        self.frame_lock = threading.Lock()
        self.frame_sent_at = float("-inf")  # monotonic
        self.runner_online = False
        self.runner_busy = False
        self.tree: dict[str, Any] = {
            "led_count": 0, "positions": [], "fps": 0.0, "backend": None, "layers": None,
        }  # fmt: skip
        self.frame: dict[str, Any] | None = None
        self.version = 0
        self._overheads: deque[float] = deque(maxlen=OVERHEAD_SAMPLES)
        self._due: float | None = None  # when the run that just ended should have ended
        self._cache: tuple[int, float, bytes] | None = None

    def add_finished(self, sub: Submission) -> None:
        """Remember a finished submission, forgetting the oldest beyond ``keep_finished``."""
        self.finished.appendleft(sub.id)
        while len(self.finished) > self.keep_finished:
            self.subs.pop(self.finished.pop(), None)
        if self.keep_finished == 0:
            self.subs.pop(sub.id, None)

    def forget_finished(self, submission_id: str) -> None:
        """Forget a finished submission whose files were removed (``Store.prune_cancelled``)."""
        with contextlib.suppress(ValueError):
            self.finished.remove(submission_id)
            self.subs.pop(submission_id, None)

    def predicted(self, sub: Submission) -> float:
        """How long a submission should run: its dry run's prediction, at most the limit."""
        if sub.predicted_s is None:  # not predicted yet (or queued before predictions)
            return self.time_limit_s
        return min(sub.predicted_s, self.time_limit_s)

    def run_overhead_s(self) -> float:
        """Seconds each run costs beyond its prediction: the median of recent back-to-back runs,
        ``RUN_OVERHEAD_S`` until there are some. The median, not the mean: one slow start (a
        busy machine) would otherwise lengthen every ETA for the next ten runs. Replaying six
        bench runs (bench/eta_replay.py): median error 2.3 %, against 3.2 % for the mean of 15
        and 2.2 % / 6.8 % for a fixed 0.2 s / 0.4 s, where the fixed 0.2 s was 7.8 % too short
        on a busy machine."""
        return statistics.median(self._overheads) if self._overheads else RUN_OVERHEAD_S

    def run_ended(self, started: float, sub: Submission, status: str, reason: str) -> None:
        """Note when a run that just ended should have ended by its prediction, if the next
        one's start can teach the overhead: it ran to its own end (not stopped, not lost with
        the runner), had a dry run, and others were waiting (an empty or paused queue's gap is
        people, not overhead)."""
        learns = status != "cancelled" and reason != "runner_lost" and sub.predicted_s is not None
        learns = learns and bool(self.pending) and not self.paused
        self._due = started + self.predicted(sub) if learns else None

    def run_started(self, now: float) -> None:
        """A run was sent at ``now``: learn how late it came after the last one's predicted end.
        Earlier than predicted means the prediction was wrong (random numbers), not overhead."""
        due, self._due = self._due, None
        if due is not None and 0.0 <= now - due <= MAX_OVERHEAD_S:
            self._overheads.append(now - due)

    def etas(self, now: float) -> list[float]:
        """Seconds until each pending program should start, first in line first.

        The running program's time left by its prediction, plus the predictions of those ahead,
        plus ``run_overhead_s`` for each run that must end first.
        """
        overhead = self.run_overhead_s()
        wait = self.time_left(now) + (overhead if self.running is not None else 0.0)
        out = []
        for sid in self.pending:
            out.append(wait)
            wait += self.predicted(self.subs[sid]) + overhead
        return out

    def eta(self, position: int, now: float) -> float:
        """Seconds until the program at ``position`` (0-based) should start."""
        return self.etas(now)[position]

    def time_left(self, now: float) -> float:
        """Seconds the running program should still run, by its prediction (not the cap).

        Past its prediction (a program using random numbers may run longer than its dry run)
        this says 0 until it ends: nobody can know better.
        """
        if self.running is None:
            return 0.0
        sub = self.subs.get(self.running.id)
        length = self.predicted(sub) if sub is not None else self.time_limit_s
        return max(0.0, self.running.started + length - now)

    def public(self, sub: Submission, now: float, viewer: str | None = None) -> dict[str, Any]:
        """The submission's JSON: position and ETA while pending, ``mine`` for its author."""
        with self.lock:
            data = sub.public()
            data["position"] = data["eta_seconds"] = None
            if sub.status == "pending" and sub.id in self.pending:
                pos = self.pending.index(sub.id)
                data["position"], data["eta_seconds"] = pos + 1, round(self.eta(pos, now))
            elif self.running is not None and sub.id == self.running.id:
                data["time_left_s"] = round(self.time_left(now))
                data["stopping"] = self.running.stop_reason is not None
            if viewer is not None and sub.user_id == viewer:
                data["mine"] = True
            return data

    def snapshot(self, now: float, viewer: str | None = None) -> dict[str, Any]:
        """Exactly the ``/api/queue`` JSON (``mine`` on the viewer's own rows)."""
        with self.lock:
            running = self.subs[self.running.id] if self.running else None
            pending = []
            etas = self.etas(now)
            for pos, sid in enumerate(self.pending):
                item = self.subs[sid].public()
                item["position"], item["eta_seconds"] = pos + 1, round(etas[pos])
                if viewer is not None and self.subs[sid].user_id == viewer:
                    item["mine"] = True
                pending.append(item)
            recent = []
            for sid in list(self.finished)[:RECENT]:
                item = self.subs[sid].public()
                if viewer is not None and self.subs[sid].user_id == viewer:
                    item["mine"] = True
                recent.append(item)
            return {
                "running": self.public(running, now, viewer) if running else None,
                "pending": pending,
                "recent": recent,
                "runner_online": self.runner_online,
                "led_count": self.tree["led_count"],
                "paused": self.paused,
                "time_limit": self.time_limit_s,
            }

    def shows_rows_of(self, viewer: str) -> bool:
        """Whether the snapshot has a row of this user (so it must be built for them)."""
        with self.lock:
            ids = list(self.pending) + list(self.finished)[:RECENT]
            if self.running is not None:
                ids.append(self.running.id)
            return any(self.subs[sid].user_id == viewer for sid in ids)

    def snapshot_json(self, now: float, max_age_s: float = 0.5) -> bytes:
        """The anonymous ``snapshot`` as JSON bytes, reused for ``max_age_s`` while unchanged."""
        cache = self._cache
        if cache is not None and cache[0] == self.version and 0 <= now - cache[1] < max_age_s:
            return cache[2]
        with self.lock:
            version = self.version
            body = json.dumps(self.snapshot(now), separators=(",", ":")).encode()
        self._cache = (version, now, body)
        return body

    def tree_event(self) -> dict[str, Any]:
        """The ``tree`` SSE payload: online state and the tree's shape."""
        return {"runner_online": self.runner_online, **self.tree}
