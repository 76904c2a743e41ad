"""The idle show (SPEC §6): between programs the tree replays the operator's starred runs.

While nothing runs, nothing waits, the queue is not paused and the runner is idle, web sends the
frames of one starred recording after another to the runner with ``SetFrame``, at the
recording's own timing but never closer than ``min_interval_s`` (the runner refuses SetFrames
closer than half a slot at TREE_FPS with ``too_fast``). A program in the queue ends the show at
the next step (at most one frame interval later). With no starred recording that fits the tree,
or with the show switched off, web sends nothing and the runner shows its own idle scene.
Stars and the on/off switch are kept under ``uploads/`` (they survive restarts).

The runner keeps a frame set with ``SetFrame`` until the next program, so when the show stops
for any other reason than a program (switched off, nothing starred or nothing left to play,
the queue paused) it sends ``ReleaseFrame`` once, and the runner's idle scene resumes. A frame
the operator's Blank set is never released: the operator asked for a dark tree.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from web.recordings import Recording, decode
from web.runner_client import RunnerUnavailable

if TYPE_CHECKING:
    from web.scheduler import Scheduler

logger = logging.getLogger(__name__)

SETTLE_S = 2.0  # the queue must be idle this long first: a run's last frame stays a moment
IDLE_POLL_S = 0.25  # how often to look while there is nothing to play
MAX_STARS = 100

# Why the show may not play now: "offline" (nothing can be sent), "program" (one runs or is
# about to: it takes the LEDs over), "paused", "settling" (the queue fell idle a moment ago),
# "off" (switched off or nothing starred).
Situation = Literal["play", "offline", "program", "paused", "settling", "off"]


class IdleShow:
    """Plays starred recordings on the tree between programs; ``step(now)`` is the whole loop."""

    def __init__(self, scheduler: Scheduler, clock: Callable[[], float] | None = None) -> None:
        self.scheduler = scheduler
        self.store = scheduler.store
        self.clock = clock or scheduler.clock
        self._lock = threading.Lock()
        self.starred: list[str] = self.store.starred()
        self.enabled = not self.store.idle_show_off()
        self._idle_since: float | None = None
        self._playing: tuple[str, Recording] | None = None
        self._t0 = 0.0
        self._index = -1
        self._last_sent = -1e9
        self._next_star = 0
        # While the show's last frame is held on the tree: the operator's Blank count then.
        self._holding: int | None = None
        self.frames_sent = 0
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    # --- operator -------------------------------------------------------------------------------

    def star(self, submission_id: str) -> None:
        """Add a finished run with a recording to the show.

        Raises:
            KeyError: no such submission. ValueError: it has no recording (yet).
        """
        sub = self.scheduler.get(submission_id)
        if sub is None:
            raise KeyError(submission_id)
        if not sub.recorded_frames:
            raise ValueError("it has no recording to show")
        with self._lock:
            if submission_id not in self.starred:
                self.starred = [*self.starred, submission_id][-MAX_STARS:]
                self.store.set_starred(self.starred)

    def unstar(self, submission_id: str) -> None:
        """Take a run out of the show."""
        with self._lock:
            self.starred = [s for s in self.starred if s != submission_id]
            self.store.set_starred(self.starred)

    def set_enabled(self, on: bool) -> None:
        """Switch the show on or off (off: the runner's own idle scene)."""
        with self._lock:
            self.enabled = on
            self.store.set_idle_show_off(not on)

    def status(self) -> dict[str, object]:
        """What the console shows: on/off, the starred ids, what plays now."""
        with self._lock:
            playing = self._playing[0] if self._playing else None
            return {"enabled": self.enabled, "starred": list(self.starred), "playing": playing}

    # --- the loop -------------------------------------------------------------------------------

    def _situation(self, now: float) -> Situation:
        st = self.scheduler.state
        with st.lock:
            if self.scheduler.runner is None or not st.runner_online:
                why: Situation | None = "offline"
            elif st.running is not None or st.runner_busy:
                why = "program"
            elif st.paused:  # before pending: a paused queue starts nothing
                why = "paused"
            elif st.pending:
                why = "program"
            else:
                why = None
        if why is not None:
            self._idle_since = None
            return why
        if self._idle_since is None:
            self._idle_since = now
        if not (self.enabled and self.starred):
            return "off"
        return "play" if now - self._idle_since >= SETTLE_S else "settling"

    def _interval(self) -> float:
        fps = float(self.scheduler.state.tree.get("fps") or 0)
        # A frame slot at TREE_FPS, and never faster than the live view's 25 frames a second.
        return max(1 / 25, 1 / fps if fps > 0 else 0.0)

    def _load_next(self, now: float) -> bool:
        led_count = int(self.scheduler.state.tree.get("led_count") or 0)
        with self._lock:
            stars = list(self.starred)
        for _ in range(len(stars)):
            sid = stars[self._next_star % len(stars)]
            self._next_star += 1
            sub = self.scheduler.get(sid)
            try:
                rec = decode(self.store.read_recording(sub)) if sub is not None else None
            except (OSError, ValueError) as exc:
                logger.warning("starred run %s cannot be shown: %s", sid, exc)
                continue
            if rec is not None and len(rec) and rec.led_count == led_count:
                self._playing, self._t0, self._index = (sid, rec), now, -1
                return True
        return False

    def step(self, now: float) -> float:
        """Send the frame due at monotonic ``now``, if any; returns seconds until the next step."""
        why = self._situation(now)
        if why != "play":
            self._playing = None
            self._let_go(why)
            return IDLE_POLL_S
        if self._playing is None and not self._load_next(now):
            self._let_go("off")  # every starred run is gone or unreadable
            return IDLE_POLL_S
        assert self._playing is not None
        rec = self._playing[1]
        t_ms = (now - self._t0) * 1000
        index = self._index
        while index + 1 < len(rec) and rec.times_ms[index + 1] <= t_ms:
            index += 1
        interval = self._interval()
        if index != self._index and now - self._last_sent >= interval:
            self._send(rec.frames[index])
            self._index, self._last_sent = index, now
        if self._index + 1 >= len(rec):  # the last frame was shown: the next star
            self._playing = None
            return interval
        due = self._t0 + rec.times_ms[self._index + 1] / 1000 - now
        return max(interval - (now - self._last_sent), due, 0.0)

    def _send(self, frame: bytes) -> None:
        st = self.scheduler.state
        runner = self.scheduler.runner
        leds = [list(frame[i : i + 4]) for i in range(0, len(frame), 4)]
        with st.frame_lock:  # a Blank pressed now goes out after this frame, never before
            with st.lock:  # once more, just before sending: a Run or Blank may have come
                if runner is None or st.pending or st.running is not None or st.paused:
                    return
                blanks = st.blanks
            try:
                runner.set_frame(leds)
            except RunnerUnavailable:
                self._playing = None
                return
            st.frame_sent_at = self.scheduler.clock()
            self._holding = blanks
            self.frames_sent += 1

    def _let_go(self, why: Situation) -> None:
        """The show stopped playing: give the tree back to the runner's idle scene if its last
        frame is still held there and no program or Blank has taken the tree since."""
        if self._holding is None or why in ("offline", "settling"):
            return  # nothing held; or nothing can be sent yet; or the show may go on shortly
        if why == "program":
            self._holding = None  # the runner drops a held frame when the program starts
            return
        st = self.scheduler.state
        runner = self.scheduler.runner
        # Sent under the lock (one short line) because a Blank is counted under it: a release
        # is either on the socket before the Blank's frame or not sent at all.
        with st.lock:
            if st.blanks == self._holding and runner is not None:
                try:
                    runner.release_frame()
                except RunnerUnavailable:
                    return  # held still: released once the runner is back
                logger.info("idle show stopped (%s): the runner's idle scene resumes", why)
            self._holding = None

    def start(self) -> None:
        """Run ``step`` in a daemon thread."""
        self._halt.clear()
        self._thread = threading.Thread(target=self._loop, name="idle-show", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread."""
        self._halt.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        wait = 0.0
        while not self._halt.wait(wait):
            try:
                wait = self.step(self.clock())
            except Exception:  # the show must never stop the site
                logger.exception("idle show step failed")
                wait = 1.0
