"""The dry run's virtual clock: a program runs at full speed while its clocks say it ran for real.

Virtual time is the seconds the program slept plus the CPU time it spent since it started, so a
prediction counts both the program's waits and its work. ``time.sleep`` adds to it at once;
``time.time``/``monotonic``/``perf_counter`` (and their ``_ns`` forms) read it; the program
reaches them through the same wrappers as on the tree (``timefuncs``). Each frame is shown as
the tree's own ``Pacer`` (fed virtual time) and the tree's delays would show it: a frame held for
its slot when the parent's timer wakes, one whose slot has come a round trip after it was sent.
``setLEDs`` waits, as on the tree, until the frame before it has been shown (one frame in flight,
its ACK), so a program paced only by ``setLEDs`` is predicted at the tree's frame rate. A sleep's
wake-up and a frame's send are the other real costs added (not CPU time of the child).

Real clocks jitter, and an exact virtual clock would tell a program that it is being dry-run
(``perf_counter() - process_time()`` moving by the same amount across every sleep), so it could
behave one way here and another on the tree. Each wake-up and round trip is therefore drawn at
random around its measured mean (a real sleep oversleeps by tens of microseconds, now and then
by a millisecond), the CPU part runs a little faster than ``process_time`` (wall time on the
tree includes what the scheduler takes), and every read adds a few nanoseconds. The draws come
from a generator seeded from the kernel's randomness before the child confined itself, held
where the program cannot reach it (an underscore attribute of this object). On average the
prediction is the tree's (means as measured), or a little longer, never shorter.

When virtual time reaches the limit the run ends as the tree's deadline would end it, at the
next clock read, sleep or frame. The child may set no timers once confined (seccomp keeps the
kernel's kill timer as it is), so a program that only computes past the limit runs on until its
CPU budget; the budget's signal (SIGXCPU) then ends it at the limit, or, short of it, as a dry
run that ran out of CPU time.
"""

from __future__ import annotations

import errno
import os
import random
import time
from collections.abc import Callable
from typing import Any

from runner.sandbox.grid import Pacer
from runner.sandbox.timefuncs import CLOCK_NAMES, builtin_function_or_method

# What the program's ``time`` namespace takes from the virtual clock: every clock, also the
# process's CPU clock (the real one counts the virtual clock's own work, which the wall clocks
# count out: CPU time outran wall time ~4 to 1; red team round eight, finding 6).
CLOCK_FUNCTIONS = CLOCK_NAMES

# Real time a tree run spends that is neither CPU time of the child nor asked-for sleep, each
# drawn as a floor plus an exponential tail (means as given), capped. Measured with the real
# Supervisor on the 2-core dev machine (docs/security.md, "The dry run's clock"):
# - the ACK of a frame comes a round trip after the frame was shown (the parent wakes on it,
#   checks and shows it, writes the ACK, the child wakes): the program's wait for it, right
#   after a pause, was 103-2180 us, median ~115 us; most of it is always there (the floor);
# - a frame held to its slot is shown when the parent's timer wakes it, a little late;
# - a frame whose predecessor's ACK is already there costs its send only;
# - a sleep ends late by the timer's slack and scheduling.
# Without them a 60-frame sleep-paced program is predicted 1-2 % short.
FRAME_ROUND_TRIP_S = 0.00018
ROUND_TRIP_FLOOR = 0.75  # the share of the round trip that is always there
SLOT_WAKE_UP_S = 0.00115
SLOT_WAKE_UP_FLOOR = 0.6
FRAME_SEND_S = 0.00002
SLEEP_WAKE_UP_S = 0.0001
JITTER_FLOOR = 0.3  # the share of each other mean that is always there (the rest: the tail)
JITTER_CAP = 10  # times the mean: a wake-up is at most 1 ms late, a round trip 1.3 ms
# Wall time of a computing program is its CPU time and then some (the scheduler, interrupts):
# the CPU part of the virtual clock runs this much faster, at a rate drawn per run.
CPU_RATE_SPREAD = 0.01
# A clock read on the tree is CPython's C call (the vDSO's clock_gettime), tens of nanoseconds;
# the virtual clock's own Python work is kept off its time (see ``now``) and this drawn instead,
# so reads in a row are as far apart as on the tree (red team round seven: they stood still).
READ_S = 6e-8
READ_FLOOR = 0.5
# Two reads are at least this share of a real read's measured cost apart. The measurement is
# noisy (a real read: 490-870 ns from run to run here); at 0.6 a low one put a dry run's closest
# reads 290 ns apart, under the tree's ~500 (round seven's test failed once in CI); at 0.8 the
# dry run's closest were always above the tree's, a tell of its own.
READ_NEAREST = 0.7
# ``time.sleep(0)`` on the tree is a real system call through seccomp and a real wake-up after
# the timer's slack: 88-124 us of wall time, 31-64 us of it CPU time (red team round eight,
# finding 7: it cost a dry run nothing). Every sleep costs that CPU time on the tree.
SLEEP_ZERO_S = 0.0001
SLEEP_ZERO_FLOOR = 0.85
SLEEP_CPU_S = 0.00003  # the dry run spends ~3 us of its own that it cannot count out
SLEEP_CPU_FLOOR = 0.8
# The process's CPU clock moves in scheduler ticks once RLIMIT_CPU is set (4 ms at HZ=250),
# each a little more or less than the tick; after a wait it is exact up to the wait.
TICK_SPREAD = 0.003
TICK_PERIODS = (0.001, 0.004, 0.01)  # HZ=1000, 250, 100 (Linux's usual)
TICK_STEPS = 6  # steps read to find the tick (HZ=250: ~24 ms of CPU)
TICK_SEARCH_S = 0.1  # the longest search for it (HZ=100: 60 ms)


