"""Whether a dry run's child is asleep, told from the kernel's accounting, not from the child.

A dry run's clock is virtual: an honest program's sleeps cost nothing, so its child is always
on a CPU or waiting for one until it ends, and its CPU budget (``TREE_PREVIEW_CPU_S``) ends it
in about that many seconds. The parent's wall bound (``preview.wall_bound``: 14 s at the
defaults) is there for a child starved of CPU on a busy machine. A child that sleeps in real
time (raw Python: the language layer fallen) used none of its budget and held the runner's only
dry-run slot for the whole wall bound, every editor preview and queue prediction waiting behind
it (red team round thirty-five: 14.0 s on 0.12 s of CPU).

So the parent looks at the child twice a second: the CPU time it used (``/proc/PID/stat``, all
its threads) plus the time its main thread waited for a CPU (``/proc/PID/schedstat``, where the
kernel keeps it), and its state then. A starved child waits and is runnable; a busy one runs.
The time it did neither, in windows at whose end it was not runnable, adds up; past
``IDLE_ALLOWANCE_S`` the child is asleep. Added up over the run, not judged window by window:
a child that dozes, spinning a little each second, is caught too, and the most it holds the
slot is about ``IDLE_ALLOWANCE_S`` plus its CPU budget (an honest program: its CPU budget).
"""

from __future__ import annotations

import os

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
    """Looks at one child once a ``WINDOW_S``; ``asleep(now)`` once it has been idle for more
    than ``IDLE_ALLOWANCE_S`` in all. ``now`` is ``time.monotonic()``."""

    def __init__(self, pid: int, now: float) -> None:
        self._pid = pid
        self._since = now
        first = _sample(pid)
        self._busy = None if first is None else first[0]
        self.idle_s = 0.0

    @property
    def due(self) -> float:
        """When the child is next looked at."""
        return self._since + WINDOW_S

    def asleep(self, now: float) -> bool:
        if now >= self.due:
            sample = _sample(self._pid)
            if sample is not None and self._busy is not None and not sample[1]:
                self.idle_s += max(0.0, (now - self._since) - (sample[0] - self._busy))
            self._busy, self._since = (None if sample is None else sample[0]), now
        return self.idle_s > IDLE_ALLOWANCE_S
