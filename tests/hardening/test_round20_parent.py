"""Red team, round twenty: the runner's parent and its OS walls, the language layer assumed fallen.

Real parts only: real confined children under the real ``Supervisor`` and ``Previewer``; the
raw payloads run as ``python -m runner.audit raw`` runs them (plain Python with real builtins in
the fully confined child), and a dry run's raw child is the real dry-run child with only its
program run raw (as round ten's tests do). Each finding was a strict xfail until it was fixed
(then the marker came off). The write-up with figures and suggested fixes is
``docs/red-team/round20-parent.md``.
"""

from __future__ import annotations

from runner.config import RunnerConfig
from runner.leds.layout import spiral_cone
from runner.leds.virtual import VirtualStrip
from runner.supervise.preview import Previewer
from runner.supervise.supervisor import Supervisor
from tests.hardening.raw_children import RAW_COMMAND
from tests.hardening.runner_cpu import PARENT_CPU_BUDGET_S, runner_cpu

LEDS = 10


def _config() -> RunnerConfig:
    return RunnerConfig(
        led_count=LEDS,
        fps=40.0,
        time_limit_s=3.0,
        cpu_limit_s=10,
        preview_cpu_s=1,
        view_fps=25.0,
    )


def _runner_cpu_of_a_run(source: str, *, raw: bool) -> tuple[float, str]:
    """The runner's own CPU seconds for one tree run of ``source`` (``run`` supervises in the
    calling thread), and how the run ended."""
    with Supervisor(_config(), VirtualStrip(LEDS), spiral_cone(LEDS), raw=raw) as supervisor:
        with runner_cpu() as cpu:
            result = supervisor.run("round20", source)
        spent = cpu.seconds
    return spent, f"{result.status}/{result.reason}"


def _runner_cpu_of_a_dry_run(source: str, *, raw: bool) -> tuple[float, float, str]:
    """The runner's own CPU seconds for one dry run of ``source``, the child's, and how it
    ended."""
    command = RAW_COMMAND if raw else None
    previewer = Previewer(_config(), spiral_cone(LEDS), child_command=command)
    try:
        with runner_cpu() as cpu:  # preview() supervises in the calling thread
            report = previewer.preview(source)
        spent = cpu.seconds
    finally:
        previewer.close()
    return spent, report.cpu_s, f"{report.status}/{report.reason}"


# --- 1. an ordinary program's one-byte prints cost the runner a record each ---------------------
#
# The log is capped in bytes (16 KiB) and in records (the cap + 64), and the runner reads every
# record on its own: two reads and a round of the supervision loop per record. ``print()``
# sends one LOG record per call (``ProgramApi.write_log``), so 16,384 empty lines are 16,384
# records; with a short real sleep between them each record also costs the runner a poll
# wake-up. No escape: an ordinary program, accepted by the upload check. Found: 0.62-0.63 s of
# the runner's CPU per 3 s tree run (an ordinary program: ~0.02-0.05 s).
PACED_PRINTS = """\
import time

for i in range(20000):
    print()
    time.sleep(0.00002)
"""


def test_an_ordinary_program_cant_make_the_runner_burn_cpu_with_one_byte_prints() -> None:
    spent, ended = _runner_cpu_of_a_run(PACED_PRINTS, raw=False)
    # It printed its lines (20,000 real sleeps may not all fit in 3 s on a loaded machine).
    assert ended in ("completed/ended", "completed/time_limit"), ended
    assert spent <= PARENT_CPU_BUDGET_S, f"the runner spent {spent:.2f} s of CPU on one run"


# The same with one-byte writes a raw child makes to its log pipe itself, a short real sleep
# between them, in a dry run (nice 19, 1 s of CPU) and on the tree: a parent-side bound is needed
# as well, since a raw child batches nothing. Found (as one-byte LOG records, before the log
# had a pipe of its own): 0.61 s of the runner's CPU. The runner reads the pipe at most 20
# times a second (``pipes.LOG_REST_S``).
RAW_LOG_TRICKLE = """
import os
import time

for i in range(16448):
    os.write(LOG_FD, b"x")
    time.sleep(0.00002)
"""


def test_a_tree_run_cant_make_the_runner_burn_cpu_with_one_byte_log_writes() -> None:
    spent, ended = _runner_cpu_of_a_run(RAW_LOG_TRICKLE, raw=True)
    assert ended in ("completed/ended", "completed/time_limit"), ended
    assert spent <= PARENT_CPU_BUDGET_S, f"the runner spent {spent:.2f} s of CPU on one run"


def test_a_dry_run_cant_make_the_runner_burn_cpu_with_one_byte_log_writes() -> None:
    spent, child_cpu, ended = _runner_cpu_of_a_dry_run(RAW_LOG_TRICKLE, raw=True)
    assert spent <= PARENT_CPU_BUDGET_S, (
        f"the runner spent {spent:.2f} s of CPU on one dry run ({ended}) whose child used "
        f"{child_cpu:.2f} s at nice 19"
    )


# --- 2. stderr's budget counts bytes, not wake-ups ----------------------------------------------
#
# The runner reads at most 64 KiB of a child's stderr (``pipes.STDERR_BUDGET``, round four) and
# polls it all the while. A child writing one byte at a time, a short sleep between writes,
# wakes the runner once per byte: 65,536 wake-ups before the cut. Found: 0.9 s of the runner's
# CPU for a 3 s tree run; 1.6 s for a dry run whose child has 1 s of CPU at nice 19 (the very
# promise of round four's test: the nice-0 runner must not outspend the dry run's budget).
STDERR_TRICKLE = """
import os
import time

for i in range(70000):
    try:
        os.write(2, b"x")
    except OSError:  # EPIPE: the runner closed its end
        break
    time.sleep(0.00002)
time.sleep(60)
"""


def test_a_child_cant_make_the_runner_burn_cpu_by_trickling_stderr_during_a_run() -> None:
    spent, ended = _runner_cpu_of_a_run(STDERR_TRICKLE, raw=True)
    assert ended == "completed/time_limit", ended
    assert spent <= PARENT_CPU_BUDGET_S, f"the runner spent {spent:.2f} s of CPU on one run"


def test_a_dry_run_cant_make_the_runner_outspend_its_budget_by_trickling_stderr() -> None:
    spent, child_cpu, ended = _runner_cpu_of_a_dry_run(STDERR_TRICKLE, raw=True)
    assert spent <= PARENT_CPU_BUDGET_S, (
        f"the runner spent {spent:.2f} s of CPU on one dry run ({ended}) whose child used "
        f"{child_cpu:.2f} s at nice 19"
    )
