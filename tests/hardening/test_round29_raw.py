"""Red team, round twenty-nine (raw): the parent against arbitrary Python in the confined child.

The language layer is assumed fallen: payloads are plain Python with real builtins in the fully
confined child, as ``python -m runner.audit raw`` runs them (``Supervisor(..., raw=True)``,
``CHANNEL`` and ``LOG_FD`` in their globals); a dry run's raw child is the real dry-run child with
only its program runner swapped for the raw one (round twenty's ``RAW_DRY_RUN_CHILD``). Real
children, real pipes, the real ``Supervisor`` and ``Previewer``.

The seccomp filter leaves the child ``read``, ``write`` and ``close`` on the fds it holds: no
``fcntl``, ``dup``, ``splice``, ``poll`` or new fds. What is left to attack is how the parent
reads those fds. stderr and the log pipe are paced (a read at most every 50 ms); the record
pipe (stdout) is not: ``ChildIO._wait`` polls it with no rest and ``_read_some`` reads what is
there, so a record written one byte at a time is one wake-up and one read per byte.

Each finding is a strict xfail until it is fixed; the tests not marked assert what held. The
write-up, with figures, is ``docs/red-team/round29-raw.md``.
"""

from __future__ import annotations

import dataclasses
import time

from runner.config import RunnerConfig
from runner.leds.layout import spiral_cone
from runner.leds.virtual import VirtualStrip
from runner.supervise.preview import Previewer
from runner.supervise.supervisor import Supervisor
from tests.hardening.raw_children import RAW_COMMAND
from tests.hardening.runner_cpu import PARENT_CPU_BUDGET_S, runner_cpu


