"""The operator's controls (SPEC §4): remove, pause, resume, blank, archive.

A part of one ``Scheduler`` (built by it, holding it), working on its state under its lock.
Stopping the running program is the scheduler's own ``stop_current``: authors use it too.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from web.runner_client import RunnerUnavailable
from web.storage import Submission, iso

if TYPE_CHECKING:
    from web.scheduler import Scheduler

logger = logging.getLogger(__name__)

BLANK_ID = "blank-"  # request ids of a Blank's frame: blank-<Blanks so far>-<attempt>
# A runner that stalls (a loaded machine) can read the show's last frame and the Blank back to
# back and refuse the Blank again; each try waits twice as long (from one slot, at most 1 s),
# so eight tries cover a stall of a few seconds.
BLANK_ATTEMPTS = 8
BLANK_RETRY_MAX_S = 1.0


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
            with st.frame_lock:  # after the idle show's frame in flight, if any
                # The runner refuses a frame closer than half a slot at TREE_FPS after the one
                # before (too_fast): wait out a slot after the show's last frame. A runner that
                # stalls can still see both at once; then ``blank_refused`` sends it again.
                slot = self._slot()
                due = st.frame_sent_at + slot - self.scheduler.clock()
                time.sleep(min(max(due, 0.0), slot))
                self.scheduler.send_blank(f"{BLANK_ID}{st.blanks}-1")

    def blank_refused(self, request_id: str) -> None:
        """The runner refused a Blank's frame as too_fast: send it again a slot later, unless
        the tree has moved on (resumed, another Blank, a program) or it was tried enough."""
        try:
            blanks, attempt = (int(n) for n in request_id.removeprefix(BLANK_ID).split("-"))
        except ValueError:
            logger.warning("a refusal for an unknown Blank: %r", request_id)
            return
        if attempt < BLANK_ATTEMPTS:
            logger.info("the runner refused the Blank's frame as too fast; sending it again")
            delay = min(self._slot() * 2 ** (attempt - 1), BLANK_RETRY_MAX_S)
            timer = threading.Timer(delay, self._blank_again, (blanks, attempt + 1))
            timer.daemon = True
            timer.start()
        else:
            logger.error("the runner refused the Blank %d times; the tree is not dark", attempt)

    def _blank_again(self, blanks: int, attempt: int) -> None:
        st = self.scheduler.state
        with st.frame_lock, st.lock:
            if st.blanks != blanks or not st.paused or st.running or st.runner_busy:
                return
            try:
                self.scheduler.send_blank(f"{BLANK_ID}{blanks}-{attempt}")
            except RunnerUnavailable:
                logger.warning("the tree went offline before it could be blanked")

    def _slot(self) -> float:
        fps = float(self.scheduler.state.tree.get("fps") or 0)
        return 1 / fps if fps > 0 else 0.0

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
