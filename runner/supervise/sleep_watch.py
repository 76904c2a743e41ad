"""Whether a dry run's child is asleep, told from the kernel's accounting, not from the child.

A dry run's clock is virtual: an honest program's sleeps cost nothing, so its child is always
on a CPU or waiting for one until it ends, and its CPU budget (``TREE_PREVIEW_CPU_S``) ends it
in about that many seconds. The parent's wall bound (``preview.wall_bound``: 14 s at the
defaults) is there for a child starved of CPU on a busy machine. A child that sleeps in real
time (raw Python: the language layer fallen) used none of its budget and held the runner's only
dry-run slot for the whole wall bound, every editor preview and queue prediction waiting behind
it (red team round thirty-five: 14.0 s on 0.12 s of CPU).

So the parent looks at the child once a second: the CPU time it used (``/proc/PID/stat``, all
its threads) plus the time its main thread waited for a CPU (``/proc/PID/schedstat``, where the
kernel keeps it), and its state then. A starved child waits and is runnable; a busy one runs; a
child that did neither for a tenth of a window, and was not runnable when looked at, two
windows in a row, is asleep.
"""

from __future__ import annotations

import os

WINDOW_S = 1.0  # how often the child is looked at
BUSY_SHARE = 0.1  # running or runnable for less than this share of a window: idle
IDLE_WINDOWS = 2  # idle windows in a row that make a child asleep


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
    """Seconds the process ran or waited to run so far, and whether it is runnable now."""
    found = _stat(pid)
    if found is None:
        return None
    state, busy = found
    try:
        with open(f"/proc/{pid}/schedstat", "rb") as stat:
            busy += int(stat.read().split()[1]) / 1e9  # nanoseconds spent waiting for a CPU
    except (OSError, ValueError, IndexError):
        pass  # no such accounting in this kernel: the state tells a starved child
    return busy, state == b"R"


class SleepWatch:
    """Looks at one child once a ``WINDOW_S``; ``asleep(now)`` once it has been idle for
    ``IDLE_WINDOWS`` windows in a row. ``now`` is ``time.monotonic()``."""

    def __init__(self, pid: int, now: float) -> None:
        self._pid = pid
        self._since = now
        first = _sample(pid)
        self._busy = None if first is None else first[0]
        self._idle = 0

    @property
    def due(self) -> float:
        """When the child is next looked at."""
        return self._since + WINDOW_S

    def asleep(self, now: float) -> bool:
        if now < self.due:
            return self._idle >= IDLE_WINDOWS
        sample = _sample(self._pid)
        if sample is None or self._busy is None:
            self._idle = 0
        else:
            idle = sample[0] - self._busy < BUSY_SHARE * (now - self._since) and not sample[1]
            self._idle = self._idle + 1 if idle else 0
        self._busy, self._since = (None if sample is None else sample[0]), now
        return self._idle >= IDLE_WINDOWS
