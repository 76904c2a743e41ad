"""Red team, round thirty-seven (parent): the sleep watch and the per-run record wait allowance.

The language layer is assumed fallen: a dry run's raw child is the real dry-run child with only
its program runner swapped for the raw one (round thirty-five's ``RAW_DRY_RUN_CHILD``), so the
payloads are plain Python with real builtins and real clocks in the fully confined child. Real
children, real pipes, the real ``Previewer``; the parent code is this checkout's.

Each finding is a strict xfail until it is fixed; the tests not marked assert what held. The
write-up, with figures, is ``docs/red-team/round37-parent.md``. No wall-clock figure is asserted
tightly: the bounds are half the wall bound or more, or CPU seconds.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.supervise.preview import PreviewReport, wall_bound
from tests.hardening.raw_children import runner_defaults, spinners, timed_dry_run

SLEPT = "slept"
ENDLESS_FRAMES = (
    Path(__file__).resolve().parents[1] / "programs" / "endless_frames.py"
).read_text()


def _message(report: PreviewReport) -> str:
    return "" if report.error is None else report.error.message


# --- 1. runnable when looked at: the sleep watch never counts the child's idle time -----------
#
# The watch looks at the child once a ``WINDOW_S`` (0.5 s) and adds a window's idle time only
# when the child is not runnable at the moment it looks ("in windows at whose end it was not
# runnable"). The looks come on a schedule the child can predict: the first window starts when
# the parent sends PROGRAM (the child's first moment), and each look is the previous one plus
# 0.5 s plus the poll's rounding (~1 ms late: ``int(timeout * 1000) + 1``). So a raw child that
# sleeps in real time and spins only from 20 ms before to 40 ms after each predicted look (12 %
# of the time) is runnable at every look: no idle is ever counted, and it keeps the runner's
# only dry-run slot for the whole wall bound. Found: 14.01-14.02 s held (``incomplete`` /
# ``wall_budget``) on 0.86 s of CPU (a 30 ms spin per look) or 1.70 s (70 ms); an honest
# program holds it at most its CPU budget, 3 s, and ``time.sleep(100)`` is caught in ~2.5 s.
LOOKED_AT_RUNNABLE = """
import time
started = time.monotonic()  # ~ when the parent sent PROGRAM and its watch began
look = 0
while True:
    look += 1
    due = started + look * (0.5 + 0.0008)  # each look a little late: the poll's rounding
    rest = due - 0.02 - time.monotonic()
    if rest > 0:
        time.sleep(rest)  # asleep in real time, but never when looked at
    while time.monotonic() < due + 0.04:
        pass
