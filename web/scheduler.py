"""The FCFS scheduler (SPEC §3): one program at a time, in order of arrival, rebuilt from uploads/.

All state lives in a ``QueueState`` behind its lock. ``run_once(now)`` is the whole dispatcher
step and takes the monotonic time as an argument, so tests drive it directly; the thread wrapper
only repeats it. Durations use ``clock`` (monotonic: a Pi without a real-time clock jumps when
NTP syncs); timestamps people see use ``wall``. Two parts are composed in: ``events``
(``RunnerEvents``) follows the runner, ``operator`` (``OperatorControls``) holds the console's
controls.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from protocol.messages import Reason, RunStatus, StopReason
from web.operator import OperatorControls
from web.queue_state import QueueState, Running
from web.recordings import Recorder, Recording, encode_bounded
from web.runner_client import RunnerLink, RunnerUnavailable
from web.runner_events import RunnerEvents
from web.storage import Store, Submission, iso

logger = logging.getLogger(__name__)

Publish = Callable[[str, Any], None]
Clock = Callable[[], float]
# How long past its time limit a run may go before the runner is asked to stop it.
STOP_GRACE_S = 10.0
STATE_RETRY_S = 5.0  # how often states a full disk refused are tried again


class Scheduler:
    """Strict FCFS queue of submissions, dispatching to the runner one at a time."""

    def __init__(
        self,
        store: Store,
        runner: RunnerLink | None = None,
        *,
        time_limit_s: float = 45.0,
        publish: Publish | None = None,
        keep_finished: int = 500,
        cancelled_keep_per_user: int = 20,
        cancelled_keep: int = 500,
        on_finished: Callable[[Submission], None] | None = None,
        clock: Clock = time.monotonic,
        wall: Clock = time.time,
    ) -> None:
        self.store = store
        self.runner = runner
        self.time_limit_s = time_limit_s
        # Programs their authors cancelled before they ran, kept per author and in all.
        self.cancelled_keep_per_user, self.cancelled_keep = cancelled_keep_per_user, cancelled_keep
        self.publish: Publish = publish or (lambda kind, data: None)
        self.on_finished = on_finished or (lambda sub: None)
        self.clock, self.wall = clock, wall
        self.state = QueueState(time_limit_s, keep_finished)
        self.events = RunnerEvents(self)
        self.operator = OperatorControls(self)
        self.recorder = Recorder()
        self._seq = 0
        self._next_state_retry = 0.0
        self._wake = threading.Event()
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    # --- recovery and threads ---------------------------------------------------------------

    def load(self) -> None:
        """Rebuild from uploads/: pending and interrupted runs re-queued in original order."""
        st = self.state
        with st.lock:
            st.paused = self.store.paused()
            unfinished, finished, self._seq = self.store.load(st.keep_finished)
            # The caps hold from the start, also when they were lowered since the last run.
            caps = (self.cancelled_keep_per_user, self.cancelled_keep)
            pruned = set(self.store.prune_cancelled(*caps))
            finished = [sub for sub in finished if sub.id not in pruned]
            for sub in unfinished:
                st.subs[sub.id] = sub
                if sub.status == "running":
                    sub.status, sub.started_at = "pending", None
                    self.store.save(sub)
                st.pending.append(sub.id)
            for sub in finished:  # oldest first
                st.subs[sub.id] = sub
                st.add_finished(sub)
            self.changed()

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

    def wake(self) -> None:
        """Make the dispatcher look at the queue now."""
        self._wake.set()

    def _loop(self, interval_s: float) -> None:
        while not self._halt.is_set():
            self._wake.wait(interval_s)
            self._wake.clear()
            try:
                self.run_once(self.clock())
            except Exception:  # one bad step must not stop the queue
                logger.exception("scheduler step failed")

    # --- dispatcher ---------------------------------------------------------------------------

    def run_once(self, now: float) -> str | None:
        """Start the next pending program if the tree is free; return its id, else None."""
        st = self.state
        with st.lock:
            self._retry_owed_states(now)
            self._check_overrun(now)
            ready = self.runner is not None and st.runner_online and not st.runner_busy
            if st.paused or not ready or st.running or not st.pending:
                return None
            sub = st.subs[st.pending.pop(0)]
            try:
                source = self.store.read_source(sub).decode("utf-8")
            except (OSError, UnicodeDecodeError) as exc:  # removed or damaged on disk
                logger.error("cannot read the source of %s: %s", sub.id, exc)
                sub.error = {"type": "StorageError", "message": "the program file is missing "
                             "or damaged", "line": None, "col": None}  # fmt: skip
                self.finish(sub, "failed", "error")
                return None
            sub.status, sub.started_at = "running", iso(self.wall())
            st.running = Running(sub.id, started=now)
            self.store.save(sub)
        assert self.runner is not None
        try:
            self.runner.run(sub.id, source, self.time_limit_s)
        except RunnerUnavailable:
            with st.lock:
                self.requeue_front(sub)
            return None
        except Exception:  # our bug: that run fails alone, the queue goes on
            logger.exception("could not start %s", sub.id)
            with st.lock:
                self.finish(sub, "failed", "crashed")
            return None
        with st.lock:
            st.run_started(now)
            self.changed(sub)
        return sub.id

    def _retry_owed_states(self, now: float) -> None:
        # A full disk leaves finished states in memory only; once space returns they must reach
        # the disk even if nobody submits, or a web restart would run those programs again.
        if now >= self._next_state_retry and self.store.owes_states:
            self._next_state_retry = now + STATE_RETRY_S
            self.store.flush()

    def _check_overrun(self, now: float) -> None:
        running = self.state.running
        if running is None or self.runner is None:
            return
        overrun = now - (running.started + self.time_limit_s)
        if overrun > STOP_GRACE_S and not running.overrun_stop_sent:
            running.overrun_stop_sent = True
            with contextlib.suppress(RunnerUnavailable):
                self.runner.stop(running.id, reason="time_limit")
        elif overrun > 2 * STOP_GRACE_S:
            # Asked to stop and still no answer: the runner lost it. Free the queue; if the
            # runner is in fact still busy it answers the next Run with "busy".
            self.end_lost(self.state.subs[running.id])

    # --- changes (callers hold state.lock) ------------------------------------------------------

    def changed(self, sub: Submission | None = None) -> None:
        """Tell every viewer: this submission (if any) and the queue changed."""
        st = self.state
        st.version += 1
        now = self.clock()
        if sub is not None:
            self.publish("submission", st.public(sub, now))
        self.publish("queue", st.snapshot(now))

    def requeue_front(self, sub: Submission) -> None:
        """Put a program the runner could not start back at the head of the queue."""
        st = self.state
        if st.running is not None and st.running.id == sub.id:
            st.running = None
        sub.status, sub.started_at = "pending", None
        st.pending.insert(0, sub.id)
        self.store.save(sub)
        self.changed(sub)

    def finish(
        self, sub: Submission, status: RunStatus, reason: Reason, duration_s: float | None = None
    ) -> None:
        """End a submission for good: record, save, remember among the finished, announce."""
        st = self.state
        if st.running is not None and st.running.id == sub.id:
            if duration_s is None:
                duration_s = round(self.clock() - st.running.started, 3)
            st.run_ended(st.running.started, sub, status, reason)
            st.running = None
        sub.status, sub.reason, sub.finished_at = status, reason, iso(self.wall())
        if sub.duration_s is None:
            sub.duration_s = duration_s
        self.store.save(sub)
        st.add_finished(sub)
        self.on_finished(sub)
        self.changed(sub)
        recording = self.recorder.take(sub.id)
        if recording is not None:
            # Compressing takes a few tenths of a second: not under the queue's lock.
            threading.Thread(
                target=self._keep_recording, args=(sub, recording), name="recording", daemon=True
            ).start()

    def _keep_recording(self, sub: Submission, recording: Recording) -> None:
        try:
            data, kept = encode_bounded(recording)
            self.store.write_recording(sub, data)
        except Exception:  # a lost recording must not cost the run its result
            logger.exception("cannot keep the recording of %s", sub.id)
            return
        with self.state.lock:
            sub.recorded_frames = kept
            self.store.save(sub)
            self.changed(sub)

    def end_lost(self, sub: Submission) -> None:
        """Nobody will report on the running program: end it here."""
        running = self.state.running
        stop_reason = running.stop_reason if running and running.id == sub.id else None
        if stop_reason is not None:  # the operator or its author had asked to stop it
            self.finish(sub, "cancelled", stop_reason)
        else:
            self.finish(sub, "failed", "runner_lost")

    def send_blank(self, request_id: str | None = None) -> None:
        """Show an all-off frame (the runner's refusal, if any, carries ``request_id``)."""
        assert self.runner is not None
        leds = [[0, 0, 0, 0] for _ in range(int(self.state.tree["led_count"]))]
        self.runner.set_frame(leds, request_id)

    # --- submissions ----------------------------------------------------------------------------

    def submit(
        self,
        source: bytes,
        *,
        user_id: str,
        ip_id: str = "",
        name: str | None = None,
        title: str | None = None,
    ) -> Submission:
        """Store a checked program and queue it last."""
        st = self.state
        with st.lock:
            self._seq += 1
            sub = Submission(
                id=uuid.uuid4().hex,
                timestamp=iso(self.wall()),
                user_id=user_id,
                ip_id=ip_id,
                name=name,
                title=title,
                seq=self._seq,
            )
            self.store.create(sub, source)
            st.subs[sub.id] = sub
            st.pending.append(sub.id)
            self.changed(sub)
        self._wake.set()
        return sub

    def get(self, submission_id: str) -> Submission | None:
        """The submission with this id: from memory, else (finished long ago) from disk."""
        return self.state.subs.get(submission_id) or self.store.find(submission_id)

    def public(self, sub: Submission, viewer: str | None = None) -> dict[str, Any]:
        """The submission's JSON now (``mine`` when ``viewer`` is its author)."""
        return self.state.public(sub, self.clock(), viewer)

    def cancel(self, submission_id: str, user_id: str) -> Submission:
        """Its author cancels a pending submission or stops it while it runs (``author``).

        Raises:
            KeyError: no such submission. PermissionError: not the author.
            ValueError: it has already finished.
        """
        with self.state.lock:
            sub = self.get(submission_id)
            if sub is None:
                raise KeyError(submission_id)
            if sub.user_id != user_id:
                raise PermissionError("only its author can cancel a submission")
            if sub.status != "running":
                return self.cancel_pending(sub, "author")
        self.stop_current("author")
        return sub

    def cancel_pending(self, sub: Submission, reason: StopReason) -> Submission:
        """End a pending submission as ``cancelled`` (caller holds state.lock)."""
        if sub.status != "pending" or sub.id not in self.state.pending:
            raise ValueError(f"it has already finished ({sub.status})")
        self.state.pending.remove(sub.id)
        self.finish(sub, "cancelled", "author" if reason == "author" else "operator")
        if reason == "author":
            # Kept like any finished one (SPEC §3), but cancelling before the run is free, so
            # only the newest few per author and in all stay (red team web round four, 4).
            pruned = self.store.keep_cancelled(
                sub, self.cancelled_keep_per_user, self.cancelled_keep
            )
            for gone in pruned:
                self.state.forget_finished(gone)
        return sub

    def pending_of(
        self, *, user_id: str | None = None, ip_id: str | None = None
    ) -> list[dict[str, Any]]:
        """This user's (or IP's) pending submissions as their public JSON, first in line first."""
        st = self.state
        now = self.clock()
        with st.lock:
            subs = [st.subs[i] for i in st.pending]
            mine = [s for s in subs if (s.user_id == user_id if user_id else s.ip_id == ip_id)]
            return [st.public(s, now) for s in mine]

    # --- stopping (its author or the operator) --------------------------------------------------

    def stop_current(self, reason: StopReason = "operator") -> Submission | None:
        """Stop the running program; it ends ``cancelled`` with this reason."""
        st = self.state
        with st.lock:
            running = st.running
            if running is None:
                return None
            running.stop_reason = running.stop_reason or reason
            sub, why = st.subs[running.id], running.stop_reason
            self.changed(sub)  # viewers see "stopping" at once
            runner = self.runner if st.runner_online else None
        # Sent outside the lock: a socket write may wait, and the runner's reader needs the lock.
        if runner is not None:
            try:
                runner.stop(sub.id, reason=why)
                return sub
            except RunnerUnavailable:
                pass
        with st.lock:
            if st.running is not None and st.running.id == sub.id:
                self.end_lost(sub)  # nobody will report back: end it here
        return sub

    # --- views ----------------------------------------------------------------------------------

    def tree_event(self) -> dict[str, Any]:
        """The ``tree`` SSE payload: online state and the tree's shape."""
        return self.state.tree_event()

    def snapshot(self, viewer: str | None = None) -> dict[str, Any]:
        """The ``/api/queue`` JSON now (``mine`` on ``viewer``'s rows)."""
        return self.state.snapshot(self.clock(), viewer)

    @property
    def paused(self) -> bool:
        """Whether the operator holds the queue."""
        return self.state.paused

    @property
    def runner_online(self) -> bool:
        """Whether the runner is connected."""
        return self.state.runner_online
