"""The FCFS scheduler (SPEC §3): one program at a time, in order of arrival, rebuilt from uploads/.

All state lives behind one lock. ``run_once(now)`` is the whole dispatcher step and takes the
time as an argument, so tests drive it directly; the thread wrapper only repeats it. The
runner client calls ``on_runner_*`` from its reader thread.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from protocol.messages import Error, Finished, Frame, Idle, Log, Message, Started, Welcome
from web.runner_client import RunnerLink, RunnerUnavailable
from web.storage import Store, Submission

logger = logging.getLogger(__name__)

Publish = Callable[[str, Any], None]
RECENT = 20
MAX_LOG_CHARS = 64 * 1024
# How long past its time limit a run may go before the runner is asked to stop it.
STOP_GRACE_S = 10.0


def iso(now: float) -> str:
    """UTC ISO 8601 for an epoch time."""
    return datetime.fromtimestamp(now, UTC).isoformat()


def _epoch(text: str | None) -> float | None:
    return datetime.fromisoformat(text).timestamp() if text else None


class Scheduler:
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

    def run_once(self, now: float) -> str | None:
        """Start the next pending program if the tree is free; return its id, else None."""
        with self._lock:
            self._check_overrun(now)
            ready = self.runner is not None and self.runner_online and not self.runner_busy
            if self.paused or not ready or self._running or not self._pending:
                return None
            sub = self._subs[self._pending.pop(0)]
            sub.status, sub.started_at = "running", iso(now)
            self._running, self._started_at = sub.id, now
            self._awaiting_start, self._stop_sent = True, False
            self.store.save(sub)
            source = self.store.read_source(sub).decode("utf-8")
        assert self.runner is not None
        try:
            self.runner.run(sub.id, source, self.time_limit_s)
        except RunnerUnavailable:
            with self._lock:
                self._requeue_front(sub)
            return None
        with self._lock:
            self._changed(sub)
        return sub.id

    def _check_overrun(self, now: float) -> None:
        if not self._running or self._stop_sent or self.runner is None:
            return
        if now > self._started_at + self.time_limit_s + STOP_GRACE_S:
            self._stop_sent = True
            with contextlib.suppress(RunnerUnavailable):
                self.runner.stop(self._running, reason="time_limit")

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
                self._running = None
                self._finish(self._subs[sid], "cancelled", reason, now=time.time())
        return self._subs[sid]

    def remove(self, submission_id: str) -> Submission:
        """The operator removes a pending submission (``cancelled``/``operator``)."""
        with self._lock:
            return self._cancel_pending(self._subs[submission_id], "operator", None)

    def pause(self) -> None:
        """Hold the queue after the current program."""
        with self._lock:
            self.paused = True
            self._changed()

    def resume(self) -> None:
        """Go on with the queue."""
        with self._lock:
            self.paused = False
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
            running = self._running
            self._blank_when_idle = running is not None or self.runner_busy
            self._changed()
        if running is not None:
            self.stop_current("operator")
        elif not self._blank_when_idle:
            self._send_blank()

    def _send_blank(self) -> None:
        assert self.runner is not None
        self.runner.set_frame([[0, 0, 0, 0] for _ in range(int(self.tree["led_count"]))])

    # --- runner events --------------------------------------------------------------------------

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
                sub = self._subs[self._running]
                self._running = None
                self._finish(sub, "failed", "runner_lost", now=time.time())
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
            elif isinstance(msg, Log) and sub is not None:
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

    def _on_finished(self, sub: Submission, msg: Finished) -> None:
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
        if sub.status == "running":
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

    def _finish(self, sub: Submission, status: str, reason: str, *, now: float) -> None:
        sub.status, sub.reason, sub.finished_at = status, reason, iso(now)
        if sub.duration_s is None and sub.started_at:
            sub.duration_s = round(now - (_epoch(sub.started_at) or now), 3)
        self.store.save(sub)
        self._recent.appendleft(sub.id)
        self._changed(sub)

    # --- views --------------------------------------------------------------------------------

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