"""


def test_a_dry_run_cant_hold_the_slot_by_being_runnable_whenever_it_is_looked_at() -> None:
    cfg = runner_defaults()
    report, held, _ = timed_dry_run(LOOKED_AT_RUNNABLE, cfg)
    print(f"held {held:.2f} s, {report.status}/{report.reason}, child CPU {report.cpu_s:.2f} s")
    # An honest program holds it at most its CPU budget (3 s); a sleeper is caught in ~2.5 s.
    # Half the wall bound (7 s) leaves room for a busy test machine.
    assert held <= wall_bound(cfg.preview_cpu_s) / 2, (
        f"the slot was held {held:.1f} s ({report.status}/{report.reason}: {_message(report)}) "
        f"by a child that used {report.cpu_s:.2f} s of CPU"
    )


# --- 2. the runner's own slowness counted as the child's sleep --------------------------------
#
# An honest dry run writes its frames as fast as it computes them (its clock is virtual); the
# parent reads one record per loop. When the parent is slower than the child, the record pipe
# (64 KiB: 3 frames of 5,000 LEDs, 13 of 1,200) fills and the child waits in ``write`` for the
# parent: in the kernel's eyes it is neither running nor waiting for a CPU, so the watch adds
# that wait to its idle time, and past 2 s the honest dry run ends ``failed``/``crashed``, "the
# sandbox broke its protocol: the dry-run child slept". The parent is that slow when the
# runner's process is busy: the dry run's thread shares one GIL with the tree's supervisor, the
# idle scene (``idle_frame`` in pure Python, 20 fps: 20.6 ms of CPU a frame at 5,000 LEDs on
# this machine, so more than the whole GIL on a Pi's slower cores), the clients' writers and the
# other dry-run slots. Here two Python threads busy in the runner's (this test's) process stand
# in for that load. Found (5,000 LEDs, defaults): idle 2.00-2.13 s, "slept" after 1,154-1,713 of
# 1,800 frames; at 3,000 LEDs with one busy thread 2.00 s ("slept"), at 1,200 LEDs 1.00-1.80 s
# with one and 2.11 s ("slept") with two. The same program with nothing else in the process
# completes (``completed``/``time_limit``, idle 0.00).
@contextlib.contextmanager
def _runner_process_busy(threads: int) -> Iterator[None]:
    stop = threading.Event()

    def work() -> None:
        while not stop.is_set():
            sum(range(1000))

    workers = [threading.Thread(target=work, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    try:
        yield
    finally:
        stop.set()
        for worker in workers:
            worker.join()


def test_an_honest_dry_run_is_never_called_asleep_for_waiting_on_a_busy_runner() -> None:
    # Up to three tries (the load is threads sharing 2 busy cores): any one called asleep fails.
    seen = []
    for _ in range(3):
        with _runner_process_busy(2):
            report, held, _ = timed_dry_run(
                ENDLESS_FRAMES, runner_defaults(led_count=5000), raw=False
            )
        seen.append(f"{report.status}/{report.reason} after {held:.1f} s, {report.frames} frames")
        print(seen[-1], _message(report))
        assert SLEPT not in _message(report), seen


def test_an_honest_dry_run_of_big_frames_completes_when_the_runner_is_not_busy() -> None:
    """The same program, nothing else in the process: completed (idle 0.00 s) on a quiet
    machine; on a loaded one (the whole suite beside it) its CPU budget may end it first, but
    never the watch or the record rules."""
    report, _, _ = timed_dry_run(ENDLESS_FRAMES, runner_defaults(led_count=5000), raw=False)
    assert SLEPT not in _message(report) and "trickled" not in _message(report), report
    assert (report.status, report.reason) in {
        ("completed", "time_limit"),
        ("incomplete", "cpu_budget"),
        ("incomplete", "wall_budget"),
    }, _message(report)


# --- 3. a dry run's report costs the runner more CPU than the child's whole budget ----------
#
# After the child ends, ``Previewer._report`` puts every sampled frame (one per view slot, up to
# 45 s x 25 = 1,125) through ``protect_frames`` (the Protector in Python, per LED) and then
# ``fit_frames`` (encoding all of them, halving, encoding again until it fits). That work is
# the runner's, at nice 0, in the server's process (one GIL with the tree's supervisor), and it
# is bounded by the frame count, not by what the child paid: an honest program that computes 20
# random frames once and cycles through them, one per virtual 40 ms, costs its child 1.57 s of
# CPU and the runner 7.88 s at 5,000 LEDs (cProfile of the raw equivalent: 5.2 s in
# ``protect_frames``, 4.7 of it ``Protector.apply`` at ~4 ms a frame; 1.1 s in seven
# ``encode_frames``). A raw child sending the same 1,125 frames from ``os.urandom``: 8.06 s of
# the runner's CPU for 0.39 s of its own. The honest program computing every frame anew is
# limited by its budget: 286 frames, 1.98 s of the runner's CPU.
CYCLED_NOISE = """
import random, time
n = getLEDCount()
frames = [
    [(random.randrange(256), random.randrange(256), random.randrange(256), random.randrange(101))
     for _ in range(n)]
    for _ in range(20)
]
k = 0
while True:
    setLEDs(frames[k % 20])
    k += 1
    time.sleep(0.04)
