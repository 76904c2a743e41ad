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
caught too.

Four rules keep an honest child from being called asleep, and none lets a dishonest one
sleep:
- the kernel adds a wait to ``schedstat`` only when it ends, so a starved child's window may
  show nothing and the next one more than its length: that excess pays back what was counted
  before (never below nothing, so no credit is saved up) (red team round thirty-nine: windows
  judged alone called an honest dry run asleep behind four busy loops);
- in a kernel without ``schedstat``, where a starved child's wait cannot be seen, a window
  whose look finds the child runnable adds nothing. With ``schedstat`` the state zeroes no window:
  a child runnable at the looks and asleep between them held the slot 14 s when the looks
  were predictable (round thirty-seven), 7.6 s with random ones;
- a look that finds the child runnable never calls it asleep, whatever it counted: a child
  starved for longer than the allowance has the whole wait credited only when it next runs
  (seen once, a nice-19 spinner behind eight busy loops). A child that sleeps cannot be
  runnable at a look it cannot foresee without spending its CPU budget on it;
- a window whose look finds record bytes waiting in the pipe adds nothing: the runner is
  behind, and the child may be waiting to write (round thirty-seven: a busy runner made an
  honest 5,000-LED dry run "asleep"). The parent reads every byte as it comes, so a child
  cannot leave any there itself (round thirty-nine: "half a pipe read in the window", the rule
  before, let a child writing 32 KiB bursts sleep the whole wall bound).

The same looks hold the child to its CPU budget should the kernel's limit be gone: the kernel
sends SIGXCPU at the budget (an honest child's handler then reports how far its virtual clock
got) and kills at the hard limit a second later; ``over_budget`` is past that second, and the
caller kills the child at the look that sees it. The second is the kernel's grace, kept: a
Python handler runs only between bytecodes, so an honest program inside one long C call
answers late, and a 0.25 s grace lost such programs their prediction (red team round
forty-three). A child that ignores SIGXCPU gets that second too (round forty-one: known,
bounded). The looks stay at random moments whatever the CPU used: timed by the budget, those
near it came at moments the child could compute from its own ``getrusage`` (round
forty-three).
"""

from __future__ import annotations

import math
import os
import random
from typing import NamedTuple, Protocol

WINDOW_S = 0.5  # how often the child is looked at
IDLE_ALLOWANCE_S = 2.0  # seconds neither running nor waiting for a CPU that make it asleep
CPU_GRACE_S = 1.0  # the kernel's hard CPU limit is a second past the soft one (``confine``)


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


class _Sample(NamedTuple):
    busy: float  # seconds the process ran or waited for a CPU so far
    cpu: float  # seconds it ran
    runnable: bool  # running or waiting for a CPU at the look
    accounted: bool  # the kernel keeps ``schedstat``: its waits are in ``busy`` once they end


def _sample(pid: int) -> _Sample | None:
    found = _stat(pid)
    if found is None:
        return None
    state, cpu = found
    try:
        with open(f"/proc/{pid}/schedstat", "rb") as stat:
            waited = int(stat.read().split()[1]) / 1e9  # nanoseconds spent waiting for a CPU
    except (OSError, ValueError, IndexError):
        return _Sample(cpu, cpu, state == b"R", False)
    return _Sample(cpu + waited, cpu, state == b"R", True)


class RecordPipe(Protocol):
    """What the watch asks of the child's pipes (``pipes.ChildIO``)."""

    def backlogged(self) -> bool: ...


class SleepWatch:
    """Looks at one child about once a ``WINDOW_S``; ``asleep(now)`` once it has been idle for
    more than ``IDLE_ALLOWANCE_S`` in all, ``over_budget`` once its CPU seconds passed
    ``cpu_limit_s`` by more than ``CPU_GRACE_S``. ``now`` is ``time.monotonic()``."""

    def __init__(
        self, pid: int, pipe: RecordPipe, now: float, cpu_limit_s: float = math.inf
    ) -> None:
        self._pid = pid
        self._pipe = pipe
        self._random = random.Random()
        self._cpu_limit_s = cpu_limit_s + CPU_GRACE_S
        first = _sample(pid)
        self._busy = None if first is None else first[0]
        self.cpu_s = 0.0 if first is None else first[1]
        self._since = now
        self.due = self._next_look(now)
        self.idle_s = 0.0
        self._runnable = False

    def _next_look(self, now: float) -> float:
        return now + WINDOW_S * self._random.uniform(0.5, 1.5)  # random: a child must not know

    @property
    def over_budget(self) -> bool:
        return self.cpu_s > self._cpu_limit_s

    def asleep(self, now: float) -> bool:
        if now >= self.due:
            sample = _sample(self._pid)
            if sample is not None and self._busy is not None:
                idle = (now - self._since) - (sample.busy - self._busy)
                # Without ``schedstat`` a starved child's wait cannot be seen: its state tells.
                if idle > 0 and (
                    (sample.runnable and not sample.accounted) or self._pipe.backlogged()
                ):
                    idle = 0.0
                self.idle_s = max(0.0, self.idle_s + idle)
            self._busy = None if sample is None else sample.busy
            if sample is not None:
                self.cpu_s = sample.cpu
            self._runnable = sample is not None and sample.runnable
            self._since, self.due = now, self._next_look(now)
        # Never at a look that finds it runnable: a child starved for longer than the allowance
        # has its whole wait credited only when it next runs.
        return self.idle_s > IDLE_ALLOWANCE_S and not self._runnable
