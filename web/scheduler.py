"""The FCFS scheduler (SPEC §3): one program at a time, in order of arrival, rebuilt from uploads/.

All state lives behind one lock. ``run_once(now)`` is the whole dispatcher step and takes the
time as an argument, so tests drive it directly; the thread wrapper only repeats it. The
runner client calls ``on_runner_*`` from its reader thread.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

from web.queue_views import QueueViews
from web.runner_client import RunnerLink, RunnerUnavailable
from web.runner_events import RunnerEvents
from web.storage import Store, Submission, epoch, iso

logger = logging.getLogger(__name__)

Publish = Callable[[str, Any], None]
RECENT = 20
# How long past its time limit a run may go before the runner is asked to stop it.
STOP_GRACE_S = 10.0
STATE_RETRY_S = 5.0  # how often states a full disk refused are tried again


class Scheduler(RunnerEvents, QueueViews):
    """Strict FCFS queue of submissions, dispatching to the runner one at a time."""

    def __init__(
        self,
        store: Store,
        runner: RunnerLink | None = None,
        *,
        time_limit_s: float = 45.0,
        publish: Publish | None = None,
    ) -> None:
        self.store = store
        self.runner = runner
        self.time_limit_s = time_limit_s
        self.publish: Publish = publish or (lambda kind, data: None)
        self.paused = False
        self.runner_online = False
        self.runner_busy = False
        self.tree: dict[str, Any] = {"led_count": 0, "positions": [], "fps": 0.0, "backend": None}
        self.frame: dict[str, Any] | None = None
        self._lock = threading.RLock()
        self._subs: dict[str, Submission] = {}
        self._pending: list[str] = []
        self._recent: deque[str] = deque(maxlen=RECENT)
        self._running: str | None = None
        self._started_at = 0.0  # epoch seconds of the running program's start
        self._awaiting_start = False
        self._stop_reasons: dict[str, str] = {}
        self._stop_sent = False
        self._next_state_retry = 0.0
        self._blank_when_idle = False
        self._seq = 0
        self._version = 0
        self._cache: tuple[int, float, bytes] | None = None
        self._wake = threading.Event()
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    # --- recovery and threads ---------------------------------------------------------------

    def load(self) -> None:
        """Rebuild from uploads/: pending and interrupted runs re-queued in original order."""
        with self._lock:
            self.paused = self.store.paused()
            for sub in self.store.load_all():
                self._seq = max(self._seq, sub.seq)
                self._subs[sub.id] = sub
                if sub.status == "running":
                    sub.status, sub.started_at = "pending", None
                    self.store.save(sub)
                if sub.status == "pending":
                    self._pending.append(sub.id)
                else:
                    self._recent.appendleft(sub.id)
            self._changed()

    def start(self, interval_s: float = 0.5) -> None:
        """Run the dispatcher in a daemon thread (woken early by every event)."""
        self._halt.clear()
        self._thread = threading.Thread(
            target=self._loop, args=(interval_s,), name="scheduler", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the dispatcher thread; raises if it will not die."""
        self._halt.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise RuntimeError("scheduler thread did not stop")
            self._thread = None

    def _loop(self, interval_s: float) -> None:
        while not self._halt.is_set():
            self._wake.wait(interval_s)
            self._wake.clear()
            try:
                self.run_once(time.time())
            except Exception:  # one bad step must not stop the queue
                logger.exception("scheduler step failed")

    # --- dispatcher ---------------------------------------------------------------------------

    def _retry_owed_states(self, now: float) -> None:
        # A full disk leaves finished states in memory only; once space returns they must reach
        # the disk even if nobody submits, or a web restart would run those programs again.
        if now >= self._next_state_retry and self.store.owes_states:
            self._next_state_retry = now + STATE_RETRY_S
            self.store.flush()

    def run_once(self, now: float) -> str | None:
        """Start the next pending program if the tree is free; return its id, else None."""
        with self._lock:
            self._retry_owed_states(now)
            self._check_overrun(now)
            ready = self.runner is not None and self.runner_online and not self.runner_busy
            if self.paused or not ready or self._running or not self._pending:
                return None
            sub = self._subs[self._pending.pop(0)]
            try:
                source = self.store.read_source(sub).decode("utf-8")
            except (OSError, UnicodeDecodeError) as exc:  # removed or damaged on disk
                logger.error("cannot read the source of %s: %s", sub.id, exc)
                sub.error = {"type": "StorageError", "message": "the program file is missing "
                             "or damaged", "line": None, "col": None}  # fmt: skip
                self._finish(sub, "failed", "error", now=now)
                return None
            sub.status, sub.started_at = "running", iso(now)
            self._running, self._started_at = sub.id, now
            self._awaiting_start, self._stop_sent = True, False
            self.store.save(sub)
        assert self.runner is not None
        try:
            self.runner.run(sub.id, source, self.time_limit_s)
        except RunnerUnavailable:
            with self._lock:
                self._requeue_front(sub)
            return None
        except Exception:  # our bug: that run fails alone, the queue goes on
            logger.exception("could not start %s", sub.id)
            with self._lock:
                self._running = None
                self._finish(sub, "failed", "crashed", now=now)
            return None
        with self._lock:
            self._changed(sub)
        return sub.id

    def _check_overrun(self, now: float) -> None:
        if not self._running or self.runner is None:
            return
        overrun = now - (self._started_at + self.time_limit_s)
        if overrun > STOP_GRACE_S and not self._stop_sent:
            self._stop_sent = True
            with contextlib.suppress(RunnerUnavailable):
                self.runner.stop(self._running, reason="time_limit")
        elif overrun > 2 * STOP_GRACE_S:
            # Asked to stop and still no answer: the runner lost it. Free the queue; if the
            # runner is in fact still busy it answers the next Run with "busy".
            self._end_lost(self._subs[self._running], now)

    def _requeue_front(self, sub: Submission) -> None:
        if self._running == sub.id:
            self._running = None
        sub.status, sub.started_at = "pending", None
        self._pending.insert(0, sub.id)
        self.store.save(sub)
        self._changed(sub)

    # --- submissions ----------------------------------------------------------------------------

    def submit(
        self,
        source: bytes,
        *,
        user_id: str,
        ip_id: str = "",
        name: str | None = None,
        title: str | None = None,
        now: float | None = None,
    ) -> Submission:
        """Store a checked program and queue it last."""
        now = time.time() if now is None else now
        with self._lock:
            self._seq += 1
            sub = Submission(
                id=uuid.uuid4().hex,
                timestamp=iso(now),
                user_id=user_id,
                ip_id=ip_id,
                name=name,
                title=title,
                seq=self._seq,
            )
            self.store.create(sub, source)
            self._subs[sub.id] = sub
            self._pending.append(sub.id)
            self._changed(sub)
        self._wake.set()
        return sub

    def get(self, submission_id: str) -> Submission | None:
        """The submission with this id, if known."""
        return self._subs.get(submission_id)

    def cancel(self, submission_id: str, user_id: str, now: float | None = None) -> Submission:
        """The author cancels a pending submission.

        Raises:
            KeyError: no such submission. PermissionError: not the author.
            ValueError: it is not pending any more.
        """
        with self._lock:
            sub = self._subs[submission_id]
            if sub.user_id != user_id:
                raise PermissionError("only the author can cancel a submission")
            return self._cancel_pending(sub, "author", now)

    def _cancel_pending(self, sub: Submission, reason: str, now: float | None) -> Submission:
        if sub.status != "pending":
            raise ValueError(f"submission is {sub.status}, not pending")
        self._pending.remove(sub.id)
        self._finish(sub, "cancelled", reason, now=time.time() if now is None else now)
        return sub

    def pending_count(self, *, user_id: str | None = None, ip_id: str | None = None) -> int:
        """How many pending submissions this user (or IP) has."""
        with self._lock:
            subs = (self._subs[i] for i in self._pending)
            if user_id is not None:
                return sum(1 for s in subs if s.user_id == user_id)
            return sum(1 for s in subs if s.ip_id == ip_id)

    def retry_after(self, *, user_id: str | None = None, ip_id: str | None = None) -> int:
        """Seconds until this user's (or IP's) first pending program should have finished."""
        now = time.time()
        with self._lock:
            for pos, sid in enumerate(self._pending):
                sub = self._subs[sid]
                if (user_id is not None and sub.user_id == user_id) or (
                    ip_id is not None and sub.ip_id == ip_id
                ):
                    return max(1, int(self._eta(pos, now) + self.time_limit_s))
        return 1

    # --- operator -------------------------------------------------------------------------------

    def stop_current(self, reason: str = "operator") -> Submission | None:
        """Stop the running program; it ends ``cancelled`` with this reason."""
        with self._lock:
            sid = self._running
            if sid is None:
                return None
            self._stop_reasons[sid] = reason
            runner = self.runner if self.runner_online else None
        if runner is not None:
            try:
                runner.stop(sid, reason=reason)
                return self._subs[sid]
            except RunnerUnavailable:
                pass
        with self._lock:  # nobody will report back: end it here
            if self._running == sid:
                self._end_lost(self._subs[sid], time.time())
        return self._subs[sid]

    def remove(self, submission_id: str) -> Submission:
        """The operator removes a pending submission (``cancelled``/``operator``)."""
        with self._lock:
            return self._cancel_pending(self._subs[submission_id], "operator", None)

    def pause(self) -> None:
        """Hold the queue after the current program."""
        with self._lock:
            self.paused = True
            self._keep_paused(True)
            self._changed()

    def resume(self) -> None:
        """Go on with the queue."""
        with self._lock:
            self.paused = False
            self._keep_paused(False)
            self._changed()
        self._wake.set()

    def blank(self) -> None:
        """Darken the tree: stop the running program, pause the queue, show an all-off frame.

        Raises:
            RunnerUnavailable: the tree is offline.
        """
        if self.runner is None or not self.runner_online:
            raise RunnerUnavailable("the tree is offline")
        with self._lock:
            self.paused = True
            self._keep_paused(True)
            running = self._running
            self._blank_when_idle = running is not None or self.runner_busy
            self._changed()
        if running is not None:
            self.stop_current("operator")
        elif not self._blank_when_idle:
            self._send_blank()

    def _keep_paused(self, paused: bool) -> None:
        try:
            self.store.set_paused(paused)
        except OSError as exc:  # the pause still holds in memory
            logger.error("cannot record the pause in uploads/: %s", exc)

    def _send_blank(self) -> None:
        assert self.runner is not None
        self.runner.set_frame([[0, 0, 0, 0] for _ in range(int(self.tree["led_count"]))])

    def _finish(self, sub: Submission, status: str, reason: str, *, now: float) -> None:
        sub.status, sub.reason, sub.finished_at = status, reason, iso(now)
        if sub.duration_s is None and sub.started_at:
            sub.duration_s = round(now - (epoch(sub.started_at) or now), 3)
        self.store.save(sub)
        self._recent.appendleft(sub.id)
        self._changed(sub)
