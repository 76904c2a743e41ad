"""How the scheduler follows the runner: connect, disconnect, and each event it sends.

A mixin of ``web.scheduler.Scheduler`` (split out to keep each module short); it works on the
scheduler's state under the scheduler's lock.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from protocol.messages import Error, Finished, Frame, Idle, Log, Message, Started, Welcome
from web.runner_client import RunnerUnavailable
from web.storage import iso

if TYPE_CHECKING:
    from web.runner_client import RunnerLink
    from web.storage import Store, Submission

logger = logging.getLogger(__name__)
MAX_LOG_CHARS = 64 * 1024


class RunnerEvents:
    """The ``RunnerListener`` half of the scheduler."""

    # State owned by Scheduler.__init__.
    _lock: threading.RLock
    _wake: threading.Event
    _subs: dict[str, Submission]
    _pending: list[str]
    _running: str | None
    _started_at: float
    _awaiting_start: bool
    _stop_reasons: dict[str, str]
    _blank_when_idle: bool
    runner: RunnerLink | None
    runner_online: bool
    runner_busy: bool
    tree: dict[str, Any]
    frame: dict[str, Any] | None
    store: Store

    publish: Callable[[str, Any], None]

    if TYPE_CHECKING:

        def tree_event(self) -> dict[str, Any]: ...
        def _changed(self, sub: Submission | None = None) -> None: ...
        def _finish(self, sub: Submission, status: str, reason: str, *, now: float) -> None: ...
        def _requeue_front(self, sub: Submission) -> None: ...
        def _send_blank(self) -> None: ...

    def on_runner_online(self, welcome: Welcome) -> None:
        """The runner (re)connected: remember the tree and adopt or stop what it runs."""
        stray = None
        with self._lock:
            self.runner_online = True
            self.tree = {
                "led_count": welcome.led_count,
                "positions": [list(p) for p in welcome.positions],
                "fps": welcome.fps,
                "backend": welcome.backend,
            }
            busy = welcome.busy_with
            self.runner_busy = busy is not None
            if busy is not None and busy != self._running:
                sub = self._subs.get(busy)
                if sub is not None and sub.status == "pending" and not self._running:
                    # web restarted while the runner kept running it: follow it, don't rerun it
                    self._pending.remove(busy)
                    sub.status, sub.started_at = "running", iso(time.time())
                    self._running, self._started_at = busy, time.time()
                    self.store.save(sub)
                else:
                    stray = busy
            self.publish("tree", self.tree_event())
            self._changed()
        if stray is not None and self.runner is not None:
            with contextlib.suppress(RunnerUnavailable):
                self.runner.stop(stray, reason="operator")
        self._wake.set()

    def on_runner_offline(self) -> None:
        """The connection is gone: a run in progress ends ``failed``/``runner_lost``."""
        with self._lock:
            self.runner_online = False
            self.runner_busy = False
            if self._running is not None:
                self._end_lost(self._subs[self._running], time.time())
            self.publish("tree", self.tree_event())
            self._changed()

    def on_runner_message(self, msg: Message) -> None:
        """Apply one event from the runner."""
        if isinstance(msg, Frame):
            self.frame = {"submission_id": msg.submission_id, "leds": msg.leds}
            self.publish("frame", self.frame)
            return
        with self._lock:
            sub = self._subs.get(getattr(msg, "submission_id", None) or "")
            if isinstance(msg, Started) and sub is not None:
                self._awaiting_start = False
                self.runner_busy = True
            elif isinstance(msg, Log) and sub is not None and sub.status == "running":
                sub.log = (sub.log + msg.text)[:MAX_LOG_CHARS]
            elif isinstance(msg, Finished) and sub is not None:
                self._on_finished(sub, msg)
            elif isinstance(msg, Idle):
                self.runner_busy = False
                blank, self._blank_when_idle = self._blank_when_idle, False
                if blank:
                    with contextlib.suppress(RunnerUnavailable):
                        self._send_blank()
            elif isinstance(msg, Error):
                self._on_error(msg)
        if isinstance(msg, Finished | Idle | Error):
            self._wake.set()

    def _end_lost(self, sub: Submission, now: float) -> None:
        """Nobody will report on the running program: end it here."""
        self._running = None
        reason = self._stop_reasons.pop(sub.id, None)
        if reason is not None:  # an operator or author had already asked to stop it
            self._finish(sub, "cancelled", reason, now=now)
        else:
            self._finish(sub, "failed", "runner_lost", now=now)

    def _on_finished(self, sub: Submission, msg: Finished) -> None:
        if sub.status != "running":  # already ended here (runner lost, given up): keep that
            logger.info("late result for %s ignored", sub.id)
            return
        status, reason = msg.status, msg.reason
        override = self._stop_reasons.pop(sub.id, None)
        if override is not None:
            status, reason = "cancelled", override
        if msg.log:
            sub.log = msg.log[:MAX_LOG_CHARS]
        sub.error = msg.error.model_dump() if msg.error else None
        sub.frames, sub.duration_s = msg.frames, msg.duration_s
        if self._running == sub.id:
            self._running = None
        self._finish(sub, status, reason, now=time.time())

    def _on_error(self, msg: Error) -> None:
        # The runner answers a refused Run with request_id = the submission id.
        about_run = self._awaiting_start and self._running and msg.request_id == self._running
        if not about_run:
            logger.warning("runner error %s: %s", msg.code, msg.message)
            return
        assert self._running is not None
        sub = self._subs[self._running]
        if msg.code == "busy":
            self.runner_busy = True
            self._requeue_front(sub)
            return
        self._running = None
        sub.error = {"type": "RunnerError", "message": msg.message, "line": None, "col": None}
        self._finish(sub, "failed", "error", now=time.time())
