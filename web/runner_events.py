"""How the scheduler follows the runner: connect, disconnect, and each event it sends.

``RunnerEvents`` is the ``RunnerListener`` the runner client calls from its reader thread. It is
a part of one ``Scheduler`` (built by it, holding it) and works on the scheduler's
``QueueState`` under its lock, through the scheduler's own methods for every change.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

from protocol.messages import Error, Finished, Frame, Idle, Log, Message, Started, Welcome
from web.queue_state import Running
from web.runner_client import RunnerUnavailable
from web.storage import iso

if TYPE_CHECKING:
    from web.scheduler import Scheduler
    from web.storage import Submission

logger = logging.getLogger(__name__)
MAX_LOG_CHARS = 64 * 1024


class RunnerEvents:
    """Apply what the runner says to the scheduler's state."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self.state = scheduler.state

    def on_runner_online(self, welcome: Welcome) -> None:
        """The runner (re)connected: remember the tree and adopt or stop what it runs."""
        sched, st = self.scheduler, self.state
        stray = None
        with st.lock:
            st.runner_online = True
            st.tree = {
                "led_count": welcome.led_count,
                "positions": [list(p) for p in welcome.positions],
                "fps": welcome.fps,
                "backend": welcome.backend,
                "layers": dict(welcome.layers) if welcome.layers is not None else None,
            }
            busy = welcome.busy_with
            st.runner_busy = busy is not None
            if busy is not None and (st.running is None or busy != st.running.id):
                sub = st.subs.get(busy)
                if sub is not None and sub.status == "pending" and st.running is None:
                    # web restarted while the runner kept running it: follow it, don't rerun it
                    st.pending.remove(busy)
                    sub.status, sub.started_at = "running", iso(sched.wall())
                    st.running = Running(busy, started=sched.clock(), awaiting_start=False)
                    sched.store.save(sub)
                else:
                    stray = busy
            sched.publish("tree", st.tree_event())
            sched.changed()
        if stray is not None and sched.runner is not None:
            with contextlib.suppress(RunnerUnavailable):
                sched.runner.stop(stray, reason="operator")
        sched.wake()

    def on_runner_offline(self) -> None:
        """The connection is gone: a run in progress ends ``failed``/``runner_lost``."""
        sched, st = self.scheduler, self.state
        with st.lock:
            st.runner_online = False
            st.runner_busy = False
            if st.running is not None:
                sched.end_lost(st.subs[st.running.id])
            sched.publish("tree", st.tree_event())
            sched.changed()

    def on_runner_message(self, msg: Message) -> None:
        """Apply one event from the runner."""
        sched, st = self.scheduler, self.state
        if isinstance(msg, Frame):
            # index: frames the LEDs showed so far in this run (the editor's live count)
            st.frame = {"submission_id": msg.submission_id, "index": msg.index, "leds": msg.leds}
            if msg.submission_id is not None:  # idle frames are nobody's recording
                sched.recorder.add(msg.submission_id, msg.leds, sched.clock())
            sched.publish("frame", st.frame)
            return
        with st.lock:
            running = st.running
            sub = st.subs.get(getattr(msg, "submission_id", None) or "")
            if isinstance(msg, Started) and sub is not None:
                if running is not None and running.id == sub.id:
                    running.awaiting_start = False
                st.runner_busy = True
            elif isinstance(msg, Log) and sub is not None and sub.status == "running":
                sub.log = (sub.log + msg.text)[:MAX_LOG_CHARS]
            elif isinstance(msg, Finished) and sub is not None:
                self._on_finished(sub, msg)
            elif isinstance(msg, Idle):
                st.runner_busy = False
                if sched.operator.take_blank_when_idle():
                    with contextlib.suppress(RunnerUnavailable):
                        sched.send_blank()
            elif isinstance(msg, Error):
                self._on_error(msg)
        if isinstance(msg, Finished | Idle | Error):
            sched.wake()

    def _on_finished(self, sub: Submission, msg: Finished) -> None:
        running = self.state.running
        if sub.status != "running" or running is None or running.id != sub.id:
            logger.info("late result for %s ignored", sub.id)  # already ended here: keep that
            return
        status, reason = msg.status, msg.reason
        if running.stop_reason is not None:  # whoever asked to stop it is the reason
            status, reason = "cancelled", running.stop_reason
        if msg.log:
            sub.log = msg.log[:MAX_LOG_CHARS]
        sub.error = msg.error.model_dump() if msg.error else None
        sub.frames, sub.duration_s = msg.frames, msg.duration_s
        sub.frames_scaled, sub.power_scale_min = msg.frames_scaled, msg.power_scale_min
        sub.frames_damped = msg.frames_damped
        self.scheduler.finish(sub, status, reason)

    def _on_error(self, msg: Error) -> None:
        # The runner answers a refused Run with request_id = the submission id.
        running = self.state.running
        if running is None or not running.awaiting_start or msg.request_id != running.id:
            logger.warning("runner error %s: %s", msg.code, msg.message)
            return
        sub = self.state.subs[running.id]
        if msg.code == "busy":
            self.state.runner_busy = True
            self.scheduler.requeue_front(sub)
            return
        sub.error = {"type": "RunnerError", "message": msg.message, "line": None, "col": None}
        self.scheduler.finish(sub, "failed", "error")
