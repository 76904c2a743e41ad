"""Whether a dry run's child is asleep, told from the kernel's accounting, not from the child.

A dry run's clock is virtual: an honest program's sleeps cost nothing, so its child is always
on a CPU or waiting for one until it ends, and its CPU budget (``TREE_PREVIEW_CPU_S``) ends it
in about that many seconds. The parent's wall bound (``preview.wall_bound``: 14 s at the
defaults) is there for a child starved of CPU on a busy machine. A child that sleeps in real
time (raw Python: the language layer fallen) used none of its budget and held the runner's only
dry-run slot for the whole wall bound, every editor preview and queue prediction waiting behind
it (red team round thirty-five: 14.0 s on 0.12 s of CPU).

So the parent looks at the child about twice a second, at random moments (a child must not
know when): the CPU time it used (``/proc/PID/stat``, all its threads) plus the time its main
thread waited for a CPU (``/proc/PID/schedstat``). A starved child waits; a busy one runs. The
time it did neither adds up over the run; past ``IDLE_ALLOWANCE_S`` the child is asleep. Added
up rather than judged window by window, a child that dozes (spinning a little each second) is
caught too, and the most it holds the slot is about ``IDLE_ALLOWANCE_S`` plus its CPU budget
(an honest program: its CPU budget).

Two exceptions keep an honest child from being called asleep:
- a window in which the child may have waited on a full record pipe (the runner slow to read
  it: bytes waiting, or half a pipe read in the window) is not counted (red team round
  thirty-seven: a busy runner made an honest 5,000-LED dry run "asleep");
- where the kernel keeps no ``schedstat``, a starved child cannot be told by its wait, so a
  window counts only if the child was not runnable when looked at. With ``schedstat`` the
  state is not asked: a child runnable just when looked at, asleep otherwise, was not caught
  (round thirty-seven).
"""

from __future__ import annotations

import os
import random
from typing import Protocol

WINDOW_S = 0.5  # how often the child is looked at
IDLE_ALLOWANCE_S = 2.0  # seconds neither running nor waiting for a CPU that make it asleep


def _stat(pid: int) -> tuple[bytes, float] | None:
    """The process's state letter and the CPU seconds it has used so far (None: unreadable)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rpartition(b")")[2].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of stat
        return fields[0], ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def cpu_seconds(pid: int) -> float:
    """CPU seconds a process has used so far (from /proc; 0 when unreadable)."""
    found = _stat(pid)
    return 0.0 if found is None else found[1]


def _sample(pid: int) -> tuple[float, bool] | None:
    """Seconds the process ran or waited to run so far, and whether it may have been starved
    unseen (runnable now, in a kernel that does not count its waits)."""
    found = _stat(pid)
    if found is None:
        return None
    state, busy = found
    try:
        with open(f"/proc/{pid}/schedstat", "rb") as stat:
            busy += int(stat.read().split()[1]) / 1e9  # nanoseconds spent waiting for a CPU
    except (OSError, ValueError, IndexError):
        return busy, state == b"R"  # no such accounting: the state tells a starved child
    return busy, False


class RecordPipe(Protocol):
    """What the watch asks of the child's pipes (``pipes.ChildIO``)."""

    record_bytes: int

    def backlogged(self, read_since: int) -> bool: ...


class SleepWatch:
    """Looks at one child about once a ``WINDOW_S``; ``asleep(now)`` once it has been idle for
    more than ``IDLE_ALLOWANCE_S`` in all. ``now`` is ``time.monotonic()``."""

    def __init__(self, pid: int, pipe: RecordPipe, now: float) -> None:
        self._pid = pid
        self._pipe = pipe
        self._random = random.Random()
        first = _sample(pid)
        self._busy = None if first is None else first[0]
        self._read = pipe.record_bytes
        self._since = now
        self.due = now + self._window()
        self.idle_s = 0.0

    def _window(self) -> float:
        return WINDOW_S * self._random.uniform(0.5, 1.5)

    def asleep(self, now: float) -> bool:
        if now >= self.due:
            sample = _sample(self._pid)
            if sample is not None and self._busy is not None and not sample[1]:
                idle = (now - self._since) - (sample[0] - self._busy)
                if idle > 0 and not self._pipe.backlogged(self._read):
                    self.idle_s += idle
            self._busy = None if sample is None else sample[0]
            self._read = self._pipe.record_bytes
            self._since, self.due = now, now + self._window()
        return self.idle_s > IDLE_ALLOWANCE_S