def _config(**changes: object) -> RunnerConfig:
    base = RunnerConfig(
        led_count=10,
        fps=40.0,
        time_limit_s=3.0,
        cpu_limit_s=10,
        preview_cpu_s=1,
        view_fps=25.0,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def _runner_cpu_of_a_run(source: str, cfg: RunnerConfig) -> tuple[float, str, int]:
    """The runner's own CPU seconds for one raw tree run (``run`` supervises in the calling
    thread), how it ended and the frames shown."""
    leds = cfg.led_count
    with Supervisor(cfg, VirtualStrip(leds), spiral_cone(leds), raw=True) as supervisor:
        with runner_cpu() as cpu:
            result = supervisor.run("round29", source)
        spent = cpu.seconds
    return spent, f"{result.status}/{result.reason}", result.frames


def _runner_cpu_of_a_dry_run(source: str, cfg: RunnerConfig) -> tuple[float, float, str]:
    """The runner's own CPU seconds for one raw dry run, the child's, and how it ended."""
    command = RAW_COMMAND
    previewer = Previewer(cfg, spiral_cone(cfg.led_count), child_command=command)
    try:
        with runner_cpu() as cpu:  # preview() supervises in the calling thread
            report = previewer.preview(source)
        spent = cpu.seconds
    finally:
        previewer.close()
    return spent, report.cpu_s, f"{report.status}/{report.reason}"


# --- 1. a frame written one byte at a time is a wake-up per byte ------------------------------
#
# In each pacing slot the child writes its next frame one byte at a time, ~30 us apart (a busy
# wait on the static monotonic clock), then waits for the ACK, so the whole frame arrives within
# the slot and the parent, waiting in ``next_record``, is woken and reads once per byte:
# fps x (4 x LEDs + 5) wake-ups a second. On the 10-LED test tree that is 1,800 a second and
# stays under the budget (round six measured it there: 0.04 s); at the runner's default 100 LEDs
# it is 16,200 a second. Found: 0.71-0.79 s of runner CPU for a 3 s run at 100 LEDs (an ordinary
# program: 0.054 s), 2.06 s for 10 s; 1.22 s for 3 s at 500 LEDs (ordinary: 0.088 s). A default
# 45 s run: ~11 s of the runner's CPU at nice 0.
FRAME_TRICKLE = """
import os, struct, time
fd = CHANNEL._wfd
n = getLEDCount()
data = struct.pack(">cI", b"F", 4 * n) + bytes([1, 2, 3, 4]) * n
clock = time.perf_counter
while True:
    for b in data:
        os.write(fd, bytes((b,)))
        until = clock() + 30e-6
        while clock() < until:
            pass
    os.read(0, 1)  # the ACK: the frame was taken, the parent waits for the next one
"""


# Fixed: a record that takes more than 8 reads and one per 2 KiB is a protocol break
# (``pipes.RECORD_READ_BYTES``): the run ends ``failed``/``crashed`` a few reads in.
def test_a_tree_run_cant_make_the_runner_burn_cpu_by_trickling_its_frames() -> None:
    spent, ended, _ = _runner_cpu_of_a_run(FRAME_TRICKLE, _config(led_count=100))
    assert ended == "failed/crashed", ended
    assert spent <= PARENT_CPU_BUDGET_S, f"the runner spent {spent:.2f} s of CPU on one run"


ORDINARY_FRAMES = """
n = getLEDCount()
while True:
    setLEDs([(1, 2, 3, 100)] * n)
"""


def test_an_ordinary_program_on_100_leds_stays_within_the_runners_budget() -> None:
    """The bound above is fair at 100 LEDs: a program showing frames as fast as the pacing
    takes them costs the runner 0.06-0.08 s per 3 s run (0.054 s when round twenty-nine
    measured it)."""
    spent, ended, frames = _runner_cpu_of_a_run(ORDINARY_FRAMES, _config(led_count=100))
    assert ended == "completed/time_limit", ended
    assert frames > 0
    assert spent <= PARENT_CPU_BUDGET_S, f"the runner spent {spent:.2f} s of CPU on one run"


# --- 2. an END record of 32 KiB, one byte at a time -------------------------------------------
#
# END is bounded by ``MAX_END`` (32 KiB) at its header, not paced: a child announces the biggest
# END and writes it one byte at a time, 32,768 wake-ups, whatever the tree's size. Found: 0.37-
# 0.45 s of runner CPU on the 10-LED test tree (the run ends failed/crashed: the END is not
# JSON), four times the budget, from a single record.
END_TRICKLE = """
import os, struct, time
fd = CHANNEL._wfd
data = struct.pack(">cI", b"E", 32768) + b" " * 32767 + b"{"
clock = time.perf_counter
for b in data:
    os.write(fd, bytes((b,)))
    until = clock() + 30e-6
    while clock() < until:
        pass
time.sleep(10)
"""


def test_a_tree_run_cant_make_the_runner_burn_cpu_by_trickling_its_end_record() -> None:
    spent, ended, _ = _runner_cpu_of_a_run(END_TRICKLE, _config(time_limit_s=5.0))
    assert spent <= PARENT_CPU_BUDGET_S, (
        f"the runner spent {spent:.2f} s of CPU on one run ({ended})"
    )


# --- 3. a dry run's frames are not paced at all ----------------------------------------------
#
# A dry run's frames come as fast as the child computes them (virtual time), bounded only in
# number (2 x limit x fps + 2): each TFRAME trickled a byte at a time (all at virtual time 0,
# which the parent accepts, never going backwards), then the END trickled likewise. The child
# spends its CPU at nice 19; the parent reads every byte at nice 0. Found: 0.75-0.83 s of runner
# CPU on the 10-LED test tree with a 3 s limit and 1 s of dry-run CPU; at the defaults (100
# LEDs, 45 s, preview_cpu_s=3) the frames alone: 2.35-2.60 s of runner CPU in one dry run, the
# child 3.3-3.5 s (an ordinary dry run: 0.06 s of runner CPU).
DRY_RUN_TRICKLE = """
import os, struct, time
fd = CHANNEL._wfd
n = getLEDCount()
frame = struct.pack(">cI", b"T", 8 + 4 * n) + struct.pack(">d", 0.0) + bytes([1, 2, 3, 4]) * n
end = struct.pack(">cI", b"E", 32768) + b" " * 32767 + b"{"


def trickle(data):
    for b in data:
        os.write(fd, bytes((b,)))
        time.sleep(0)


for _ in range(int(2 * 3.0 * 40.0) + 2):
    trickle(frame)
trickle(end)
time.sleep(10)
"""


def test_a_dry_run_cant_make_the_runner_burn_cpu_by_trickling_its_records() -> None:
    spent, child_cpu, ended = _runner_cpu_of_a_dry_run(DRY_RUN_TRICKLE, _config())
    assert spent <= PARENT_CPU_BUDGET_S, (
        f"the runner spent {spent:.2f} s of CPU on one dry run ({ended}) whose child used "
        f"{child_cpu:.2f} s at nice 19"
    )


# --- what held ----------------------------------------------------------------------------

# Every stream at once: the frame trickle, and a byte to stderr and to the log pipe with every
# byte of the frame. stderr and the log add their paced reads only (20 a second each); the
# parent's cost is the frame trickle's (0.066 s on the 10-LED tree, 0.63 s at 100 LEDs).
ALL_STREAMS = """
import os, struct, time
fd = CHANNEL._wfd
n = getLEDCount()
frame = struct.pack(">cI", b"F", 4 * n) + bytes([1, 2, 3, 4]) * n
clock = time.perf_counter
while True:
    for b in frame:
        os.write(fd, bytes((b,)))
        for other in (2, LOG_FD):
            try:
                os.write(other, b"x")
            except OSError:
                pass
        until = clock() + 30e-6
        while clock() < until:
            pass
    os.read(0, 1)
"""


def test_filling_stderr_the_log_and_the_records_at_once_ends_on_time() -> None:
    cfg = _config()
    with Supervisor(cfg, VirtualStrip(10, history=10_000), spiral_cone(10), raw=True) as tree:
        started = time.monotonic()
        result = tree.run("round29", ALL_STREAMS)
        wall = time.monotonic() - started
    # The trickled frame is a protocol break (round twenty-nine's fix), a few reads in.
    assert (result.status, result.reason) == ("failed", "crashed")
    assert wall <= cfg.time_limit_s + 1.0
    assert set(result.log) <= {"x"}, result.log[-300:]  # the log pipe's bytes, nothing else