class VirtualClock:
    """The clock of one dry run. ``end(reason)`` is called (and must not return) with
    "time_limit" at the limit, or "cpu_budget" when the CPU budget ran out before it."""

    def __init__(
        self,
        limit_s: float,
        fps: float,
        end: Callable[[str], None],
        seed: bytes | None = None,
        tick: float | None = None,
        calibrate: bool = True,
        setup_cpu: float = 0.0,
    ) -> None:
        """``seed`` (the kernel's randomness, read before the child confined itself) seeds the
        jitter; none: read it now. ``tick``: ``cpu_tick()``'s, measured while the child waited
        for its program; none: measure it now. ``setup_cpu``: CPU seconds this process spent
        on the dry run's own account before (measuring the tick), which a tree run does not."""
        self.limit = float(limit_s)
        self._jitter = random.Random(seed if seed is not None else os.urandom(32))
        self._cpu_rate = 1.0 + self._jitter.uniform(0.0, CPU_RATE_SPREAD)
        self._pacer = Pacer(fps)
        # When the last two frames sent are shown: the program waits for the earlier one.
        self._taken_before: float | None = None
        self._taken_last: float | None = None
        self._slept = 0.0
        self._end = end
        self.stopped = False
        # What the process's CPU clock shows that a tree run's would not (red team round nine:
        # the tick's measurement and the calibration, ~30 ms, put the dry run's first
        # process_time() that much ahead of the tree's).
        began = time.thread_time()
        self._tick = cpu_tick() if tick is None else tick
        # The program's CPU time: the thread's clock, exact to the nanosecond (the process's is
        # coarse once RLIMIT_CPU is set: it moves at scheduler ticks); the child has one thread.
        self._cpu0 = time.thread_time()
        self._own = 0.0  # CPU seconds spent in this clock's own code: not the program's time
        # One base per kernel clock, read once: every function derives from it, so no two of
        # them can disagree (monotonic after monotonic_ns earlier, as six bases once allowed).
        # perf_counter is CLOCK_MONOTONIC on Linux: the same clock, as on the tree.
        self._wall0_ns = time.time_ns()
        self._mono0_ns = time.monotonic_ns()
        self._excess = self._real_read = self._last_read = 0.0
        self._cpu_added = 0.0  # CPU seconds a tree run spends that this one does not (a sleep's)
        self._shown_cpu = self._next_tick = 0.0
        # ``calibrate`` False: a clock built only to leave the same objects behind (a tree
        # run's) skips the ~8 ms of reads its figures need.
        if calibrate:
            self._excess, self._real_read = self._read_costs()
        self._setup_cpu = setup_cpu + (time.thread_time() - began if calibrate else 0.0)
        self._slept, self._own, self._last_read = 0.0, 0.0, 0.0  # the calibration's reads
        self._cpu_added = 0.0
        self._cpu0 = time.thread_time()
        self._waited()

    # --- the clock itself ------------------------------------------------------------------

    def elapsed(self) -> float:
        """Virtual seconds since the start, without ending the run."""
        return self._slept + (time.thread_time() - self._cpu0 - self._own) * self._cpu_rate

    def now(self) -> float:
        """Virtual seconds since the start; at the limit the run ends here.

        What this read costs here (Python, a system call) is not the program's time: it is
        counted out, and a real read's cost drawn in its place."""
        entered = time.thread_time()
        read = self._late(READ_S, READ_FLOOR)
        self._slept += read
        self._cpu_added += read  # a real read is the process's CPU time
        value = self._slept + (entered - self._cpu0 - self._own) * self._cpu_rate
        # Never closer to the last read than most of what a real read costs (a calibration
        # upset by the machine's load must not make the clock stand still).
        nearest = self._last_read + READ_NEAREST * self._real_read
        if value < nearest:
            self._slept += nearest - value
            self._cpu_added += nearest - value  # on the tree, reads in a row are all CPU time
            value = nearest
        self._last_read = value
        self._own += time.thread_time() - entered + self._excess
        if value >= self.limit:
            self.expire()
        return value

    def process_cpu(self) -> float:
        """The process's CPU seconds as the tree's CPU clock would show them now: its coarse
        clock's last tick (or its last wait), without this clock's own work."""
        time.process_time_ns()  # the real read's cost (a system call) is the program's, as there
        entered = time.thread_time()
        exact = self._exact_cpu(entered)
        if exact >= self._next_tick:
            passed = (exact - self._next_tick) // self._tick
            self._shown_cpu = max(self._shown_cpu, self._next_tick + passed * self._tick)
            spread = self._jitter.uniform(-TICK_SPREAD, TICK_SPREAD)
            self._next_tick += (passed + 1 + spread) * self._tick
        at_limit = self._slept + (entered - self._cpu0 - self._own) * self._cpu_rate >= self.limit
        self._own += time.thread_time() - entered + self._excess
        if at_limit:
            self.expire()
        return self._shown_cpu

    def _exact_cpu(self, thread_now: float) -> float:
        """The process's CPU seconds on the tree, exactly: all it spent before the program (a
        tree run builds and calibrates this clock too), then the program's CPU time as this
        clock counts it, and what the tree's reads and sleeps cost."""
        return thread_now - self._own - self._setup_cpu + self._cpu_added

    def _waited(self) -> None:
        """The process waited (slept, or for an ACK): on the tree its CPU clock is exact up to
        here, and the next tick comes anywhere within a tick."""
        exact = self._exact_cpu(time.thread_time())
        self._shown_cpu = max(self._shown_cpu, exact)
        self._next_tick = exact + self._jitter.random() * self._tick

    def _read_costs(self, calls: int = 500, rounds: int = 3) -> tuple[float, float]:
        """CPU seconds a virtual read costs, through the program's wrapper, beyond a real one,
        that ``now`` cannot count out itself (the Python around it, its system calls' edges);
        and what a real read costs.

        Measured here, on the machine the tree runs on, before the program starts: a read in a
        row then moves the clock as far as on the tree (~1 us on the dev machine, where it
        moved ~1.8 us without this; red team round seven)."""
        virtual = builtin_function_or_method("monotonic_ns", self.t_monotonic_ns, time.monotonic_ns)
        real = builtin_function_or_method("monotonic_ns", time.monotonic_ns, time.monotonic_ns)
        excess, real_cost = [], []
        for _ in range(rounds):
            own, began = self._own, time.thread_time()
            for _ in range(calls):
                virtual()
            virtual_cost = time.thread_time() - began - (self._own - own)
            began = time.thread_time()
            for _ in range(calls):
                real()
            real_cost.append((time.thread_time() - began) / calls)
            excess.append(virtual_cost / calls - real_cost[-1])
        return max(0.0, min(excess)), min(real_cost)

    def expire(self) -> None:
        """The limit is reached."""
        if not self.stopped:
            self._end("time_limit")

    def out_of_cpu(self) -> None:
        """The CPU budget ran out (the SIGXCPU handler's action): at or short of the limit."""
        if not self.stopped:
            self._end("time_limit" if self.elapsed() >= self.limit else "cpu_budget")

    def stop(self) -> None:
        """The program ended: nothing may end it again while it reports."""
        self.stopped = True

    def _late(self, mean: float, floor_share: float = JITTER_FLOOR) -> float:
        """A random delay of mean ``mean`` (a floor, then an exponential tail, capped)."""
        floor = mean * floor_share
        tail = self._jitter.expovariate(1.0 / (mean - floor))
        return min(floor + tail, JITTER_CAP * mean)

    def _advance(self, seconds: float) -> float:
        self._slept += seconds
        return self.now()

    def frame_time(self) -> float:
        """When the frame now being sent is shown: as the tree's ``Pacer`` decides, fed virtual
        time (its slot on the grid, caught up after a short stall, restarted after a long one),
        and as late as the tree shows it: a frame held for its slot when the parent's timer
        wakes it, one whose slot has come once the parent has woken on it, read and checked it.

        A frame shown at or past the limit is never shown: the tree's deadline comes while it
        waits, so the run ends here, at the limit.
        """
        value = self.now()
        due = self._pacer.due(value)
        if due > value:
            shown = due + self._late(SLOT_WAKE_UP_S, SLOT_WAKE_UP_FLOOR)
        else:
            shown = value + self._late(FRAME_ROUND_TRIP_S, ROUND_TRIP_FLOOR)
        if shown >= self.limit:
            self._advance(shown - value)  # reaches the limit: ends the run
        self._pacer.shown(shown)
        self._taken_before, self._taken_last = self._taken_last, shown
        return shown

    def frame_sent(self) -> None:
        """The frame is on its way; the program goes on once the frame before it has been taken
        (its ACK comes as it is shown), whatever the program did since: one frame in flight, as
        on the tree. When that has passed, the send is all it costs."""
        value = self.now()
        ready = self._taken_before
        if ready is not None and value < ready:
            self._waited()  # the tree's child waits for the ACK
            self._advance(ready - value)
            return
        self._advance(self._late(FRAME_SEND_S))

    def sleep_overflows(self, seconds: float) -> bool:
        """Whether the real sleep's deadline (monotonic nanoseconds in a C int64) overflows:
        CPython's ``time.sleep`` then fails at once."""
        return self._mono0_ns + (self.elapsed() + seconds) * 1e9 >= 2**63

    def last_frame_shown(self) -> None:
        """The program ended: on the tree its run ends once its last frame is shown."""
        if self._taken_last is not None:
            self._slept += max(0.0, self._taken_last - self.elapsed())

    # --- the program's time functions ------------------------------------------------------

    def functions(self) -> dict[str, Callable[..., Any]]:
        """The program's ``time`` functions that read or move this clock."""
        return {name: getattr(self, "t_" + name) for name in CLOCK_FUNCTIONS}

    def t_sleep(self, seconds: float) -> None:
        """``seconds`` as ``timefuncs.sleep_seconds`` checked it (CPython's checks).

        Every sleep is a real wake-up on the tree, ``sleep(0)`` too, and its system calls'
        CPU time; this method's own work is not the program's (as ``now``)."""
        entered = time.thread_time()
        if self.sleep_overflows(seconds):
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        if seconds > 0:
            late = self._late(SLEEP_WAKE_UP_S)
        else:
            late = self._late(SLEEP_ZERO_S, SLEEP_ZERO_FLOOR)
        self._cpu_added += min(self._late(SLEEP_CPU_S, SLEEP_CPU_FLOOR), seconds + late)
        self._waited()
        self._own += time.thread_time() - entered
        self._advance(seconds + late)

    # Floats from the same nanoseconds, as CPython makes them (_PyTime_AsSecondsDouble).
    def t_time(self) -> float:
        return (self._wall0_ns + int(self.now() * 1e9)) / 1e9

    def t_monotonic(self) -> float:
        return (self._mono0_ns + int(self.now() * 1e9)) / 1e9

    def t_time_ns(self) -> int:
        return self._wall0_ns + int(self.now() * 1e9)

    def t_monotonic_ns(self) -> int:
        return self._mono0_ns + int(self.now() * 1e9)

    t_perf_counter = t_monotonic  # one clock on Linux, on the tree as here
    t_perf_counter_ns = t_monotonic_ns

    def t_process_time(self) -> float:
        return int(self.process_cpu() * 1e9) / 1e9

    def t_process_time_ns(self) -> int:
        return int(self.process_cpu() * 1e9)

    # Called only without arguments (strftime: with its format): given a time, the wrapper
    # calls CPython's own function, in a dry run too.
    def t_localtime(self) -> time.struct_time:
        return time.localtime(self.t_time())

    def t_gmtime(self) -> time.struct_time:
        return time.gmtime(self.t_time())

    def t_ctime(self) -> str:
        return time.ctime(self.t_time())

    def t_asctime(self) -> str:
        return time.asctime(self.t_localtime())

    def t_strftime(self, fmt: str) -> str:
        return time.strftime(fmt, self.t_localtime())


def cpu_tick() -> float:
    """The step of the process's CPU clock, in seconds: where it moves in scheduler ticks (once
    RLIMIT_CPU is set), the kernel's tick period its steps show; else (exact) a few nanoseconds.

    Read with the process clock only: a read of the thread's clock makes it exact for a moment.
    """
    last = time.process_time_ns()
    give_up = time.monotonic_ns() + int(TICK_SEARCH_S * 1e9)
    steps: list[int] = []
    while len(steps) < TICK_STEPS and time.monotonic_ns() < give_up:
        now = time.process_time_ns()
        if now != last:
            steps.append(now - last)
            last = now
    whole = steps[1:]  # the first step is a part of a tick; a preemption shortens one
    step = max(whole or [int(TICK_SEARCH_S * 1e9)]) / 1e9
    # A step is a tick or less (a preemption in it, the interrupt late): the kernel's period.
    coarse = [period for period in TICK_PERIODS if period >= 0.7 * step]
    return coarse[0] if step >= TICK_PERIODS[0] / 2 and coarse else step