"""


def test_a_dry_run_costs_the_runner_no_more_cpu_than_the_childs_own_budget() -> None:
    cfg = runner_defaults(led_count=5000)
    report, _, runner_cpu = timed_dry_run(CYCLED_NOISE, cfg, raw=False)
    print(f"runner {runner_cpu:.2f} s, child {report.cpu_s:.2f} s, {report.frames} frames")
    assert runner_cpu <= cfg.preview_cpu_s, (
        f"the runner spent {runner_cpu:.2f} s of CPU on a dry run whose child used "
        f"{report.cpu_s:.2f} s ({report.status}/{report.reason}, {report.frames} frames)"
    )


# --- what held ------------------------------------------------------------------------------

# Ways of not running that the kernel reports as not runnable: each is caught by the watch
# (idle past 2 s), never the wall bound. Held ~2.5-3 s each.
ASLEEP_OTHERWISE = {
    # stopped by its own SIGSTOP (state T): nobody continues it but the parent's SIGKILL
    "stopped": "import os, signal\nos.kill(os.getpid(), signal.SIGSTOP)\n",
    # blocked reading its stdin, where the parent writes nothing after PROGRAM (state S)
    "reading_stdin": "import os\nos.read(0, 1)\n",
    # dozing without knowing the phase: spinning 10 % of each 100 ms
    "dozing": (
        "import time\nwhile True:\n    t = time.monotonic()\n"
        "    while time.monotonic() - t < 0.01:\n        pass\n    time.sleep(0.09)\n"
    ),
    # spinning a random 20 % of each half-second, out of phase with the looks
    "spinning_a_fifth_at_random": (
        "import random, time\nwhile True:\n    time.sleep(random.uniform(0, 0.4))\n"
        "    t = time.monotonic()\n    while time.monotonic() - t < 0.1:\n        pass\n"
    ),
}


@pytest.mark.parametrize("name", sorted(ASLEEP_OTHERWISE))
def test_a_dry_run_child_not_running_in_other_ways_is_caught_asleep(name: str) -> None:
    cfg = runner_defaults()
    report, held, _ = timed_dry_run(ASLEEP_OTHERWISE[name], cfg)
    assert SLEPT in _message(report), (held, report.status, report.reason, _message(report))
    assert held <= wall_bound(cfg.preview_cpu_s) / 2, held


# Earning the wait allowance with big announced frames and trickling each: at 1,100 LEDs a
# frame is 4,408 bytes and earns two waits, so a frame written as header + 2 pieces (a short
# sleep between) is legal, 3,603 of them: 0.39 s of the runner's CPU against 0.15 s for the
# same frames written whole (5,000 LEDs, 9 pieces each: 2.06 s against 1.17 s). One piece
# more than earned and the run ends at once (10 frames, 0.06 s). Bounded at about twice what
# the frames cost whole: an honest dry run of that many LEDs costs the runner as much.
TRICKLE_WITHIN_EARNED = """
import os, struct, time
fd = CHANNEL._wfd
n = getLEDCount()
payload = struct.pack(">d", 0.0) + bytes([1, 2, 3, 4]) * n
head = struct.pack(">cI", b"T", len(payload))
size = -(-len(payload) // PIECES)
while True:
    os.write(fd, head)
    for i in range(0, len(payload), size):
        time.sleep(0.0002)
        os.write(fd, payload[i : i + size])
"""
WHOLE_FRAMES = """
import os, struct
n = getLEDCount()
payload = struct.pack(">d", 0.0) + bytes([1, 2, 3, 4]) * n
record = struct.pack(">cI", b"T", len(payload)) + payload
while True:
    os.write(CHANNEL._wfd, record)
"""


def test_trickling_on_an_allowance_earned_by_big_frames_costs_the_runner_little() -> None:
    cfg = runner_defaults(led_count=1100)
    whole, _, whole_cpu = timed_dry_run(WHOLE_FRAMES, cfg)
    trickled, _, trickled_cpu = timed_dry_run("PIECES = 2\n" + TRICKLE_WITHIN_EARNED, cfg)
    over, _, over_cpu = timed_dry_run("PIECES = 3\n" + TRICKLE_WITHIN_EARNED, cfg)
    print(
        f"runner CPU: whole {whole_cpu:.3f} s ({whole.frames} frames), within the allowance "
        f"{trickled_cpu:.3f} s ({trickled.frames}), past it {over_cpu:.3f} s ({over.frames})"
    )
    assert over.frames < 100 and "trickled" in _message(over), _message(over)
    # Measured alone: 0.29 s against 0.105 s. The bound leaves room for a shared machine (the
    # same assertion once failed while another suite ran beside it).
    assert trickled_cpu <= 4 * whole_cpu + 0.5


# An honest dry run of frames above a pipe's atomic 4 KiB (1,100+ LEDs) on a machine busy on
# every core: the child at nice 19 is starved (runnable: never "slept"), and its frames, whose
# writes the kernel may split, stay within the wait allowance (never "trickled").
@pytest.mark.parametrize("leds", [1200, 5000])
def test_an_honest_dry_run_of_big_frames_on_a_busy_machine_is_no_protocol_break(
    leds: int,
) -> None:
    with spinners():
        report, _, _ = timed_dry_run(
            ENDLESS_FRAMES, runner_defaults(led_count=leds), raw=False, prestart=True
        )
    # Starved at nice 19 behind both cores, a fresh child may not even reach READY within the
    # wall bound ("the sandbox did not start", seen once at 5,000 LEDs): slow, not a break.
    print(f"{leds} LEDs, every core busy: {report.status}/{report.reason} {_message(report)}")
    assert "protocol" not in _message(report), (report.status, report.reason, _message(report))
