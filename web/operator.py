"""The operator's controls (SPEC §4): remove, pause, resume, blank, archive.

A part of one ``Scheduler`` (built by it, holding it), working on its state under its lock.
Stopping the running program is the scheduler's own ``stop_current``: authors use it too.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from web.runner_client import RunnerUnavailable
from web.storage import Submission, iso

if TYPE_CHECKING:
    from web.scheduler import Scheduler

logger = logging.getLogger(__name__)


class OperatorControls:
    """What the console and ``/api/admin`` do to the queue and the tree."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self._blank_when_idle = False

    def remove(self, submission_id: str) -> Submission:
        """The operator removes a pending submission (``cancelled``/``operator``)."""
        with self.scheduler.state.lock:
            return self.scheduler.cancel_pending(
                self.scheduler.state.subs[submission_id], "operator"
            )

    def pause(self) -> None:
        """Hold the queue after the current program."""
        with self.scheduler.state.lock:
            self.scheduler.state.paused = True
            self._keep_paused(True)
            self.scheduler.changed()

    def resume(self) -> None:
        """Go on with the queue."""
        with self.scheduler.state.lock:
            self.scheduler.state.paused = False
            self._keep_paused(False)
            self.scheduler.changed()
        self.scheduler.wake()

    def blank(self) -> None:
        """Darken the tree: stop the running program, pause the queue, show an all-off frame.

        Raises:
            RunnerUnavailable: the tree is offline.
        """
        st = self.scheduler.state
        if self.scheduler.runner is None or not st.runner_online:
            raise RunnerUnavailable("the tree is offline")
        with st.lock:
            st.paused = True
            st.blanks += 1  # under the lock, with paused: the idle show sees both or neither
            self._keep_paused(True)
            running = st.running is not None
            self._blank_when_idle = running or st.runner_busy
            self.scheduler.changed()
        if running:
            self.scheduler.stop_current("operator")
        elif not self._blank_when_idle:
            self.scheduler.send_blank()

    def take_blank_when_idle(self) -> bool:
        """Whether a blank frame is owed now that the tree is idle (and forget it)."""
        owed, self._blank_when_idle = self._blank_when_idle, False
        return owed

    def archive(self) -> str:
        """Start a new event: move every finished submission aside under uploads/archive/.

        Pending and running programs stay in the queue; nothing is deleted. Returns the folder.
        """
        st = self.scheduler.state
        with st.lock:
            keep = set(st.pending) | ({st.running.id} if st.running else set())
            folder = self.scheduler.store.archive(keep, iso(self.scheduler.wall()))
            for sid in st.finished:
                st.subs.pop(sid, None)
            st.finished.clear()
            self.scheduler.changed()
        return folder

    def _keep_paused(self, paused: bool) -> None:
        try:
            self.scheduler.store.set_paused(paused)
        except OSError as exc:  # the pause still holds in memory
            logger.error("cannot record the pause in uploads/: %s", exc)
