"""Printed text on its way from the child to the parent, in batches.

Every LOG record costs the parent a wake-up and two reads; one record per ``print`` let a
program that prints empty lines a few microseconds apart cost the runner 0.6 s of CPU per run
(red team round twenty). So records are rationed, as a token bucket: ``LOG_BURST`` at once
(a program that prints two lines and then loops without end shows both), then ``LOG_RATE``
a second; text printed while none is left waits for the next one, or goes at ``LOG_BATCH``
bytes, before a sleep long enough to earn one, and at the end.

Both modes ration the same way and read the same clock (``time.monotonic``, as cheap on the
tree as in a dry run: timing ``print`` must not tell them apart, red team round twenty-one);
a dry run's sleeps take no real time, so they earn their tokens when they begin, as the tree's
earn them while they last. ``wire.max_log_records`` is what the parent allows.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from runner.sandbox.wire import LOG_BATCH, LOG_BURST, LOG_RATE


class LogBatch:
    """The run's log on the child's side: capped at ``limit`` bytes, sent through ``send``."""

    def __init__(self, send: Callable[[bytes], None], limit: int, virtual: bool) -> None:
        """``virtual``: a dry run, whose sleeps are on its virtual clock."""
        self._send = send
        self._left = limit  # the parent enforces the cap too; this saves the work
        self._virtual = virtual
        self._pending = bytearray()
        self._tokens = float(LOG_BURST)
        self._earned_at = time.monotonic()
        self._slept = 0.0  # a dry run's virtual sleeps since the tokens were last counted

    def add(self, text: str) -> None:
        """Printed text, sent now if a record is left, else with the next one."""
        if self._left <= 0 or not text:
            return
        data = text.encode("utf-8", "replace")[: self._left + 1]
        self._left -= len(data)
        self._pending += data
        if len(self._pending) >= LOG_BATCH or self._left <= 0 or self._earn() >= 1:
            self.flush()

    def before_wait(self, seconds: float) -> None:
        """At ``setLEDs`` (0) and ``time.sleep(seconds)``: send the held text if a record is
        left, or will be before the wait is over (the tree's sleep earns it while it lasts).

        The caller asks only for a sleep the clock will take (one whose deadline overflows
        fails at once, red team round twenty-two); even so, at most one record is spent ahead
        of a sleep that has not earned it yet, so a sleep that ends early cannot run up a debt.
        """
        if self._virtual:
            self.waited(seconds)
        if not self._pending:
            return
        ahead = 0.0 if self._virtual else seconds
        tokens = self._earn()
        if tokens >= 1 or (tokens >= 0 and tokens + ahead * LOG_RATE >= 1):
            self.flush()

    def waited(self, seconds: float) -> None:
        """A dry run waited ``seconds`` on its virtual clock (a sleep as it begins, or a frame's
        wait for its slot): they earn records as the tree's real waits do. No more than fills
        the bucket is counted at once."""
        self._slept += min(seconds, LOG_BURST / LOG_RATE)

    def take(self) -> bytes:
        """The held text, taken (a dry run's end writes it itself, before its END record)."""
        data = bytes(self._pending)
        self._pending.clear()
        return data

    def flush(self) -> None:
        """Send the held text, as one record (the end of the run, and when rationed)."""
        if not self._pending:
            return
        data = bytes(self._pending)
        # Sent first, then let go: a send that fails deep in the program's stack (a print at
        # the recursion limit) keeps the text for the next one (red team round twenty-six:
        # cleared first, lines printed earlier without error were lost).
        self._send(data)
        del self._pending[: len(data)]
        self._tokens -= 1  # below 0 only ahead of a sleep that earns it back

    def _earn(self) -> float:
        now = time.monotonic()
        earned = (now - self._earned_at + self._slept) * LOG_RATE
        self._tokens = min(float(LOG_BURST), self._tokens + earned)
        self._earned_at, self._slept = now, 0.0
        return self._tokens
