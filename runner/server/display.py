"""What the tree shows between programs, and the frame loop that shows the idle scene.

``TreeDisplay`` owns the LEDs while no program runs: a frame set directly stays until the next
program or until it is released, a program's last frame stays for ``hold_after_run_s``, and
otherwise ``run_once(now)`` shows the idle scene's frame for ``now``; at shutdown it blanks and
releases the LEDs. Its caller holds the server's lock around every call.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from protocol.messages import Frame, Message
from runner.leds import Led, Strip
from runner.protect import Protector
from runner.server.idle_scene import idle_frame

logger = logging.getLogger(
    "runner.server.tree_server"
)  # one logger for the whole server, as before

IDLE_FPS = 20.0
# A program's last frame stays this long before the idle scene resumes: a program that shows one
# frame and ends (the seed example) must be seen on the tree, not replaced 50 ms later.
HOLD_AFTER_RUN_S = 5.0


def idle_period(fps: float) -> float:
    """Seconds between idle-scene frames: IDLE_FPS, never faster than the tree's TREE_FPS."""
    return 1.0 / min(IDLE_FPS, fps) if fps > 0 else 1.0 / IDLE_FPS


class TreeDisplay:
    """The LEDs between programs: held frames, a program's last frame, else the idle scene."""

    def __init__(
        self,
        strip: Strip,
        positions: Sequence[tuple[float, float, float]],
        broadcast: Callable[[Message], None],
        hold_after_run_s: float = HOLD_AFTER_RUN_S,
        protector: Protector | None = None,
    ) -> None:
        self.strip = strip
        # PROTECT: frames set directly and idle frames pass the same power budget and flash
        # limiter as a program's frames.
        self._protector = protector
        self.positions = positions
        self.held = False  # a SetFrame frame stays until the next program or a release
        self._broadcast = broadcast
        self._hold_after_run_s = hold_after_run_s
        self._idle_from = 0.0  # monotonic time from which the idle scene may show
        self._frame_index = 0
        # A held frame the flash limiter damped (the operator's Blank after a flashing show):
        # shown again each idle period until it reaches the LEDs as it was asked for.
        self._owed: tuple[Led, ...] | None = None

    def hold(self, frame: Sequence[Led]) -> None:
        """Show a frame set directly and keep it until the next program."""
        self.held = True
        wanted = tuple(frame)
        # Owed only if the flash limiter held it back: the power budget dims a bright frame
        # every time, so that one would be shown again forever (red team round eight).
        self._owed = wanted if self._show(wanted)[1] else None

    def release(self) -> None:
        """A frame set directly need not stay: the idle scene resumes at its next frame (after
        a finished program's hold, if one is on). A running program is not affected."""
        self.held = False
        self._owed = None

    def program_started(self) -> None:
        """A program owns the LEDs now; a held frame is no longer kept."""
        self.held = False
        self._owed = None

    def program_ended(self, now: float) -> None:
        """Keep the program's last frame for ``hold_after_run_s`` after monotonic ``now``."""
        self._idle_from = now + self._hold_after_run_s

    def run_once(self, now: float, busy: bool) -> bool:
        """Show the idle scene's frame for monotonic ``now`` unless something else owns the LEDs."""
        if busy or self.strip.closed:
            return False
        if self.held:
            owed = self._owed
            if owed is None:
                return False
            if not self._show(owed, now)[1]:  # the limiter lets it through now
                self._owed = None
            return True
        if now < self._idle_from:
            return False
        self.show(idle_frame(now, self.positions), now)
        return True

    def show(self, frame: Sequence[Led], now: float | None = None) -> Sequence[Led]:
        """Show ``frame`` (protected, at monotonic ``now``) and broadcast it as a ``Frame``;
        return it as shown."""
        return self._show(frame, now)[0]

    def _show(self, frame: Sequence[Led], now: float | None = None) -> tuple[Sequence[Led], bool]:
        """``show``, and whether the flash limiter damped the frame."""
        damped = False
        if self._protector is not None:
            when = time.monotonic() if now is None else now
            frame, damped = self._protector.judge(tuple(frame), when)
        self.strip.show(frame)
        self._frame_index += 1
        leds = [list(led) for led in frame]
        self._broadcast(Frame(submission_id=None, index=self._frame_index, leds=leds))
        return frame, damped

    def blank_and_close(self) -> None:
        """Blank the LEDs and release them, whatever the driver does."""
        # A driver glitch must not leave the tree lit: retry the blank, then release anyway.
        for attempt in range(1, 4):
            try:
                self.strip.blank()
                break
            except Exception:
                logger.exception("blanking the LEDs failed (attempt %d of 3)", attempt)
        try:
            self.strip.close()
        except Exception:
            logger.exception("closing the LEDs failed")


def idle_loop(run_once: Callable[[float], object], fps: float, stopping: threading.Event) -> None:
    """Call ``run_once(now)`` every idle period until ``stopping`` is set."""
    period = idle_period(fps)
    while not stopping.wait(period):
        try:
            run_once(time.monotonic())
        except Exception:  # a broken scene must not stop the runner
            logger.exception("idle scene failed")
            stopping.wait(1.0)
