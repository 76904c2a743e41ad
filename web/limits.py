"""Per-user and per-IP submission windows (Flask-Limiter's storage and moving-window strategy).

The windows are checked inside the submission view rather than with the ``@limiter.limit``
decorator so that only *accepted* submissions count (a syntax error does not use up a user's
allowance) and the order of SPEC §3's checks stays explicit. The limiter is built per app,
so apps (and tests) never share counters.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from flask import Flask, current_app
from flask_limiter import Limiter
from limits import RateLimitItem, parse


@dataclass(frozen=True)
class Window:
    """One configured window and the key it counts under."""

    item: RateLimitItem
    key: str


class SubmissionLimits:
    """The per-user and per-IP windows of SPEC §3."""

    def __init__(self, limiter: Limiter, per_user: str, per_ip: str) -> None:
        self.limiter = limiter
        self.per_user = parse(per_user)
        self.per_ip = parse(per_ip)
        # Held from the last limit check until the submission is stored and counted.
        self.lock = threading.Lock()

    def _windows(self, user_id: str, ip_id: str) -> list[Window]:
        return [Window(self.per_user, f"user:{user_id}"), Window(self.per_ip, f"ip:{ip_id}")]

    def retry_after(self, user_id: str, ip_id: str) -> int | None:
        """Seconds until one more submission is allowed, or None when it is allowed now."""
        strategy = self.limiter.limiter
        waits = []
        for w in self._windows(user_id, ip_id):
            if not strategy.test(w.item, "submit", w.key):
                reset = strategy.get_window_stats(w.item, "submit", w.key).reset_time
                waits.append(max(1, math.ceil(reset - time.time())))
        return max(waits) if waits else None

    def hit(self, user_id: str, ip_id: str) -> None:
        """Count one accepted submission in both windows."""
        for w in self._windows(user_id, ip_id):
            self.limiter.limiter.hit(w.item, "submit", w.key)


def init_app(app: Flask) -> SubmissionLimits:
    """Build this app's limiter (memory storage) and its submission windows."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    limiter = Limiter(key_func=lambda: "global", app=app)
    # No route carries a limiter decorator: the windows are checked in the view (above), so
    # the per-request hook skips straight out instead of resolving limits for every GET.
    limiter.request_filter(lambda: True)
    limits = SubmissionLimits(limiter, app.config["RATE_PER_USER"], app.config["RATE_PER_IP"])
    app.extensions["submission_limits"] = limits
    return limits


def submission_limits() -> SubmissionLimits:
    """This app's submission windows."""
    return current_app.extensions["submission_limits"]  # type: ignore[no-any-return]
