"""Per-user and per-IP submission windows (SPEC §3): at most N submissions per period.

A moving window per key holds the submissions it counted (id and monotonic time), so one can be
taken back: submissions cancelled before they ran, refused at check (never counted) or lost to
a runner restart do not use up anyone's allowance. Windows live in memory per app, so apps (and
tests) never share counters; a web restart forgets them, which only ever loosens the limit.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask
from limits import parse

from web.config import WebConfig
from web.storage import Submission

Clock = Callable[[], float]
SWEEP_EVERY = 256  # hits between sweeps of expired keys


@dataclass(frozen=True)
class Rate:
    """``amount`` submissions per ``period_s`` seconds (parsed from e.g. ``10/10 minutes``)."""

    amount: int
    period_s: float
    text: str

    @classmethod
    def parse(cls, text: str) -> Rate:
        """Parse a rate in the ``limits`` package's notation."""
        item = parse(text)
        return cls(int(item.amount), float(item.get_expiry()), text)


def counts_towards_limits(sub: Submission) -> bool:
    """Whether a finished submission keeps its place in the rate windows.

    A program that never ran (cancelled while pending) or whose run the runner lost was no use
    of the tree: counting it would lock out a student fixing a bug (submit, cancel, resubmit).
    """
    if sub.status == "cancelled" and sub.started_at is None:
        return False
    return sub.reason != "runner_lost"


class SubmissionWindows:
    """The per-user and per-IP windows of SPEC §3."""

    def __init__(self, per_user: Rate, per_ip: Rate, clock: Clock = time.monotonic) -> None:
        self.per_user = per_user
        self.per_ip = per_ip
        self.clock = clock
        # key -> [(time, submission id)] oldest first
        self._hits: dict[str, deque[tuple[float, str]]] = {}
        self._mutex = threading.Lock()
        self._hit_count = 0
        # Held by the submit view from the last limit check until the submission is counted.
        self.lock = threading.Lock()

    def _pairs(self, user_id: str, ip_id: str) -> list[tuple[Rate, str]]:
        return [(self.per_user, f"user:{user_id}"), (self.per_ip, f"ip:{ip_id}")]

    def _live(self, key: str, rate: Rate, now: float) -> deque[tuple[float, str]]:
        hits = self._hits.get(key, deque())
        while hits and hits[0][0] <= now - rate.period_s:
            hits.popleft()
        if not hits:
            self._hits.pop(key, None)
        return hits

    def retry_after(self, user_id: str, ip_id: str) -> tuple[int, str] | None:
        """``(seconds, "user" | "ip")`` until one more submission is allowed, or None."""
        now = self.clock()
        waits = []
        with self._mutex:
            for rate, key in self._pairs(user_id, ip_id):
                hits = self._live(key, rate, now)
                if len(hits) >= rate.amount:
                    oldest = hits[len(hits) - rate.amount][0]
                    wait = max(1, math.ceil(oldest + rate.period_s - now))
                    waits.append((wait, key.split(":", 1)[0]))
        return max(waits) if waits else None

    def hit(self, user_id: str, ip_id: str, submission_id: str) -> None:
        """Count one accepted submission in both windows."""
        now = self.clock()
        with self._mutex:
            for _rate, key in self._pairs(user_id, ip_id):
                self._hits.setdefault(key, deque()).append((now, submission_id))
            self._hit_count += 1
            if self._hit_count % SWEEP_EVERY == 0:  # forget people who left long ago
                for rate, key in self._pairs("", ""):
                    prefix = key.split(":", 1)[0] + ":"
                    for k in [k for k in self._hits if k.startswith(prefix)]:
                        self._live(k, rate, now)

    def refund(self, submission_id: str) -> None:
        """Take a submission back out of every window it was counted in."""
        with self._mutex:
            for key, hits in list(self._hits.items()):
                kept = deque(h for h in hits if h[1] != submission_id)
                if len(kept) != len(hits):
                    if kept:
                        self._hits[key] = kept
                    else:
                        del self._hits[key]

    def refund_if_free(self, sub: Submission) -> None:
        """Called for every finished submission: refund it if it did not use the tree."""
        if not counts_towards_limits(sub):
            self.refund(sub.id)


def init_app(app: Flask, config: WebConfig) -> SubmissionWindows:
    """Build this app's submission windows, and the dry runs' windows of their own."""
    windows = SubmissionWindows(Rate.parse(config.rate_per_user), Rate.parse(config.rate_per_ip))
    app.extensions["submission_limits"] = windows
    app.extensions["preview_limits"] = SubmissionWindows(
        Rate.parse(config.preview_rate_per_user), Rate.parse(config.preview_rate_per_ip)
    )
    return windows
